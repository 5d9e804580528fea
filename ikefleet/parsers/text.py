"""Console text to clean lines: line endings, terminal repaints, pager, prompts and the echoed command."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# "\x1b[9999B", "\x1b[K", "\x1b[?25h": terminal control sequences of a live session
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>Z]")
# "-- [Q quit|D dump|down]" / "-- [Q quit|D dump|C-z pause|down]": the pager line
_PAGER_RE = re.compile(r"-- \[Q quit\|[^\]]*\]")
# "[admin@PE1] > interface print", "[admin@R1] /ip/route> print", "[admin@A1M] > ", "> ip ipsec ... print"
# (possessive, and no "@" before the first: a long line of "@" without "]" would be quadratic)
_PROMPT_RE = re.compile(r"^\s*+(?:\[[^\]\n@]*+@[^\]\n]*+\][^>\n]*+>|>(?:\s|$))")
# "routing ospf neighbor print detail", "/ip/route/print", "ip ipsec/active-peers/print", ":put [...]"
# The atomic group keeps the first print word: the rest of the line is then read once, where trying each
# later word as the print word would read it again each time (quadratic in a long first line). The first
# decides: the menu words before a later one hold no "=", so if the first's rest fails, every later's does.
_ECHO_RE = re.compile(
    r"^\s*(?::[a-z]+\b.*|/?(?>(?:[a-z][\w-]*[ /]+)*?(?:print|pr|p|get|run|export)\b)[^=]*(?:where\b.*)?)$"
)


def clean_lines(text: str) -> list[str]:
    """Lines of router output with prompts, the echoed command, pager markers and repaints removed.

    Trailing spaces go; leading spaces stay (tables and detail continuation lines depend on them).
    """
    lines = list(iter_clean_lines(text))
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def iter_clean_lines(text: str, start: int = 0) -> Iterator[str]:
    """clean_lines one line at a time (trailing blank lines included): a 50 MB route print is never held
    as a list of lines, nor copied to change its line endings. The text is split a few KiB at a time (C's
    split, not a `find` per line) and each line cleaned inline: this loop runs for every line of a print.
    `start`: where to begin (a line's first character); the echo, which precedes everything, is looked for
    only from the text's start."""
    echo_checked = start > 0
    for raw in _raw_lines(text if start else text.lstrip("\ufeff"), start):
        line = raw
        if "\r" in line:
            # a carriage return repaints the line: what follows the last one is what the terminal shows
            parts = [p for p in line.split("\r") if p.strip()]
            line = parts[-1] if parts else ""
        if "\x1b" in line:
            line = _ANSI_RE.sub("", line)
        if "-- [" in line:
            line = _PAGER_RE.sub("", line)
        line = line.rstrip()
        if ("@" in line or ">" in line) and _PROMPT_RE.match(line):
            continue  # a prompt line
        if not echo_checked and line:
            # the command echoed without a prompt (a saved session or a note) precedes everything else
            echo_checked = True
            if "=" not in line.split(" where ", 1)[0] and _ECHO_RE.match(line):
                continue
        yield line


_CHUNK = 4096  # characters split at once: a few dozen lines, little beside a streamed print's records


def _raw_lines(text: str, start: int = 0) -> Iterator[str]:
    """`text` from `start` split at "\\n" with the "\\r" of each "\\r\\n" dropped, as text.replace("\\r\\n",
    "\\n").split("\\n") but without copying the text or listing all its lines: a chunk at a time."""
    while True:
        end = text.find("\n", start + _CHUNK)
        if end < 0:
            *pieces, tail = text[start:].split("\n")  # (no "\n" follows the tail: its "\r" stays)
        else:
            pieces, tail = text[start:end].split("\n"), None
        for piece in pieces:
            yield piece[:-1] if piece[-1:] == "\r" else piece
        if tail is not None:
            yield tail
            return
        start = end + 1


def cut_at_width(lines: Iterable[str]) -> bool:
    """True when v7 cut lines at the terminal width, marking each with a final ">": their values are lost.

    Seen as lines of one length (at least 79 columns) ending in a non-space followed by ">".
    """
    widths = {len(line) for line in lines if len(line) >= 79 and line.endswith(">") and line[-2:-1] != " "}
    return len(widths) == 1
