"""``python -m pfs2c2`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
