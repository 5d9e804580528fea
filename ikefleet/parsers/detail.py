"""The fast reader of a plain key=value print (`print detail`, the v6 default print): each item found on the
whole text by one pattern and its lines joined by one substitution, where the engine's reader walks and
classifies every line (most of a hub's 2,000-SA parse). It reads only text where the two cannot differ and
stops at the first item it cannot vouch for, saying where: the engine's reader goes on from there, so the
records, errors and line numbers are the engine's own (tests/parsers/test_detail_reader.py compares them).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass

from ikefleet.parsers.keyvalue import split_wrapped
from ikefleet.parsers.legend import LEGEND_RE, legend_of
from ikefleet.parsers.raw import RawRecord

# Characters the engine's line cleaning removes or reads otherwise, found by C's memchr: a prompt's or a
# v7 cut line's ">", terminal escapes, whitespace `strip` removes besides spaces and line ends, backslash
# escapes in quoted values (they change which quotes count). A lone "\r" (a repaint) needs no search: no
# pattern below reads one, so the engine's reader takes over where it stands.
_NOT_PLAIN = ("\x1b", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\\", ">")

_INDEX = r"(?:\d+|\*[0-9A-Fa-f]+)"
# An item's first line, as the engine's `_ITEM_RE` and `_item_line` accept it: " 0  E spi=...", "12 ADo",
# "*1 X name=...": the index, flag tokens, then the first token holding "=" (or the line's end).
# Or, after the flags, a `;;;` comment filling the line ("  1  P ;;; ikefleet"), the item's pairs on the lines
# below: the engine reads the line's rest as the comment when its first word starts with ";;;".
_START = (rf" *+(?P<index>{_INDEX})(?P<flags>(?: ++[A-Za-z*+]{{1,8}}(?= |\r?\n|\Z))*+)"
          r"(?: ++(?=[^ \r\n]*=)| ++;;;(?P<comment>[^\r\n]*+)\r?\n ++(?=[^ \r\n=]*+=)| *+(?=\r?\n|\Z))")
# A line break inside an item. Outside a quoted value the next line goes on with the item when its first
# word holds "=" ("      state=mature ..."); inside one (a key wrapped mid-value), when it is indented,
# not blank, and does not start with an item's index (the engine's order of checks, line by line).
_GOES_ON = r"\r?\n(?= ++[^ \r\n=]*+=)"
_GOES_ON_QUOTED = rf"\r?\n(?= ++(?!{_INDEX}(?: |\r?\n|\Z))[^ \r\n])"
# `[^"\r\n]` in ASCII, the only text read here (`_cleaned_as_is`), spelt as the ranges it leaves: `re`
# tests such a class against one bitmap, a negated one (or one reaching past ASCII) through more steps, for
# each character of every item
_TEXT = r"[\x00-\x09\x0b\x0c\x0e-\x21\x23-\x7f]"
_BODY = rf'(?P<body>{_TEXT}*+(?:"{_TEXT}*+(?:{_GOES_ON_QUOTED}{_TEXT}*+)*+"?{_TEXT}*+|{_GOES_ON}{_TEXT}*+)*+)'
# what follows an item: its line end and blank lines, up to the next line with text
_GAP = r"(?:\r?\n *+(?=\r?\n|\Z))*+(?:\r?\n)?"
# an item and the gap after it, in one match (the body is possessive: the gap cannot change it)
_ITEM_RE = re.compile(_START + _BODY + _GAP)
_BLANK_RE = re.compile(r"(?: *+\r?\n)*+")


@dataclass(frozen=True)
class Handover:
    """Where the engine's reader takes over: at `offset` (a line's start; 0: the whole text, as it came),
    numbered `lineno`, with the legend so far and the last item read, not yet handed on (a table row that
    follows may still add to it)."""

    offset: int
    lineno: int
    legend: dict[str, str]
    last: RawRecord | None


def plain(text: str) -> bool:
    """True when the engine's cleaning leaves each line of `text` as it is but for its trailing spaces and
    "\r\n" (ASCII: no whitespace but those), and no line is a `;;;` comment or the pager's."""
    return _cleaned_as_is(text) and not (";" in text and ";;;" in text)


