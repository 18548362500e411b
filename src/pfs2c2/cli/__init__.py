"""Command line: ``pfs2c2 simulate | fuse | batch | evaluate | report | demo | benchmark``.

One module per command; :mod:`~pfs2c2.cli.options` holds the options several commands share, and
:mod:`~pfs2c2.cli.main` the group and :func:`main` (the ``pfs2c2`` entry point). The commands parse
options and call :mod:`pfs2c2.runs`, where the work happens.
"""

from .main import cli, main

__all__ = ["cli", "main"]
