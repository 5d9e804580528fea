"""The other print forms: settings (`name: value`), `as-value` and v7 `:serialize to=json`."""

from __future__ import annotations

import json
import re

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.raw import RawRecord, from_mapping
from ikefleet.parsers.text import clean_lines
from ikefleet.parsers.values import is_secret

# "                   uptime: 6w5d11h55m45s", "  l2tpv3-circuit-id:"
# (no lazy `.*?\s*$`: it retries the trailing blanks at every character, quadratic in a long value)
_SETTING_RE = re.compile(r"^(?P<indent>\s*+)(?P<key>[a-z][\w.\-]*+):(?:\s++(?P<val>.*+))?$")
# ".id=*1;address=10.0.0.1/24" / "\n": as-value pairs and items
_AS_VALUE_SEP_RE = re.compile(r";|\n")
# "dst-address", ".id", "bgp.peer-cache-id": a field name
_KEY_RE = re.compile(r"^\.?[A-Za-z][\w.\-]*$")


def parse_settings(text: str, command: str) -> list[RawRecord]:
    """A settings menu's `print` (`name: value` lines) as one record; empty output gives no record."""
    lines = clean_lines(text)
    record = RawRecord()
    key: str | None = None
    key_indent = 0
    pieces: dict[str, list[str]] = {}  # a value's lines, joined once at the end (not once per line)
    last: dict[str, str] = {}  # the last character of each value so far ("" while empty)
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
            value = (match["val"] or "").rstrip()
            pieces[key], last[key] = [value], value[-1:]
            continue
        if key is not None and line[: key_indent + 1].isspace():
            # a list value prints one element per line under the first ("authentication: mschap1"
            # / "mschap2"); a value wrapped after its comma just continues
            joiner = "" if last[key] in (",", "") else ","
            pieces[key] += [joiner, stripped]
            last[key] = stripped[-1]
            continue
        raise ParseError(command, f"expected 'name: value', got {stripped[:60]!r}", lineno)
    if not pieces and record.comment is None:
        return []
    record.values = {k: "".join(v) for k, v in pieces.items() if not is_secret(k)}
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
            records.append(from_mapping(current))
            current = {}
        current[key] = value
    if current:
        records.append(from_mapping(current))
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
    if not text.strip():
        return []
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
        records.append(from_mapping({k: v for k, v in values.items() if v is not None}))
    return records
