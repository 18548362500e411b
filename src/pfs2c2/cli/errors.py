"""How the command line reports a problem: one ``Error: ...`` line, exit code 2 for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..errors import FusionError


class CliInputError(click.ClickException):
    """A problem with the user's input (:class:`pfs2c2.InputError` and the like): one line, exit code 2."""

    exit_code = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's input errors into :class:`CliInputError` and training failures into exit code 1."""
    try:
        yield
    except FusionError as exc:
        raise click.ClickException(str(exc).strip().splitlines()[0]) from None
    except (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        raise CliInputError(message) from None
