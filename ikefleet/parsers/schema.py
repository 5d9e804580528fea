"""Typing raw records: a parser's schema is its TypedDict; the annotation of each field picks the converter.

Field names are RouterOS names in Python form (`src-address` -> `src_address`); a spec may rename
(`dr-address` -> `dr`). Flags become named booleans. Fields the schema does not know go to `extra`, so
nothing is silently lost; secrets never reach this point (the engine drops them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any, TypedDict, get_args, get_origin, get_type_hints

from ikefleet.parsers.engine import RawRecord, iter_print, parse_settings
from ikefleet.parsers.errors import CommandFailed, ParseError, detect_error
from ikefleet.parsers.text import cut_at_width, iter_clean_lines
from ikefleet.parsers.values import (
    SECRET_FIELDS,
    Bytes,
    Milliseconds,
    Percent,
    Seconds,
    boolean,
    byte_count,
    comma_list,
    integer,
    is_secret,
    milliseconds,
    percent,
    seconds,
)


class Common(TypedDict, total=False):
    """Fields every record may carry: print's item number, the `*N` id, the `;;;` comment, the rest."""

    index: int
    object_id: str
    comment: str
    extra: dict[str, str]


@lru_cache(maxsize=1024)
def _seconds_pair(text: str) -> tuple[int, int]:
    """"6h24m8s/8h10s": soft and hard lifetime. Remembered: every SA of a hub prints its proposal's."""
    soft, _, hard = text.partition("/")
    return seconds(soft), seconds(hard or soft)


_CONVERTERS: dict[Any, Callable[[str], Any]] = {
    str: str,
    int: integer,
    bool: boolean,
    Seconds: seconds,
    Milliseconds: milliseconds,
    Bytes: byte_count,
    Percent: percent,
}


def _converter(hint: Any) -> Callable[[str], Any]:
    if hint in _CONVERTERS:
        return _CONVERTERS[hint]
    origin = get_origin(hint)
    if origin is list:
        return comma_list
    if origin is tuple and len(get_args(hint)) == 2:
        return _seconds_pair
    raise TypeError(f"no converter for {hint!r}")


# how records with given keys are typed: see `_learn`
Converted = tuple[str, str, Callable[[str], Any], Callable[[str], Any]]  # name, key, fast, general converter
Layout = tuple[tuple[str, ...], tuple[str, ...] | None, tuple[Converted, ...], tuple[str, ...],
               tuple[str, ...]]
_MAX_NAMES = 256  # layouts and flags a spec remembers


@dataclass(frozen=True)
class Spec:
    """How one command's output becomes records: its schema, default legend, renames and hooks."""

    command: str
    record: type
    legend: Mapping[str, str] = field(default_factory=dict)  # flag letter -> RouterOS flag name
    flags: Mapping[str, str] = field(default_factory=dict)  # RouterOS flag name -> record field
    aliases: Mapping[str, str] = field(default_factory=dict)  # RouterOS field name -> record field
    settings: bool = False  # `name: value` form (one record) instead of a list of items
    # record fields that change by themselves (counters, ages, timers, session ids): comparing two
    # snapshots, or a snapshot with the expected state, must ignore them (pyATS Ops style)
    volatile: frozenset[str] = frozenset()
    # the table's columns in print order (RouterOS names): resolves headers cut to their width
    columns: tuple[str, ...] = ()
    post: Callable[[dict[str, Any]], None] | None = None  # derived fields, after conversion

    @cached_property
    def plan(self) -> dict[str, tuple[str, Any, Callable[[str], Any] | None]]:
        """RouterOS field name -> (record field, its type, its converter), filled as names are met: the
        names a print uses are resolved once a spec, not once a record."""
        return {}

    @cached_property
    def layouts(self) -> dict[tuple[str, ...], Layout]:
        """A record's RouterOS names in print order -> how such a record is typed (see `_learn`)."""
        return {}

    @cached_property
    def flag_fields(self) -> dict[str, str]:
        """A flag's name -> the record field it sets ("" for none): see `_flag_field`."""
        return {}

    @cached_property
    def flag_defaults(self) -> dict[str, bool]:
        """Every flag field of the schema, False: a printed item without the letter lacks the flag."""
        fields = _fields(self.record)
        return {n: False for n in sorted(set(self.flags.values())) if n in fields}

    @cached_property
    def not_evidence(self) -> frozenset[str]:
        """Record keys that do not show the output is this command's: the ids, the comment, the extras
        and the spec's flags (see `_recognised`)."""
        return _NOT_EVIDENCE | frozenset(self.flags.values())