def _cleaned_as_is(text: str) -> bool:
    """`plain`, comments allowed: what `read_items` reads. A `;;;` comment the patterns read as an item's
    (after its flags) is the engine's; any other ends the items read there, and the engine's reader goes
    on (as at any line the patterns do not read)."""
    if not text.isascii() or any(map(text.__contains__, _NOT_PLAIN)):
        return False
    return not ("[" in text and "-- [" in text)


def read_items(text: str, command: str,
               default_legend: Mapping[str, str]) -> Generator[RawRecord, None, Handover | None]:
    """The items of a plain key=value print, one at a time; the Handover where the text stops being one
    (None when it was one to the end). Nothing is yielded before a Handover at offset 0."""
    legend = dict(default_legend)
    pos = _first_item(text, legend) if _cleaned_as_is(text) else None
    item = _ITEM_RE.match(text, pos) if pos is not None else None
    if item is None:
        return Handover(0, 1, dict(default_legend), None)
    names_of: dict[str, frozenset[str]] = {}
    last: RawRecord | None = None
    counted, lineno = 0, 1
    size = len(text)
    next_item = _ITEM_RE.match  # (bound once: this loop runs for every item)
    while True:
        start, after = item.span()
        following = next_item(text, after) if after < size else None
        lineno += text.count("\n", counted, start)
        counted = start
        if following is None and after < size:
            return Handover(start, lineno, legend, last)
        if last is not None:
            yield last
        index, letters, comment, body = item.group("index", "flags", "comment", "body")
        names = names_of.get(letters)
        if names is None:
            names = names_of[letters] = frozenset(legend.get(c, c) for c in letters if c != " ")
        values = split_wrapped(body, _joined, command, lineno) if body and not body.isspace() else {}
        if index[0] == "*":
            last = RawRecord(None, index, set(names), comment if comment is None else comment.strip(), values)
        else:
            last = RawRecord(int(index), None, set(names), comment if comment is None else comment.strip(),
                             values)
        if following is None:
            yield last
            return None
        item = following


def _first_item(text: str, legend: dict[str, str]) -> int | None:
    """Where the first item starts, past blank lines and a one-line legend (read into `legend`): None when
    the start is anything else. After the legend come blank lines, an item with "=" on its first line or
    one whose first line is its comment without " - ": neither a line of the legend going on nor a table
    header, as the engine's reader tells them apart."""
    pos = _past(_BLANK_RE, text, 0)
    end = text.find("\n", pos)
    line = (text[pos:] if end < 0 else text[pos:end]).rstrip()
    heading = LEGEND_RE.match(line)
    if heading is None:
        return pos
    if end < 0 or "\r" in line:
        return None  # (a legend alone, or one a carriage return repaints)
    stop = text.find("\n", end + 1)
    second = text[end + 1 : stop if stop >= 0 else len(text)]
    if "=" not in second and second.strip() and (" - " in second or not _ITEM_RE.match(text, end + 1)):
        return None  # (an item whose first line is its comment ends the legend unless it looks like one)
    legend.update(legend_of(heading["rest"]))
    return _past(_BLANK_RE, text, end + 1)


def _past(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """The end of `pattern`, which matches anywhere (possibly nothing), matched at `pos`."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def _joined(body: str) -> str:
    """An item's lines as the engine joins them: each stripped, a space between two outside a quoted
    value, nothing inside one (RouterOS wraps a long quoted value, a key, mid-value)."""
    if "\n" not in body:
        return body.rstrip()
    pieces: list[str] = []
    quoted = False
    for line in body.split("\n"):
        line = line.strip()
        if pieces and not quoted:
            pieces.append(" ")
        pieces.append(line)
        if '"' in line and line.count('"') % 2:
            quoted = not quoted
    return "".join(pieces)
