"""Generic readers for every `print` form: detail / terse / default key=value, tables, settings, as-value
and v7 JSON. They return `RawRecord`s (RouterOS names and strings); `schema.py` types them.

Secret fields are dropped here, so no caller can ever see them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.text import clean_lines
from ikefleet.parsers.values import is_secret, unquote


@dataclass(slots=True)
class RawRecord:
    """One printed item: `flags` are the legend names of its flag letters (`{"active", "dynamic"}`)."""

    index: int | None = None
    object_id: str | None = None
    flags: set[str] = field(default_factory=set)
    comment: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    printed: bool = True  # False for as-value / JSON items, which carry no flag letters
    from_table: bool = False  # its values come from table columns, whose headers may be cut short


# "Flags: X - disabled, A - active, D - dynamic,"  /  "Flags: D - DYNAMIC; X - DISABLED, I - INACTIVE"
_LEGEND_RE = re.compile(r"^\s*Flags:\s*(?P<rest>.*)$")
# "Columns: DST-ADDRESS, GATEWAY, DISTANCE"
_COLUMNS_RE = re.compile(r"^\s*Columns:\s*(?P<rest>.*)$")
# "X - disabled, A - active; D - dynamic": pairs split on "," (v6) and ";" (v7 groups)
_LEGEND_SEP_RE = re.compile(r"[,;]")
# ".id=*1;address=10.0.0.1/24" / "\n": as-value pairs and items
_AS_VALUE_SEP_RE = re.compile(r";|\n")
# "dst-address", ".id", "bgp.peer-cache-id": a field name
_KEY_RE = re.compile(r"^\.?[A-Za-z][\w.\-]*$")
# "K - private-key"  /  "+ - ecmp"  /  "y - COPY"
_LEGEND_PAIR_RE = re.compile(r"^\s*(?P<letter>\S)\s+-\s+(?P<name>\S.*?)\s*$")
# " 0 ADo  dst-address=0.0.0.0/0", "10 ADo  ...", "*1 KAET local-root-cert", "0 D address=..."
_ITEM_RE = re.compile(r"^(?P<indent>\s*)(?P<index>\d+|\*[0-9A-Fa-f]+)(?=\s|$)(?P<rest>.*)$")
# "ADo", "TX*", "DAo+", "K"
_FLAGS_TOKEN_RE = re.compile(r"^[A-Za-z*+]{1,8}$")
# 'name="eoip1000"', 'issuer=CN=CA', '.ext-communities=rt:1.1.1.1:111', 'options=' (empty),
# 'gateway-status=10.0.0.2 reachable via  ether1' (group 4: words continuing an unquoted value)
_PAIRS_RE = re.compile(
    r'(\s*)(\.?[A-Za-z][\w.\-]*)=("[^"\\]*(?:\\.[^"\\]*)*"?|[^\s"]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^\s"]*)*)'
    r"((?:\s+(?!\.?[A-Za-z][\w.\-]*=)\S+)*)"
)
# " #     NAME     TYPE   ACTUAL-MTU", "     DST-ADDRESS  GATEWAY  DISTANCE", "AUT... AUTHENTICATIO..."
_HEADER_TOKEN_RE = re.compile(r"^(?:#|\*|[A-Z][A-Z0-9\-./]*(?:\.\.\.)?)$")
# "                   uptime: 6w5d11h55m45s", "  l2tpv3-circuit-id:"
_SETTING_RE = re.compile(r"^(?P<indent>\s*)(?P<key>[a-z][\w.\-]*):(?:\s+(?P<val>.*?))?\s*$")
# ".id=*1;address=10.0.0.1/24;interface=ether1" (as-value, one or more items on a line)
_AS_VALUE_RE = re.compile(r"^\.?[A-Za-z][\w.\-]*=[^\n]*;")
# "ether1", "10.0.0.0/24": one cell word of a table row (its position picks the column)
_TOKEN_RE = re.compile(r"\S+")
# headers are upper case: any lower-case letter or "=" rules a line out cheaply
_LOWER_RE = re.compile(r"[a-z=]")
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


def _split_pairs(body: str, command: str, lineno: int) -> dict[str, str]:
    """key=value pairs of one item's joined body; an unquoted value may hold spaces."""
    values: dict[str, str] = {}
    last = ""
    pairs = _PAIRS_RE.findall(body)
    covered = sum(map(len, map("".join, pairs))) + len(pairs)  # + one "=" per pair
    for _, key, value, more in pairs:
        if key == "port" and last.endswith("-address"):
            # v7 active-peers: "local-address=A port=4500 remote-address=B port=4500"
            key = last[: -len("address")] + "port"
        last = key
        if key in values or is_secret(key):
            continue  # v7 prints some keys twice (`spii=`, `spir=`): the first wins
        if more:
            value += more
        values[key] = unquote(value) if value[:1] == '"' else value
    if covered != len(body):
        # findall skips what is not a pair: the first text it skipped is the culprit
        pos = 0
        for match in _PAIRS_RE.finditer(body):
            if match.start() != pos:
                break
            pos = match.end()
        if body[pos:].strip():
            raise ParseError(command, f"expected key=value, got {body[pos:].strip()[:40]!r}", lineno)
    return values


# '\"' and '\\' inside quoted values: escapes, not quotes
_ESCAPED_RE = re.compile(r"\\.")