@cache
def _fields(record: type) -> dict[str, tuple[Any, Callable[[str], Any] | None]]:
    hints = get_type_hints(record)
    return {
        name: (hint, None if name in ("extra",) else _converter(hint))
        for name, hint in hints.items()
        if name != "extra"
    }


@cache
def _bool_fields(record: type) -> frozenset[str]:
    return frozenset(name for name, (hint, _) in _fields(record).items() if hint is bool)


def _flag_field(flag: str, spec: Spec) -> str:
    """The boolean field a printed flag sets ("" for none): the spec's name for it or its own."""
    name = spec.flags[flag] if flag in spec.flags else _field_name(flag, spec)
    return name if name in _bool_fields(spec.record) else ""


def _field_name(key: str, spec: Spec) -> str:
    if key in spec.aliases:
        return spec.aliases[key]
    if key in spec.flags:
        # as-value / JSON print flags as fields: "natt-peer": true -> natt
        return spec.flags[key]
    return key.lstrip(".").replace("-", "_").replace(".", "_").lower()


_SECRET = "\0secret"  # what a truncated header resolves to when it may name a secret column


def _truncated(key: str, spec: Spec, used: set[str]) -> str | None:
    """A table header cut to its column ("AUT...", "PRI"): the first unused column it starts.

    Candidates are the spec's declared table columns (RouterOS names, print order) or else the schema's
    fields. A header that resolves to a secret, or could name one when no column list says otherwise,
    resolves to `_SECRET` and its value is dropped.
    """
    stem = key.rstrip(".").lower().replace("_", "-")
    if not stem:
        return None
    if spec.columns:
        for column in spec.columns:
            name = _field_name(column, spec)
            if column.startswith(stem) and name not in used:
                return _SECRET if is_secret(column) else name
        return None
    if any(secret.startswith(stem) for secret in SECRET_FIELDS):
        return _SECRET
    for name, (hint, _) in _fields(spec.record).items():
        if name.replace("_", "-").startswith(stem) and name not in used and hint is not bool:
            return name
    return None


def convert(raw: RawRecord, spec: Spec) -> dict[str, Any]:
    """One typed record from a raw one; conversion failures name the command and the field."""
    record: dict[str, Any] = {}
    if raw.index is not None:
        record["index"] = raw.index
    if raw.object_id is not None:
        record["object_id"] = raw.object_id
    if raw.comment is not None:
        record["comment"] = raw.comment
    if raw.printed and not spec.settings:
        record.update(spec.flag_defaults)
        flag_fields = spec.flag_fields
        for flag in raw.flags:
            name = flag_fields.get(flag)
            if name is None:
                name = _flag_field(flag, spec)
                if len(flag_fields) < _MAX_NAMES:
                    flag_fields[flag] = name
            if name:
                record[name] = True
    values = raw.values
    keys = tuple(values)
    layout = spec.layouts.get(keys)
    if layout is None:
        plan = spec.plan
        typed, extra = _resolved(raw, plan, spec, set(record))
        record.update(typed)
        if extra:
            record["extra"] = extra
        _learn(spec, keys, plan)
        return _posted(record, spec)
    # the learnt way: the values put in under their names at once, then those of a type converted
    names, kept, converted, extras, restore = layout
    saved = {name: record[name] for name in restore if name in record} if restore else None
    record.update(zip(names, values.values() if kept is None else map(values.__getitem__, kept),
                      strict=False))  # (a name for each value kept, by construction)
    for name, key, fast, converter in converted:
        value = record[name]
        if value == "":  # (an empty value of a typed field is no value: a flag's or an id's stays)
            if saved and name in saved:
                record[name] = saved[name]
            else:
                del record[name]
            continue
        try:
            record[name] = fast(value)
        except (ValueError, TypeError):
            record[name] = _converted(converter, key, value, spec.command)
    if extras:
        record["extra"] = {key: values[key] for key in extras}
    return _posted(record, spec)


