"""Parse failures and RouterOS error replies, both as values a verification step can report."""

from __future__ import annotations

import re
from dataclasses import dataclass


class ParseError(ValueError):
    """The output could not be read as the named command's output (garbage, truncated, wrong command)."""

    def __init__(self, command: str, message: str, line: int | None = None) -> None:
        self.command = command
        self.message = message
        self.line = line
        where = f" (output line {line})" if line is not None else ""
        super().__init__(f"{command}: {message}{where}")


@dataclass(frozen=True, slots=True)
class RouterOSError:
    """A RouterOS error reply: `kind` is the stable name, `text` the line exactly as printed."""

    kind: str
    text: str
    argument: str | None = None
    line: int | None = None
    column: int | None = None


class CommandFailed(ParseError):
    """The output is a RouterOS error reply, not command output; `error` holds it structured."""

    def __init__(self, command: str, error: RouterOSError) -> None:
        self.error = error
        super().__init__(command, f"router replied with an error: {error.text}")


# Error reply shapes, most specific first: (kind, pattern). `arg` names the offending word or argument.
# "bad command name address (line 1 column 1)"
# "expected end of command (line 1 column 186)"
# "invalid value for argument address"
# "input does not match any value of interface"
# "failure: already have such entry"
# "Script Error: syntax error (line 4 column 10)"
_ERROR_SHAPES: tuple[tuple[str, str], ...] = (
    ("bad-command-name", r"bad command name (?P<arg>\S+)"),
    ("syntax-error", r"syntax error"),
    ("expected-end-of-command", r"expected end of command"),
    ("expected-closing-brace", r"expected closing brace"),
    ("expected-command-name", r"expected command name"),
    ("expected-argument-name", r"expected argument name"),
    ("no-such-item", r"no such item"),
    ("no-such-command", r"no such command(?: or directory)?(?: \((?P<arg>[^)]*)\))?"),
    ("invalid-value", r"invalid value (?:for argument |of )(?P<arg>\S+)"),
    ("value-out-of-range", r"value of (?P<arg>\S+) out of range"),
    ("ambiguous-value", r"ambiguous value of (?P<arg>\S+)"),
    ("no-match", r"input does not match any value of (?P<arg>\S+)"),
    ("missing-value", r"missing value\(s\) of argument\(s\) (?P<arg>\S+)"),
    ("unknown-parameter", r"unknown parameter(?: (?P<arg>\S+))?"),
    ("failure", r"failure: (?P<arg>.+?)"),
)
_POSITION = r"(?:\s*\(line (?P<line>\d+) column (?P<column>\d+)\))?"
# One compiled alternation per shape, anchored on a whole line; "Script Error: " may prefix any of them.
_ERROR_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^\s*(?:Script Error:\s*)?{pattern}{_POSITION}\s*$"))
    for kind, pattern in _ERROR_SHAPES
)


# a cheap first pass over the whole text: only outputs holding one of these words are read line by line.
# Each found by C's substring search (`in`): a third of the time of one regex alternation, whose first
# letters are the commonest of any print.
_HINTS = (
    "bad command", "syntax error", "expected ", "no such ", "invalid value", "out of range",
    "ambiguous value", "does not match", "missing value", "unknown parameter", "failure: ",
)


def _hinted(text: str) -> bool:
    """True when `text` holds one of the words every error reply holds (C's map: no generator a call)."""
    return any(map(text.__contains__, _HINTS))


_SCAN = 2048


def detect_error(text: str) -> RouterOSError | None:
    """Return the first RouterOS error reply found in `text` (one line of it), or None."""
    # an error reply replaces the output: it sits at the start (after the echo) or, for scripts, the end
    if len(text) <= 2 * _SCAN:  # short: one pass over the whole text (head and tail would overlap)
        if not _hinted(text):
            return None
        lines = text.splitlines()
    else:
        head, tail = text[:_SCAN], text[-_SCAN:]
        if not (_hinted(head) or _hinted(tail)):
            return None
        lines = head.splitlines()[:-1] + tail.splitlines()[1:]
    for raw in lines:
        # an Ansible `stdout_lines` capture quotes each line: '"expected end of command (...)",'
        line = raw.rstrip("\r").strip().rstrip(",").strip('"').strip()
        if not line or len(line) > 300:
            continue
        for kind, regex in _ERROR_RES:
            match = regex.match(line)
            if match:
                groups = match.groupdict()
                return RouterOSError(
                    kind=kind,
                    text=line,
                    argument=groups.get("arg"),
                    line=int(groups["line"]) if groups.get("line") else None,
                    column=int(groups["column"]) if groups.get("column") else None,
                )
    return None
