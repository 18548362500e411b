"""The one-line summary of a failure (pfs2c2.errors.one_line)."""

from pfs2c2.errors import InputError, one_line


def test_one_line_collapses_whitespace_and_truncates():
    assert one_line(InputError("bad  value\n  fix it")) == "bad value fix it"
    assert one_line(ValueError("x" * 400)) == "x" * 300
    assert one_line(ValueError("abcdef"), 3) == "abc"


def test_one_line_of_an_empty_message_is_the_type_name():
    assert one_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("   ")) == "RuntimeError"
