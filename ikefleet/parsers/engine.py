"""The reader of list `print` output in any form: legends, `Columns:`, key=value items, table rows,
comments, or as-value / JSON (handed to `structured.py`). It returns `RawRecord`s (RouterOS names and
strings); `schema.py` types them.

Secret fields are dropped while reading, so no caller can ever see them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping

from ikefleet.parsers.detail import read_items
from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.keyvalue import quotes_open, split_pairs
from ikefleet.parsers.legend import LEGEND_RE, legend_of, parse_legend
from ikefleet.parsers.raw import RawRecord
from ikefleet.parsers.structured import parse_as_value, parse_json, parse_settings
from ikefleet.parsers.table import TOKEN_RE, Table, assign_cells, parse_header
from ikefleet.parsers.text import iter_clean_lines
from ikefleet.parsers.values import is_secret

__all__ = ["RawRecord", "iter_print", "parse_as_value", "parse_json", "parse_legend", "parse_print",
           "parse_settings"]


# "Columns: DST-ADDRESS, GATEWAY, DISTANCE"
_COLUMNS_RE = re.compile(r"^\s*Columns:\s*(?P<rest>.*)$")
# " 0 ADo  dst-address=0.0.0.0/0", "10 ADo  ...", "*1 KAET local-root-cert", "0 D address=..."
_ITEM_RE = re.compile(r"^(?P<indent>\s*)(?P<index>\d+|\*[0-9A-Fa-f]+)(?=\s|$)(?P<rest>.*)$")
# "ADo", "TX*", "DAo+", "K"
_FLAGS_TOKEN_RE = re.compile(r"^[A-Za-z*+]{1,8}$")
# 'auth-method=pre-shared-key generate-policy=port-strict': a line of key=value pairs only
_PAIRS_RE = re.compile(r'^[a-z][\w.\-]*=(?:"[^"]*"|\S*)(?:\s+[a-z][\w.\-]*=(?:"[^"]*"|\S*))*\s*$')
# ".id=*1;address=10.0.0.1/24;interface=ether1" (as-value, one or more items on a line)
_AS_VALUE_RE = re.compile(r"^\.?[A-Za-z][\w.\-]*=[^\n]*;")
# '[{".id":"*1",...}]', '[]', '{"name":"R1"}': v7 `:serialize to=json`
_JSON_START_RE = re.compile(r"^(?:\[\s*[{\]]|\{)")


def _is_legend_continuation(line: str, previous: str) -> bool:
    if "=" in line or " - " not in line or line.lstrip().startswith(";;;"):
        return False
    return not line[0].isspace() or previous.endswith((",", ";"))


class _Reader:
    """Walks cleaned lines once, switching between key=value items and table rows as the output does.
    An item is handed on once the next one starts (a table's continuation rows still add to the last)."""

    def __init__(self, command: str, default_legend: Mapping[str, str]) -> None:
        self.command = command
        self.default_legend = dict(default_legend)
        self.legend: dict[str, str] = dict(default_legend)
        self.last: RawRecord | None = None  # the item being read
        self.done: list[RawRecord] = []  # items complete, not yet handed on
        # the table cells of `cells_of` as pieces, joined once it is complete: a value wrapped over many
        # rows is not copied again at each row; `tails`: length of each cell's last comma-separated value
        self.cells_of: RawRecord | None = None
        self.cells: dict[str, list[list[str]]] = {}
        self.tails: dict[str, int] = {}
        self.table: Table | None = None
        self.columns: list[str] | None = None
        self.pending_comment: str | None = None
        self.current: RawRecord | None = None
        self.body: list[str] = []
        self.body_line = 0
        self.quoted = False  # the body so far ends inside a quoted value: the next line goes on with it

    # -- helpers -----------------------------------------------------------------------------------
    def _flags(self, letters: str) -> set[str]:
        """Legend names of flag letters; a letter no legend explains is kept as itself."""
        return {self.legend.get(letter, letter) for letter in letters}

    def _finish(self) -> None:
        if self.current is None and self.cells_of is None and not self.body:
            return  # (nothing open: a blank line ended the item before its successor starts it)
        if self.current is not None and self.body:
            pairs = split_pairs(self._joined(), self.command, self.body_line)
            if self.current.values:
                self.current.values.update(pairs)
            else:
                self.current.values = pairs  # (the usual case: a detail item's values are its body's)
        self.current = None
        self.body = []
        self.quoted = False
        self._flush_cells()

    def _flush_cells(self) -> None:
        if self.cells_of is not None:
            for name, values in self.cells.items():
                self.cells_of.values[name] = ",".join(map("".join, values))
        self.cells_of, self.cells, self.tails = None, {}, {}

    def _add_cell(self, record: RawRecord, name: str, value: str) -> None:
        """A table cell's text for `record`: its column's first, the rest of a value that filled its
        column and wrapped ("eoip-tunne" / "l"), or another value of a list column (v6 ECMP gateways)."""
        if self.cells_of is not record:
            self._flush_cells()
            self.cells_of = record
        values = self.cells.get(name)
        if values is None:
            old = record.values.get(name)  # (a table under a detail item, or after a blank line)
            if old:
                values = self.cells[name] = [[old]]
                self.tails[name] = len(old) - old.rfind(",") - 1
        comma = value.rfind(",")
        if not values:
            self.cells[name] = [[value]]
            self.tails[name] = len(value) - comma - 1
        elif self.table is not None and self.tails[name] >= self.table.widths.get(name, 1 << 30):
            values[-1].append(value)
            self.tails[name] = self.tails[name] + len(value) if comma < 0 else len(value) - comma - 1
        else:
            values.append([value])
            self.tails[name] = len(value) - comma - 1

    def _joined(self) -> str:
        """Continuation lines joined: `_add_body` put a space between pairs and nothing inside a quoted
        value (RouterOS wraps a long quoted value such as a key mid-value)."""
        return "".join(self.body)

    def _start(self, index: str | None, flags: str, lineno: int) -> RawRecord:
        self._finish()
        record = RawRecord(flags=self._flags(flags), comment=self.pending_comment)
        if index is not None:
            if index.startswith("*"):
                record.object_id = index
            else:
                record.index = int(index)
        self.pending_comment = None
        if self.last is not None:
            self.done.append(self.last)
        self.last = record
        self.current = record
        self.body_line = lineno
        return record

    def _body(self, text: str) -> None:
        text = text.strip()
        if text.startswith(";;;") and self.current is not None and not self.body:
            self.current.comment = text[3:].strip()
        elif text:
            self._add_body(text)

    def _add_body(self, text: str) -> None:
        """A line of the item's body, after the separator its join needs (none inside a quoted value)."""
        if self.body and not self.quoted:
            self.body.append(" ")
        self.body.append(text)
        if '"' in text and quotes_open(text):
            self.quoted = not self.quoted

    # -- line kinds --------------------------------------------------------------------------------
    def _item_line(self, line: str, lineno: int, match: re.Match[str] | None) -> bool:
        """` 0 ADo  dst-address=...`, `   DAv   dst-address=...` (no index), ` 1  A  ;;; comment`;
        `match`: the line's `_ITEM_RE` match."""
        index = match["index"] if match else None
        rest = match["rest"] if match else line
        tokens = rest.split(None)
        flags: list[str] = []
        for token in tokens:
            if token.startswith(";;;") or "=" in token:
                break
            if not _FLAGS_TOKEN_RE.match(token):
                return False
            if index is None and any(c not in self.legend for c in token):
                return False  # without an index, only letters of the legend make a flags column
            flags.append(token)
        if index is None and (not flags or len(flags) == len(tokens)):
            return False  # an item without index needs flags *and* a body on its line
        self._start(index, "".join(flags), lineno)
        at = 0
        for token in flags:
            at = rest.index(token, at) + len(token)
        self._body(rest[at:])
        return True

    def _table_line(self, line: str, lineno: int) -> None:
        assert self.table is not None
        tokens = list(TOKEN_RE.finditer(line))
        prefix = [t for t in tokens if t.start() < self.table.first]
        stripped = line.strip()
        if stripped.startswith(";;;"):
            self._finish()
            self.pending_comment = stripped[3:].strip()
            return
        comment_at = line.find(";;;")
        if comment_at >= 0 and all(t.start() < comment_at for t in prefix):
            prefix = [t for t in tokens if t.start() < comment_at]
            comment = line[comment_at + 3 :].strip()
            rest: list[re.Match[str]] = []
        else:
            comment = None
            rest = [t for t in tokens if t.start() >= self.table.first] if prefix else tokens
        if prefix:
            words = [t.group() for t in prefix]
            index = words.pop(0) if _ITEM_RE.match(words[0]) else None
            letters = "".join(words)
            if not all(_FLAGS_TOKEN_RE.match(w) for w in words):
                raise ParseError(self.command, f"unreadable table row {stripped[:40]!r}", lineno)
            record = self._start(index, letters, lineno)
            record.from_table = True
            if comment is not None:
                record.comment = comment
            self.current = None
        elif self.last is not None and (comment is None):
            record = self.last
        else:
            raise ParseError(self.command, f"table row without an item {stripped[:40]!r}", lineno)
        cells = assign_cells(rest, self.table, line)
        if prefix:  # a new item: its first row's cells are its values (a row going on adds through _add_cell)
            values = record.values
            for name, parts in cells.items():
                if not is_secret(name):
                    values[name] = parts[0] if len(parts) == 1 else ",".join(parts)
            return
        for name, parts in cells.items():
            if not is_secret(name):
                self._add_cell(record, name, parts[0] if len(parts) == 1 else ",".join(parts))

    def _end_legend(self, legend: list[str] | None) -> None:
        """Read a legend that went on over several lines (parsing it again at each line was quadratic)."""
        if legend is not None and len(legend) > 1:
            self.legend = {**self.default_legend, **legend_of("".join(legend))}

    def read(self, lines: Iterable[str], start: int = 1) -> Iterator[RawRecord]:
        """The items of `lines` (the first numbered `start`), each as soon as it is complete."""
        legend: list[str] | None = None  # a legend's pieces, line by line, read as a whole once it ends
        in_columns = False
        for lineno, line in enumerate(lines, start=start):
            if self.done:
                yield from self.done
                self.done.clear()
            if not line:  # (lines come right-stripped)
                self._finish()
                self._end_legend(legend)
                legend = None
                in_columns = False
                continue
            if self.current is not None and self.table is None and line[0] == " " and legend is None:
                # the common case, first: a detail continuation line starting with a key=value pair, or
                # going on with a quoted value RouterOS wrapped mid-value (a key)
                stripped = line.lstrip()
                equals = stripped.find("=")
                if (equals >= 0 and stripped.find(" ", 0, equals) < 0) or (
                        self.quoted and not _ITEM_RE.match(line)):  # (an item's line still starts one)
                    body = self.body  # (_add_body, inline: this runs for most lines of a detail print)
                    if body and not self.quoted:
                        body.append(" ")
                    body.append(stripped)
                    if '"' in stripped and quotes_open(stripped):
                        self.quoted = not self.quoted
                    continue
            item = _ITEM_RE.match(line) if self.table is None and legend is None and not in_columns else None
            if item is not None and self._item_line(line, lineno, item):
                # the next common case: an item's first line (no legend, `Columns:` or header starts with
                # a number or a `*N` id, so the checks for them below can wait)
                continue
            if legend is not None and _is_legend_continuation(line, legend[-1]):
                legend.append(("" if not legend[-1].endswith((",", ";")) else " ") + line.strip())
                continue
            self._end_legend(legend)
            legend = None
            if in_columns and ("," in line) and "=" not in line:
                self.columns = self.columns if self.columns is not None else []
                self.columns.extend(c.strip() for c in line.split(",") if c.strip())
                continue
            in_columns = False
            flags = LEGEND_RE.match(line)
            if flags:
                self._finish()
                legend = [flags["rest"]]
                self.legend = {**self.default_legend, **legend_of(flags["rest"])}
                self.table = None
                self.columns = None
                continue
            columns = _COLUMNS_RE.match(line)
            if columns:
                self.columns = [c.strip() for c in columns["rest"].split(",") if c.strip()]
                in_columns = columns["rest"].rstrip().endswith(",")
                continue
            header = parse_header(line, self.columns)
            if header is not None:
                self._finish()
                self.table = header
                continue
            if self.table is not None:
                # under a header every line is a row (a value may hold "=": "CN=client")
                self._table_line(line, lineno)
                continue
            if item is None and self._item_line(line, lineno, _ITEM_RE.match(line)):
                continue
            stripped = line.strip()
            if stripped.startswith(";;;"):
                self._finish()
                self.pending_comment = stripped[3:].strip()
                continue
            if self.current is not None and (line[0].isspace() or _PAIRS_RE.match(line)):
                # a continuation line; pasted captures often lost its indent (helpmt-ipsec-l2tp, vkcloud)
                self._body(line)
                continue
            raise ParseError(self.command, f"unrecognised line {stripped[:60]!r}", lineno)
        self._finish()
        yield from self.done
        if self.last is not None:
            yield self.last


def parse_print(text: str, command: str, legend: Mapping[str, str] | None = None) -> list[RawRecord]:
    """Items of any list `print` output: table, detail, terse, default key=value, as-value or JSON.

    `legend` gives the flag letters to assume when the output prints none (terse, detail without legend);
    a printed `Flags:` legend overrides it letter by letter.
    """
    return list(iter_print(text, command, legend))


def iter_print(text: str, command: str, legend: Mapping[str, str] | None = None) -> Iterator[RawRecord]:
    """parse_print one item at a time, reading the text once: memory for one item, not for all of them
    (a ParseError may come after the items before the bad line).

    A plain key=value print is read by `detail.read_items`, which hands over to the line reader where the
    text stops being one."""
    handover = yield from read_items(text, command, legend or {})
    if handover is None:
        return
    if handover.offset:
        reader = _Reader(command, legend or {})
        reader.legend, reader.last = handover.legend, handover.last
        yield from reader.read(iter_clean_lines(text, handover.offset), handover.lineno)
        return
    lines = iter_clean_lines(text)
    head: list[str] = []  # the lines up to the first that is not blank
    for line in lines:
        head.append(line)
        if line.strip():
            break
    first = head[-1].strip() if head else ""
    if first.startswith(("[", "{")):
        head += lines  # (read whole: JSON is parsed as a whole)
        body = "\n".join(head).strip()
        if _JSON_START_RE.match(body):
            yield from parse_json(body, command)
            return
    elif _AS_VALUE_RE.match(first):
        yield from parse_as_value("\n".join(line for line in [*head, *lines] if line.strip()), command)
        return
    yield from _Reader(command, legend or {}).read(itertools.chain(head, lines))