def _quotes_open(part: str) -> bool:
    """True when `part` holds an odd number of unescaped double quotes (it opens or closes a value)."""
    if '"' not in part:
        return False
    if "\\" in part:
        part = _ESCAPED_RE.sub("", part)
    return part.count('"') % 2 == 1


@dataclass(slots=True)
class _Table:
    names: list[str]
    spans: list[tuple[int, int]]
    first: int  # column where the first named column starts: index and flags lie left of it
    widths: dict[str, int] = field(default_factory=dict)  # room before the next column, by name


def _parse_header(line: str, columns: list[str] | None) -> _Table | None:
    if _LOWER_RE.search(line):
        return None
    tokens = list(_TOKEN_RE.finditer(line))
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
    return _Table(names=names, spans=spans, first=named[0].start(), widths=widths)


def _assign(tokens: list[re.Match[str]], table: _Table, line: str) -> dict[str, list[str]]:
    """Table cells of one line: each token goes to the column its text lies under, left to right.

    Wider values overflow their header (right-aligned numbers start left of it); two spaces or more
    between tokens always mean a new column, one space may join words of one value ("dot1x CA").
    """
    cells: dict[int, list[str]] = {}
    current = -1
    previous_end = -1
    for token in tokens:
        a, b = token.start(), token.end()
        gap_new = previous_end >= 0 and a - previous_end >= 2
        lowest = current + 1 if gap_new else max(current, 0)
        best, best_overlap = None, 0
        for i in range(lowest, len(table.spans)):
            s, e = table.spans[i]
            overlap = min(b, e) - max(a, s)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is None:
            left = [i for i in range(lowest, len(table.spans)) if table.spans[i][0] <= a]
            best = left[-1] if left else min(lowest, len(table.spans) - 1)
        if best == current and cells.get(best):
            cells[best][-1] += line[previous_end:a] + token.group()
        else:
            cells.setdefault(best, []).append(token.group())
        current, previous_end = best, b
    return {table.names[i]: v for i, v in cells.items()}


class _Reader:
    """Walks cleaned lines once, switching between key=value items and table rows as the output does."""

    def __init__(self, command: str, default_legend: Mapping[str, str]) -> None:
        self.command = command
        self.default_legend = dict(default_legend)
        self.legend: dict[str, str] = dict(default_legend)
        self.records: list[RawRecord] = []
        self.table: _Table | None = None
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
            self.current.values.update(_split_pairs(self._joined(), self.command, self.body_line))
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
            if _quotes_open(part):
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
        tokens = list(_TOKEN_RE.finditer(line))
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
        for name, parts in _assign(rest, self.table, line).items():
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
            header = _parse_header(line, self.columns)
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
            if self.current is not None and line[0].isspace():
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


def parse_settings(text: str, command: str) -> list[RawRecord]:
    """A settings menu's `print` (`name: value` lines) as one record; empty output gives no record."""
    lines = clean_lines(text)
    record = RawRecord()
    key: str | None = None
    key_indent = 0
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(";;;"):
            record.comment = stripped[3:].strip()
            continue
        match = _SETTING_RE.match(line)
        if match:
            key = match["key"]
            key_indent = len(match["indent"]) + len(key) + 1
            record.values[key] = match["val"] or ""
            continue
        if key is not None and line[: key_indent + 1].isspace():
            # a list value prints one element per line under the first ("authentication: mschap1"
            # / "mschap2"); a value wrapped after its comma just continues
            old = record.values[key]
            joiner = "" if old.endswith(",") or not old else ","
            record.values[key] = old + joiner + stripped
            continue
        raise ParseError(command, f"expected 'name: value', got {stripped[:60]!r}", lineno)
    if not record.values and record.comment is None:
        return []
    record.values = {k: v for k, v in record.values.items() if not is_secret(k)}
    return [record]


def parse_as_value(text: str, command: str) -> list[RawRecord]:
    """`print as-value` put on the console: `key=value` joined by `;`; a repeated key starts a new item."""
    records: list[RawRecord] = []
    current: dict[str, str] = {}
    for part in _AS_VALUE_SEP_RE.split(text):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not _KEY_RE.match(key):
            raise ParseError(command, f"expected key=value in as-value output, got {part[:40]!r}")
        if key in current:
            records.append(_from_mapping(current))
            current = {}
        current[key] = value
    if current:
        records.append(_from_mapping(current))
    return records


def _json_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        parts = [_json_value(v) for v in value]
        return ",".join(p for p in parts if p is not None)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def parse_json(text: str, command: str) -> list[RawRecord]:
    """v7 `:serialize to=json` output: floats that are integers become ints, nulls become absent."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(command, f"invalid JSON: {exc.msg}", exc.lineno) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ParseError(command, "JSON output is not a list of objects")
    records = []
    for item in data:
        values = {str(k): _json_value(v) for k, v in item.items()}
        records.append(_from_mapping({k: v for k, v in values.items() if v is not None}))
    return records


def _from_mapping(values: dict[str, str]) -> RawRecord:
    record = RawRecord(printed=False)
    for key, value in values.items():
        if is_secret(key):
            continue
        if key == ".id":
            record.object_id = value
        elif key == "comment":
            record.comment = value
        else:
            record.values[key] = value
    return record
