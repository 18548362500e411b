"""The ``pfs2c2`` command group and its entry point :func:`main`.

Heavy modules (torch, the model) are imported inside the commands so ``pfs2c2 --help`` stays fast.
Every input problem ends in a one-line ``Error: ...`` and exit code 2, with no output file left.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from .. import __version__
from .align import align
from .batch import batch
from .benchmark import benchmark
from .demo import demo
from .evaluate import evaluate
from .fuse import fuse
from .report import report
from .simulate import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pfs2c2")
def cli() -> None:
    """PFS2C2: fuse a low-resolution hyperspectral image with a high-resolution multispectral image."""


for _command in (simulate, fuse, align, batch, report, evaluate, demo, benchmark):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pfs2c2`` command; returns the exit code (tests call it in-process)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pfs2c2", standalone_mode=False)
    except click.UsageError as exc:
        # one line, like every other input error, instead of click's usage block
        command = exc.ctx.command_path if exc.ctx is not None else "pfs2c2"
        click.echo(f"Error: {exc.format_message()} (see '{command} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
