"""How the command line reports a problem: one ``Error: ...`` line, exit code 2 for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..errors import FusionError


class CliInputError(click.ClickException):
    """A problem with the user's input (:class:`pfs2c2.InputError` and the like): one line, exit code 2."""

    exit_code = 2


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's input errors into :class:`CliInputError` and training failures into exit code 1."""
    try:
        yield
    except FusionError as exc:
        raise click.ClickException(first_line(exc)) from None
    except (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError) as exc:
        message = first_line(exc)
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        raise CliInputError(message) from None
