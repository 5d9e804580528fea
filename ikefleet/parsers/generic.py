"""Generic parsers for any menu's `print detail` / `print terse` / table / `as-value` / JSON output,
for menus without a typed parser: values stay RouterOS strings, flags stay legend names."""

from __future__ import annotations

import re
from typing import TypedDict

from ikefleet.parsers.engine import RawRecord, parse_as_value, parse_json, parse_print, parse_settings
from ikefleet.parsers.errors import CommandFailed, detect_error
from ikefleet.parsers.text import clean_lines

# "                   uptime: 6w5d11h55m45s", "  l2tpv3-circuit-id:": a settings print line
_SETTING_LINE_RE = re.compile(r"^\s*[a-z][\w.\-]*:(?:\s|$)")


class GenericRecord(TypedDict, total=False):
    index: int
    object_id: str
    comment: str
    flags: list[str]
    values: dict[str, str]


def _as_dict(raw: RawRecord) -> GenericRecord:
    record: GenericRecord = {"flags": sorted(raw.flags), "values": dict(raw.values)}
    if raw.index is not None:
        record["index"] = raw.index
    if raw.object_id is not None:
        record["object_id"] = raw.object_id
    if raw.comment is not None:
        record["comment"] = raw.comment
    return record


def _checked(text: str, command: str) -> str:
    error = detect_error(text)
    if error is not None:
        raise CommandFailed(command, error)
    return text


def parse_generic(text: str, command: str = "print") -> list[GenericRecord]:
    """Any print form, detected from the text: a settings menu's `name: value` lines give one record;
    list forms give one per item, flags named from the printed legend when there is one."""
    _checked(text, command)
    for line in clean_lines(text):
        stripped = line.strip()
        if stripped and not stripped.startswith(";;;"):
            if _SETTING_LINE_RE.match(line):
                return parse_generic_settings(text, command)
            break
    return [_as_dict(r) for r in parse_print(text, command)]


def parse_generic_settings(text: str, command: str = "print") -> list[GenericRecord]:
    """Any settings menu's `print` (`name: value` lines) as one record; no output gives none."""
    return [_as_dict(r) for r in parse_settings(_checked(text, command), command)]


def parse_detail(text: str, command: str = "print detail") -> list[GenericRecord]:
    return parse_generic(text, command)


def parse_terse(text: str, command: str = "print terse") -> list[GenericRecord]:
    return parse_generic(text, command)


def parse_as_value_text(text: str, command: str = "print as-value") -> list[GenericRecord]:
    return [_as_dict(r) for r in parse_as_value(_checked(text, command).strip(), command)]


def parse_json_text(text: str, command: str = ":serialize to=json") -> list[GenericRecord]:
    return [_as_dict(r) for r in parse_json(_checked(text, command).strip(), command)]
