"""The reader of list `print` output in any form: legends, `Columns:`, key=value items, table rows,
comments, or as-value / JSON (handed to `structured.py`). It returns `RawRecord`s (RouterOS names and
strings); `schema.py` types them.

Secret fields are dropped while reading, so no caller can ever see them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.keyvalue import quotes_open, split_pairs
from ikefleet.parsers.raw import RawRecord
from ikefleet.parsers.structured import parse_as_value, parse_json, parse_settings
from ikefleet.parsers.table import TOKEN_RE, Table, assign_cells, parse_header
from ikefleet.parsers.text import clean_lines
from ikefleet.parsers.values import is_secret

__all__ = ["RawRecord", "parse_as_value", "parse_json", "parse_legend", "parse_print", "parse_settings"]


# "Flags: X - disabled, A - active, D - dynamic,"  /  "Flags: D - DYNAMIC; X - DISABLED, I - INACTIVE"
_LEGEND_RE = re.compile(r"^\s*Flags:\s*(?P<rest>.*)$")
# "Columns: DST-ADDRESS, GATEWAY, DISTANCE"
_COLUMNS_RE = re.compile(r"^\s*Columns:\s*(?P<rest>.*)$")
# "X - disabled, A - active; D - dynamic": pairs split on "," (v6) and ";" (v7 groups)
_LEGEND_SEP_RE = re.compile(r"[,;]")
# "K - private-key"  /  "+ - ecmp"  /  "y - COPY"
_LEGEND_PAIR_RE = re.compile(r"^\s*(?P<letter>\S)\s+-\s+(?P<name>\S.*?)\s*$")
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


def parse_legend(text: str) -> dict[str, str]:
    """Flag letter -> lower-case name from a legend's text (the part after `Flags:`, lines joined)."""
    legend: dict[str, str] = {}
    for piece in _LEGEND_SEP_RE.split(text):
        match = _LEGEND_PAIR_RE.match(piece)
        if match:
            legend[match["letter"]] = match["name"].lower()
    return legend


def _is_legend_continuation(line: str, previous: str) -> bool:
    if "=" in line or " - " not in line or line.lstrip().startswith(";;;"):
        return False
    return not line[0].isspace() or previous.endswith((",", ";"))


class _Reader:
    """Walks cleaned lines once, switching between key=value items and table rows as the output does."""

    def __init__(self, command: str, default_legend: Mapping[str, str]) -> None:
        self.command = command
        self.default_legend = dict(default_legend)
        self.legend: dict[str, str] = dict(default_legend)
        self.records: list[RawRecord] = []
        self.table: Table | None = None
        self.columns: list[str] | None = None
        self.pending_comment: str | None = None
        self.current: RawRecord | None = None
        self.body: list[str] = []
        self.body_line = 0

    # -- helpers -----------------------------------------------------------------------------------
    def _flags(self, letters: str) -> set[str]:
        """Legend names of flag letters; a letter no legend explains is kept as itself."""
        return {self.legend.get(letter, letter) for letter in letters}

    def _finish(self) -> None:
        if self.current is not None and self.body:
            self.current.values.update(split_pairs(self._joined(), self.command, self.body_line))
        self.current = None
        self.body = []

    def _joined(self) -> str:
        """Continuation lines joined: with a space between pairs, with nothing inside a quoted value
        (RouterOS wraps a long quoted value such as a key mid-value)."""
        pieces: list[str] = []
        inside = False
        for part in self.body:
            if pieces and not inside:
                pieces.append(" ")
            pieces.append(part)
            if quotes_open(part):
                inside = not inside
        return "".join(pieces)

    def _start(self, index: str | None, flags: str, lineno: int) -> RawRecord:
        self._finish()
        record = RawRecord(flags=self._flags(flags), comment=self.pending_comment)
        if index is not None:
            if index.startswith("*"):
                record.object_id = index
            else:
                record.index = int(index)
        self.pending_comment = None
        self.records.append(record)
        self.current = record
        self.body_line = lineno
        return record

    def _body(self, text: str) -> None:
        text = text.strip()
        if text.startswith(";;;") and self.current is not None and not self.body:
            self.current.comment = text[3:].strip()
        elif text:
            self.body.append(text)

    # -- line kinds --------------------------------------------------------------------------------
    def _item_line(self, line: str, lineno: int) -> bool:
        """` 0 ADo  dst-address=...`, `   DAv   dst-address=...` (no index), ` 1  A  ;;; comment`."""
        match = _ITEM_RE.match(line)
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
        remainder = rest
        for token in flags:
            remainder = remainder.split(token, 1)[1]
        self._body(remainder)
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
        elif self.records and (comment is None):
            record = self.records[-1]
        else:
            raise ParseError(self.command, f"table row without an item {stripped[:40]!r}", lineno)
        for name, parts in assign_cells(rest, self.table, line).items():
            if is_secret(name):
                continue
            value = " ".join(parts) if len(parts) == 1 else ",".join(parts)
            old = record.values.get(name)
            if not old:
                record.values[name] = value
            elif len(old.rsplit(",", 1)[-1]) >= self.table.widths.get(name, 1 << 30):
                # the value filled its column and wrapped ("eoip-tunne" / "l"): one value
                record.values[name] = old + value
            else:
                # another value of a list column (v6 ECMP gateways on continuation rows)
                record.values[name] = f"{old},{value}"

    def read(self, lines: list[str]) -> list[RawRecord]:
        legend_text: str | None = None
        in_columns = False
        for lineno, line in enumerate(lines, start=1):
            if not line or line.isspace():
                self._finish()
                legend_text = None
                in_columns = False
                continue
            if self.current is not None and self.table is None and line[0] == " " and legend_text is None:
                # the common case, first: a detail continuation line starting with a key=value pair
                stripped = line.lstrip()
                end = stripped.find(" ")
                if "=" in (stripped if end < 0 else stripped[:end]):
                    self.body.append(stripped)
                    continue
            if legend_text is not None and _is_legend_continuation(line, legend_text):
                legend_text += ("" if not legend_text.endswith((",", ";")) else " ") + line.strip()
                self.legend = {**self.default_legend, **parse_legend(legend_text)}
                continue
            legend_text = None
            if in_columns and ("," in line) and "=" not in line:
                self.columns = (self.columns or []) + [c.strip() for c in line.split(",") if c.strip()]
                continue
            in_columns = False
            legend = _LEGEND_RE.match(line)
            if legend:
                self._finish()
                legend_text = legend["rest"]
                self.legend = {**self.default_legend, **parse_legend(legend_text)}
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
            if self._item_line(line, lineno):
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
        return self.records


def parse_print(text: str, command: str, legend: Mapping[str, str] | None = None) -> list[RawRecord]:
    """Items of any list `print` output: table, detail, terse, default key=value, as-value or JSON.

    `legend` gives the flag letters to assume when the output prints none (terse, detail without legend);
    a printed `Flags:` legend overrides it letter by letter.
    """
    lines = clean_lines(text)
    body = "\n".join(lines).strip()
    if _JSON_START_RE.match(body):
        return parse_json(body, command)
    data = [line for line in lines if line.strip()]
    if data and _AS_VALUE_RE.match(data[0].strip()):
        return parse_as_value("\n".join(data), command)
    return _Reader(command, legend or {}).read(lines)
