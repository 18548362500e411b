"""The `pfs2c2` group: help, version, one-line usage errors, the CLI error class."""

from __future__ import annotations

import click

from pfs2c2 import InputError, __version__
from pfs2c2.cli import main
from pfs2c2.cli.errors import CliInputError, user_errors

from .helpers import run


def test_help_is_fast_and_lists_commands(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0
    for command in ("simulate", "fuse", "evaluate", "demo", "report", "batch", "benchmark"):
        assert command in out


def test_version_and_unknown_command(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and __version__ in out
    code, _, err = run(capsys, "fusee")
    assert code == 2 and err.count("\n") == 1 and err.startswith("Error:") and "--help" in err


def test_library_input_errors_become_one_line_exit_2_and_the_class_does_not_shadow_the_library():
    assert CliInputError is not InputError and not issubclass(CliInputError, ValueError)
    try:
        with user_errors():
            raise InputError("bad ratio\nsecond line")
    except click.ClickException as exc:
        assert isinstance(exc, CliInputError) and exc.exit_code == 2 and exc.format_message() == "bad ratio"
    try:
        with user_errors():
            raise FileNotFoundError(2, "No such file", "x.npy")
    except CliInputError as exc:
        assert "x.npy" in exc.format_message()


def test_console_script_and_python_m_use_main():
    from importlib.metadata import entry_points
    from pathlib import Path

    import pfs2c2

    scripts = [e for e in entry_points(group="console_scripts") if e.name == "pfs2c2"]
    assert scripts and scripts[0].load() is main
    source = (Path(pfs2c2.__file__).parent / "__main__.py").read_text()
    assert "from .cli import main" in source


def test_a_fusion_error_without_message_is_still_one_line():
    import click
    import pytest

    from pfs2c2.cli.errors import user_errors
    from pfs2c2.errors import FusionError

    with pytest.raises(click.ClickException, match="^FusionError$"):
        with user_errors():
            raise FusionError("")
