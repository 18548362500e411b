"""Typed exceptions of the public API.

Every problem with what the user gave (files, arrays, operators, options) raises :class:`InputError`, a
subclass of :class:`ValueError` so existing ``except ValueError`` code keeps working. The CLI turns it
into one ``Error: ...`` line and exit code 2. Problems during training raise :class:`FusionError`.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message is one line that names the problem and the fix."""


class FusionError(RuntimeError):
    """Training could not finish (e.g. the loss kept diverging after the allowed retries)."""


def one_line(error: BaseException, limit: int = 300) -> str:
    """``error``'s message on one line (whitespace collapsed, at most ``limit`` characters), or its type name
    when the message is empty: how a failure of one scene, tile or job is summarised beside the others."""
    return " ".join(str(error).split())[:limit] or type(error).__name__
