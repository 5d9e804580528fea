"""Tables: a header line gives the columns, each row's words go to the column they sit under."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

# " #     NAME     TYPE   ACTUAL-MTU", "     DST-ADDRESS  GATEWAY  DISTANCE", "AUT... AUTHENTICATIO..."
_HEADER_TOKEN_RE = re.compile(r"^(?:#|\*|[A-Z][A-Z0-9\-./]*(?:\.\.\.)?)$")
# "ether1", "10.0.0.0/24": one cell word of a table row (its position picks the column)
TOKEN_RE = re.compile(r"\S+")
# headers are upper case: any lower-case letter or "=" rules a line out cheaply
_LOWER_RE = re.compile(r"[a-z=]")


@dataclass(slots=True)
class Table:
    """Column names (from the header, or the v7 `Columns:` line when it has as many) and positions."""

    names: list[str]
    spans: list[tuple[int, int]]
    first: int  # column where the first named column starts: index and flags lie left of it
    widths: dict[str, int] = field(default_factory=dict)  # room before the next column, by name
    starts: list[int] = field(default_factory=list)  # spans' starts and ends, for bisect
    ends: list[int] = field(default_factory=list)


def parse_header(line: str, columns: list[str] | None) -> Table | None:
    """The table a header line opens, or None when the line is not one (headers are upper case)."""
    if _LOWER_RE.search(line):
        return None
    tokens = list(TOKEN_RE.finditer(line))
    if not tokens or not all(_HEADER_TOKEN_RE.match(t.group()) for t in tokens):
        return None
    named = [t for t in tokens if t.group() not in ("#", "*")]
    if not named or not any(len(t.group().rstrip(".")) > 1 for t in named):
        return None
    names = [t.group().lower() for t in named]
    if columns and len(columns) == len(names):
        names = [c.lower() for c in columns]
    spans = [(t.start(), t.end()) for t in named]
    widths = {names[i]: spans[i + 1][0] - spans[i][0] - 1 for i in range(len(spans) - 1)}
    return Table(names=names, spans=spans, first=named[0].start(), widths=widths,
                 starts=[a for a, _ in spans], ends=[b for _, b in spans])


def assign_cells(tokens: list[re.Match[str]], table: Table, line: str) -> dict[str, list[str]]:
    """Table cells of one line: each token goes to the column its text lies under, left to right.

    Wider values overflow their header (right-aligned numbers start left of it); two spaces or more
    between tokens always mean a new column, one space may join words of one value ("dot1x CA").
    """
    starts, ends, names = table.starts, table.ends, table.names
    if len(tokens) == len(starts):
        # the common row: one word under each column, touching no other column (then each is its own)
        aligned: dict[str, list[str]] = {}
        last = len(starts) - 1
        for i, token in enumerate(tokens):
            a, b = token.span()
            if not (starts[i] < b and a < ends[i] and (i == 0 or ends[i - 1] <= a)
                    and (i == last or b <= starts[i + 1])):
                break
            aligned[names[i]] = [line[a:b]]
        else:
            return aligned
    return assign_by_overlap(tokens, table, line)


def assign_by_overlap(tokens: list[re.Match[str]], table: Table, line: str) -> dict[str, list[str]]:
    """assign_cells for any row: each token goes to the column it overlaps most, a new column after a gap
    of two spaces or more."""
    cells: dict[int, list[tuple[int, int]]] = {}  # column -> where its values lie in `line`
    current = -1
    previous_end = -1
    spans, last = table.spans, len(table.spans) - 1
    for token in tokens:
        a, b = token.start(), token.end()
        gap_new = previous_end >= 0 and a - previous_end >= 2
        lowest = current + 1 if gap_new else max(current, 0)
        # the columns under the token, by bisection: the first ending after its start up to the last
        # starting before its end (columns never overlap), so a row costs its tokens, not tokens x columns
        best, best_overlap = None, 0
        for i in range(max(lowest, bisect_right(table.ends, a)), bisect_left(table.starts, b)):
            s, e = spans[i]
            overlap = min(b, e) - max(a, s)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is None:
            left = bisect_right(table.starts, a) - 1  # the last column starting at or left of the token
            best = left if left >= lowest else min(lowest, last)
        if best == current and cells.get(best):
            cells[best][-1] = (cells[best][-1][0], b)  # one value of several words: cut once, at the end
        else:
            cells.setdefault(best, []).append((a, b))
        current, previous_end = best, b
    return {table.names[i]: [line[start:end] for start, end in v] for i, v in cells.items()}