def _posted(record: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """The record after the spec's hook for derived fields, if it has one."""
    if spec.post is not None:
        spec.post(record)
    return record


def _typed(name: str, hint: Any, converter: Callable[[str], Any] | None, key: str, value: str,
           into: dict[str, Any], command: str) -> None:
    """`value` under `name` as its type; an empty value of a typed field is no value."""
    if hint is str:  # (str(value) is value: most fields, no call)
        into[name] = value
    elif value != "":
        assert converter is not None
        into[name] = _converted(converter, key, value, command)


def _converted(converter: Callable[[str], Any], key: str, value: str, command: str) -> Any:
    """`converter(value)`; its failure a ParseError naming the command and the field."""
    try:
        return converter(value)
    except (ValueError, TypeError) as exc:
        raise ParseError(command, f"field {key}: {exc}") from None


# C's int() for `integer` where it reads a value (what it reads, `integer` reads alike: tests/parsers/
# test_values.py); where it fails, `integer` reads the value ("0x1F") or names the error
_FAST: dict[Callable[[str], Any], Callable[[str], Any]] = {integer: int}


def _learn(spec: Spec, keys: tuple[str, ...],
           plan: dict[str, tuple[str, Any, Callable[[str], Any] | None]]) -> None:
    """Remember how records with these keys, in this order, are typed once every key's name is planned:
    (the record names of the kept keys, those keys when some are extras, the fields to convert, the
    extras, the converted fields a record may already hold). The items of a print repeat their keys, so
    the next record with them is typed without looking at each name again. Nothing is learnt for a key the
    plan lacks (a table header cut to its width depends on the columns used before it) or for two keys of
    one name (the first typed value may be the one kept)."""
    steps = [plan.get(key) for key in keys]
    if None in steps:
        return
    names: list[str] = []
    kept: list[str] = []
    converted: list[Converted] = []
    extras: list[str] = []
    for key, step in zip(keys, steps, strict=True):
        assert step is not None
        name, hint, converter = step
        if not name:
            extras.append(key)
            continue
        names.append(name)
        kept.append(key)
        if hint is not str:
            assert converter is not None
            converted.append((name, key, _FAST.get(converter, converter), converter))
    if len(set(names)) != len(names):
        return
    # a typed field a record may hold before its values (its id, its comment, a flag) keeps what it held
    # when its value is empty
    preset = _NOT_EVIDENCE | _bool_fields(spec.record)
    restore = tuple(name for name, _, _, _ in converted if name in preset)
    layouts = spec.layouts
    if len(layouts) >= _MAX_NAMES:
        layouts.clear()  # (prints whose keys keep changing: memory stays bounded)
    layouts[keys] = (tuple(names), tuple(kept) if extras else None, tuple(converted), tuple(extras), restore)


def _resolved(raw: RawRecord, plan: dict[str, tuple[str, Any, Callable[[str], Any] | None]], spec: Spec,
              used: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed values and the extras, each name resolved (and cached in `plan` when it can be)."""
    fields = _fields(spec.record)
    typed: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for key, value in raw.values.items():
        step = plan.get(key)
        if step is None:
            name = _field_name(key, spec)
            if key.endswith("...") or (name not in fields and raw.from_table):
                # a header cut to its column: depends on the columns already used, so not cached
                name = _truncated(key, spec, used) or ""
                if name == _SECRET:
                    continue
                step = (name, fields[name][0], fields[name][1]) if name else ("", None, None)
            elif name in fields:
                step = plan[key] = (name, fields[name][0], fields[name][1])
            else:
                step = plan[key] = ("", None, None)
        name, hint, converter = step
        used.add(name)
        if not name:
            extra[key] = value
        else:
            _typed(name, hint, converter, key, value, typed, spec.command)
    return typed, extra


def run(text: str, spec: Spec) -> list[Any]:
    """Parse `text` as `spec.command`'s output: error replies raise `CommandFailed`, garbage `ParseError`."""
    return list(iter_run(text, spec))


def iter_run(text: str, spec: Spec) -> Iterator[Any]:
    """run one record at a time: the text is read once and only the records themselves are kept, by the
    caller (a 50 MB route print never exists as lines, raw records and typed records at once)."""
    if not isinstance(text, str):
        raise ParseError(spec.command, f"expected text, got {type(text).__name__}")
    error = detect_error(text)
    if error is not None:
        raise CommandFailed(spec.command, error)
    if ">" in text and cut_at_width(iter_clean_lines(text)):
        raise ParseError(
            spec.command, "lines were cut at the terminal width: print again on a wider terminal"
        )
    if spec.settings:
        raws: Iterable[RawRecord] = parse_settings(text, spec.command)
    else:
        raws = iter_print(text, spec.command, spec.legend)
    waiting: list[Any] | None = []  # records before the first with a known field; None once one came
    for raw in raws:
        record = convert(raw, spec)
        if waiting is None:
            yield record
        elif _recognised(record, spec):
            yield from waiting
            yield record
            waiting = None
        else:
            waiting.append(record)
    if waiting:
        # well-formed output of another command (a route table given to the SA parser)
        unknown = sorted({k for record in waiting for k in record.get("extra", {})})[:5]
        raise ParseError(spec.command, f"output of another command? no known field, only {unknown}")


def _recognised(record: dict[str, Any], spec: Spec) -> bool:
    """True when the record holds a value field of the schema (not only flags, ids and extras)."""
    return not spec.not_evidence.issuperset(record)


_NOT_EVIDENCE = frozenset({"index", "object_id", "comment", "extra"})
