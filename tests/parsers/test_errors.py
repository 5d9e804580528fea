"""The error detector: every RouterOS error reply shape, and parsers refusing to read errors as data."""

from __future__ import annotations

import pytest

from ikefleet.parsers import CommandFailed, ParseError, detect_error, parse_installed_sa, parse_resource


@pytest.mark.parametrize(
    ("text", "kind", "argument", "line", "column"),
    [
        ("bad command name address (line 1 column 1)", "bad-command-name", "address", 1, 1),
        ("syntax error (line 1 column 12)", "syntax-error", None, 1, 12),
        ("expected end of command (line 1 column 186)", "expected-end-of-command", None, 1, 186),
        ("no such item", "no-such-item", None, None, None),
        ("invalid value for argument address", "invalid-value", "address", None, None),
        ("input does not match any value of interface", "no-match", "interface", None, None),
        ("failure: already have such entry", "failure", "already have such entry", None, None),
        ("Script Error: syntax error (line 4 column 10)", "syntax-error", None, 4, 10),
        ("expected closing brace (line 660 column 82)", "expected-closing-brace", None, 660, 82),
    ],
)
def test_detects_error_replies(
    text: str, kind: str, argument: str | None, line: int | None, column: int | None
) -> None:
    error = detect_error(f"[admin@R1] > some command\r\n{text}\r\n")
    assert error is not None
    assert (error.kind, error.argument, error.line, error.column) == (kind, argument, line, column)
    assert error.text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        ' 0 name="bad command name" comment="no such item"',
        "                  status: failure to sync",
        ";;; syntax error in the old config",
    ],
)
def test_ordinary_output_is_not_an_error(text: str) -> None:
    assert detect_error(text) is None


def test_parser_raises_command_failed_with_the_structured_error() -> None:
    with pytest.raises(CommandFailed) as info:
        parse_installed_sa("[admin@R1] > ip ipsec installed-sa prnt\r\nsyntax error (line 1 column 27)\r\n")
    assert info.value.error.kind == "syntax-error"
    assert info.value.command == "/ip ipsec installed-sa print"
    assert isinstance(info.value, ParseError)


def test_settings_parser_also_refuses_errors() -> None:
    with pytest.raises(CommandFailed) as info:
        parse_resource("bad command name resorce (line 1 column 9)")
    assert info.value.error.argument == "resorce"
