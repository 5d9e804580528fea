"""RouterOS v6 console output, byte for byte: `print` (table, key=value list, detail, terse, as-value),
settings blocks and `export`.

Pure functions: the engine decides which items and values to show (defaults, secrets, `where`), this module
only lays them out the way a real v6 router does. Per-menu layout (flag columns, table columns, quoting)
is data in `layouts.yaml`; the rules here were read off the captures in `shared/routeros-samples/`.
Output lines are joined with "\\n" and carry no final newline (the SSH layer turns them into CRLF).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

from ruamel.yaml import YAML

from ikefleet.routeros.quoting import quote, quoted


def format_id(number: int) -> str:
    """An item's internal id as RouterOS prints it (`*1A`)."""
    return f"*{number:X}"


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class _FlagLike(Protocol):
    letter: str
    name: str


class _FieldLike(Protocol):
    type: str


class MenuLike(Protocol):
    """What render needs of `ikefleet.routeros.schema.Menu` (read only: a Menu is frozen)."""

    @property
    def path(self) -> str: ...

    @property
    def flags(self) -> tuple[Any, ...]: ...

    @property
    def fields(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Row:
    """One item as print shows it."""

    number: int | None  # the print number; None: printed without one (v7 dynamic routes)
    values: dict[str, str]  # effective values in menu field order (only the ones to show)
    flags: str = ""  # active flag letters in legend order, e.g. "XD", "R", "KLAT", "*"
    comment: str = ""
    id: int | None = None  # internal id, for `.id=*1` in as-value output


@dataclass(frozen=True)
class ExportLine:
    """One `add`/`set` line of an export section."""

    verb: str  # "add" | "set"
    args: tuple[tuple[str, str], ...]  # (field, value) pairs, values unquoted; sorted on output
    find: str = ""  # "[ find default=yes ]", "[ find default-name=ether1 ]", "0" or ""


@dataclass(frozen=True)
class ExportHeader:
    """The comment block on top of an export."""

    when: datetime
    version: str  # "6.49.19"
    software_id: str = ""
    model: str = ""
    serial: str = ""


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    min: int
    align: str = "left"
    expand: bool = False
    gap: int = 1
    split: str = ""
    cut: bool = False  # a value wider than the column is cut to "abc..." instead of wrapped


@dataclass(frozen=True)
class Omit:
    """Fields a kind of item does not print: items showing one of `flags` (any item when empty) whose
    values match every `when` pair."""

    fields: frozenset[str]
    flags: str = ""
    when: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Layout:
    """How one menu prints (see layouts.yaml)."""

    flags: tuple[str, ...] | None = None  # flag column groups; None = one column per legend flag
    legend: tuple[str, ...] | None = None  # legend wrap units; None = the flag groups
    columns: tuple[Column, ...] = ()
    blank: bool = True  # False: never blank lines between items of plain print
    indent: int | None = None
    quoted: frozenset[str] = field(default_factory=frozenset)
    unnumbered_dynamic: bool = False  # v7 /ip route: dynamic rows carry no print number
    fit_content: bool = False  # v7 tables sized to their content: columns as wide as header or widest value
    omit: tuple[Omit, ...] = ()  # fields some kinds of item leave out of print/detail/terse
    print_as: dict[str, str] = field(default_factory=dict)  # field -> the name print shows (two `port=`)
    drop_empty: bool = False  # v7 certificate table: a column no row fills is not printed


def _read(name: str) -> dict[str, Any]:
    text = (resources.files("ikefleet.lab") / name).read_text(encoding="utf-8")
    return YAML(typ="safe", pure=True).load(text) or {}


@cache
def _layouts(version: int = 6) -> dict[str, Layout]:
    """Layouts of a RouterOS major: layouts.yaml, with layouts_v7.yaml's keys replacing them on v7."""
    data = _read("layouts.yaml")
    if version >= 7:
        for path, spec in _read("layouts_v7.yaml").items():
            data[path] = {**data.get(path, {}), **spec}
    layouts = {}
    for path, spec in data.items():
        flags = spec.get("flags")
        legend = spec.get("legend")
        layouts[path] = Layout(
            flags=None if flags is None else tuple(str(flags).split()),
            legend=None if legend is None else tuple(str(legend).split()),
            columns=tuple(Column(**c) for c in spec.get("columns", ())),
            blank=bool(spec.get("blank", True)),
            indent=spec.get("indent"),
            quoted=frozenset(spec.get("quoted", ())),
            unnumbered_dynamic=bool(spec.get("unnumbered_dynamic", False)),
            fit_content=bool(spec.get("fit_content", False)),
            omit=tuple(Omit(frozenset(o["fields"]), str(o.get("flags", "")),
                            tuple((str(k), str(v)) for k, v in (o.get("when") or {}).items()))
                       for o in spec.get("omit", ())),
            print_as={str(k): str(v) for k, v in (spec.get("print_as") or {}).items()},
            drop_empty=bool(spec.get("drop_empty", False)),
        )
    return layouts


def layout(path: str, version: int = 6) -> Layout:
    """The print layout of `path` (an empty layout for menus the captures do not cover)."""
    return _layouts(7 if version >= 7 else 6).get(path, Layout())


def columns(path: str, version: int = 6) -> tuple[str, ...]:
    """Fields a plain `print` of `path` shows as table columns; () when it prints key=value items."""
    return tuple(c.field for c in layout(path, version).columns)


# ---------------------------------------------------------------------------------------------- values


def _shown(lay: Layout, row: Row) -> dict[str, str]:
    """The row's values without the fields its kind of item does not print (`omit` in the layout)."""
    hidden: set[str] = set()
    for rule in lay.omit:
        if (not rule.flags or any(c in row.flags for c in rule.flags)) and all(
            row.values.get(k) == v for k, v in rule.when
        ):
            hidden |= rule.fields
    return {k: v for k, v in row.values.items() if k not in hidden} if hidden else row.values


def _print_value(menu: MenuLike, lay: Layout, name: str, value: str) -> str:
    """A value as print/detail write it: strings in quotes, everything else (even with spaces) bare."""
    fld = menu.fields.get(name) if menu.fields else None
    if value == "" or name in lay.quoted or (fld is not None and getattr(fld, "type", "") == "name"):
        return quoted(value)
    return value


# ---------------------------------------------------------------------------------------------- flags


def _flag_groups(menu: MenuLike, lay: Layout) -> tuple[str, ...]:
    """Flag columns: the layout's groups, plus a column for any legend flag the layout does not place."""
    if lay.flags is None:
        return tuple(f.letter for f in menu.flags)
    placed = "".join(lay.flags)
    if lay.flags == ():  # explicitly no flag column
        return ()
    return (*lay.flags, *(f.letter for f in menu.flags if f.letter not in placed))


def _flag_cells(groups: Sequence[str], active: str) -> str:
    """One character per flag column: the first active letter of the group, else a space."""
    return "".join(next((c for c in group if c in active), " ") for group in groups)


def _legend(
    menu: MenuLike, lay: Layout, width: int, version: int = 6, rows: Sequence[Row] | None = None
) -> list[str]:
    """`Flags: X - disabled, D - dynamic ` wrapped between legend units, each line ending in a space (not
    a v7 table's).
    v7 separates the units (flag columns) with `;` (`Flags: X - disabled, I - inactive, D - dynamic; T -
    transit-capable`). A v7 table (`rows` given) names only the flags its rows show, in capitals
    (`Flags: D - DYNAMIC` over an address table; the detail form of the same menu lists them all)."""
    if not menu.flags:
        return []
    names = {f.letter: f.name for f in menu.flags}
    table = version >= 7 and rows is not None
    if table:
        shown = "".join(r.flags for r in rows)
        names = {k: v.upper() for k, v in names.items() if k in shown}
        if not names:
            return []
    units = lay.legend if lay.legend is not None else _flag_groups(menu, lay)
    covered = "".join(units)
    units = (*units, *(f.letter for f in menu.flags if f.letter not in covered))
    order = [f.letter for f in menu.flags]
    pieces = [[letter for letter in order if letter in unit and letter in names] for unit in units]
    pieces = [p for p in pieces if p]
    lines: list[str] = []
    line = "Flags: "
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        glue = "; " if version >= 7 else ", "
        end = "" if table else " "  # the capital table legends end bare (pt-lab-mtk1 route, porotnikov)
        text = ", ".join(f"{letter} - {names[letter]}" for letter in piece) + (end if last else glue)
        if line.strip() and line != "Flags: " and len(line) + len(text) > width - 1:
            lines.append(line)
            line = ""
        line += text
    lines.append(line)
    return lines


def _digits(rows: Sequence[Row]) -> int:
    """Width of the number column: 2, or more once numbers reach 100 (so columns stay aligned)."""
    return max([2, *(len(str(r.number)) for r in rows if r.number is not None)])


def _prefix(number: int | None, groups: Sequence[str], flags: str, digits: int = 2) -> str:
    """The "NN FLAGS " head of an item's first line."""
    head = f"{'' if number is None else number:>{digits}} " if digits else ""
    if groups:
        head += _flag_cells(groups, flags) + " "
    return head


# ---------------------------------------------------------------------------------------------- tables


def _fit(columns: Sequence[Column], room: int) -> list[int]:
    """Column widths: minimums, then headers of fixed columns, then the rest shared by expanding ones."""
    widths = [c.min for c in columns]
    extra = room - sum(widths) - sum(c.gap for c in columns[1:])
    for i, col in enumerate(columns):
        if extra <= 0:
            break
        if not col.expand and len(col.header) > widths[i]:
            grow = min(extra, len(col.header) - widths[i])
            widths[i] += grow
            extra -= grow
    expanders = [i for i, c in enumerate(columns) if c.expand]
    if extra > 0 and expanders:
        share, rest = divmod(extra, len(expanders))
        for n, i in enumerate(expanders):
            widths[i] += share + (1 if n < rest else 0)
    return widths


def _header_text(header: str, width: int) -> str:
    if len(header) <= width:
        return header
    return header[: width - 3] + "..." if width > 3 else header[:width]


def _cell_lines(col: Column, value: str, width: int) -> list[str]:
    if col.split and value:
        return value.split(col.split)
    if col.cut and len(value) > width > 3:
        return [value[: width - 3] + "..."]
    if col.align == "left" and len(value) > width > 0:
        return [value[i : i + width] for i in range(0, len(value), width)]
    return [value]


def _compose(head: str, columns: Sequence[Column], widths: Sequence[int], cells: Sequence[str]) -> str:
    """Place cells at their column positions; a too-long right-aligned value spills to the left."""
    line = head
    pos = len(head)
    for i, (col, width, text) in enumerate(zip(columns, widths, cells, strict=True)):
        if i:
            pos += col.gap
        if col.align == "right":
            start = pos + width - len(text)
            line = line.ljust(start) if len(line) <= start else line + " "
            line += text
        else:
            line = line.ljust(pos) + text
        line = line.ljust(pos + width)
        pos += width
    return line


def _table(menu: MenuLike, lay: Layout, rows: Sequence[Row], width: int, version: int = 6) -> list[str]:
    if lay.drop_empty:
        kept = tuple(c for c in lay.columns if any(r.values.get(c.field) for r in rows))
        lay = dataclasses.replace(lay, columns=kept)
    groups = _flag_groups(menu, lay)
    if lay.fit_content:  # v7 (pt-lab-mtk1 routes, porotnikov SAs): only the flag columns and numbers shown
        groups = tuple(g for g in groups if any(c in r.flags for r in rows for c in g))
        digits = max([0, *(len(str(r.number)) for r in rows if r.number is not None)])
        widths = [max([len(c.header), *(len(r.values.get(c.field, "")) for r in rows)]) for c in lay.columns]
    else:
        digits = _digits(rows)
    head_len = len(_prefix(0, groups, "", digits))
    if not lay.fit_content:
        widths = _fit(lay.columns, width - 1 - head_len)
    headers = [
        _header_text(c.header, w).rjust(w) if c.align == "right" else _header_text(c.header, w)
        for c, w in zip(lay.columns, widths, strict=True)
    ]
    lines = [
        *_legend(menu, lay, width, version, rows if version >= 7 else None),
        *(["Columns: " + ", ".join(c.header for c in lay.columns)] if version >= 7 else []),
        _compose(("" if lay.unnumbered_dynamic else "#").rjust(digits).ljust(head_len), lay.columns, widths,
                 headers),
    ]
    for row in rows:
        head = _prefix(row.number, groups, row.flags, digits)
        if row.comment and lay.fit_content:  # v7: the comment on a line of its own (harness-A1M, ru-audit)
            lines.append(";;; " + row.comment)
        elif row.comment:
            lines.append(head + ";;; " + row.comment)
            head = " " * len(head)
        stacks = [
            _cell_lines(c, row.values.get(c.field, ""), w) for c, w in zip(lay.columns, widths, strict=True)
        ]
        for k in range(max(len(s) for s in stacks)):
            cells = [s[k] if k < len(s) else "" for s in stacks]
            lines.append(_compose(head if k == 0 else " " * len(head), lay.columns, widths, cells))
    return lines


# ---------------------------------------------------------------------------------------------- lists


def _wrap_pairs(head: str, indent: int, pairs: Iterable[str], width: int) -> list[str]:
    """key=value words after `head`, each followed by a space, wrapped before the terminal's last column."""
    lines: list[str] = []
    line = head
    has_word = False
    for word in pairs:
        if has_word and len(line) + len(word) + 1 > width - 1:
            lines.append(line)
            line = " " * indent
        line += word + " "
        has_word = True
    lines.append(line)
    return lines


def _items(
    menu: MenuLike, lay: Layout, rows: Sequence[Row], width: int, detail: bool, version: int = 6
) -> list[str]:
    """Items as wrapped key=value words. Detail leaves a blank line after every item; plain print does
    when some item takes more than one line (unless the layout says `blank: false`)."""
    groups = _flag_groups(menu, lay)
    blocks: list[list[str]] = []
    digits = _digits(rows)
    for row in rows:
        head = _prefix(row.number, groups, row.flags, digits)
        indent = lay.indent if lay.indent is not None else len(head)
        block = []
        if row.comment:
            block.append(head + ";;; " + row.comment)
            head = " " * len(head)
        shown = _shown(lay, row).items()
        pairs = (f"{lay.print_as.get(k, k)}={_print_value(menu, lay, k, v)}" for k, v in shown)
        block.extend(_wrap_pairs(head, indent, pairs, width))
        blocks.append(block)
    blank = detail or (lay.blank and any(len(b) > 1 for b in blocks))
    lines = _legend(menu, lay, width, version)
    for block in blocks:
        lines.extend(block)
        if blank:
            lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------- print


def print_table(menu: MenuLike, rows: Sequence[Row], *, width: int = 80, version: int = 6) -> str:
    """Plain `print`: a column table where the menu has one, else RouterOS's key=value item list."""
    lay = layout(menu.path, version)
    if menu.path == "/log":
        return "\n".join(_log_lines(rows))
    if lay.columns:
        return "\n".join(_table(menu, lay, rows, width, version))
    return "\n".join(_items(menu, lay, rows, width, detail=False, version=version))


def _log_lines(rows: Sequence[Row]) -> list[str]:
    """v6 `/log print`: no legend, no numbers: ` 00:01:16 system,info router rebooted`."""
    return [" ".join(("", r.values.get("time", ""), r.values.get("topics", ""), r.values.get("message", "")))
            for r in rows]


def print_detail(menu: MenuLike, rows: Sequence[Row], *, width: int = 80, version: int = 6) -> str:
    """`print detail`: every item as wrapped key=value words, a blank line after each."""
    return "\n".join(_items(menu, layout(menu.path, version), rows, width, detail=True, version=version))


def print_terse(menu: MenuLike, rows: Sequence[Row], *, version: int = 6) -> str:
    """`print terse`: one unwrapped line per item, values quoted only where export would quote them.

    No legend. The v6 prefix is the same "NN FLAGS " head as print (unverified: no v6 capture). v7 writes
    the bare number and the flags shown, one space each (`0 D address=...`, the harness-A1M terse captures;
    a row without flags is a guess: no capture shows one).
    """
    lay = layout(menu.path, version)
    groups = _flag_groups(menu, lay)
    lines = []
    for row in rows:
        words = [f"{lay.print_as.get(k, k)}={quote(v)}" for k, v in _shown(lay, row).items()]
        if row.comment:
            words.insert(0, f"comment={quote(row.comment)}")
        if version >= 7:
            head = " ".join(p for p in ("" if row.number is None else str(row.number), row.flags) if p)
            lines.append(head + " " + " ".join(words) if head else " ".join(words))
            continue
        lines.append(_prefix(row.number, groups, row.flags) + " ".join(words))
    return "\n".join(lines)


def print_as_value(menu: MenuLike, rows: Sequence[Row], *, version: int = 6) -> str:
    """`:put [print as-value]`: each item as `.id=*N` then its properties in alphabetical order, flags
    as `name=true|false` and yes/no fields as true/false (RouterOS's internal values); items and
    properties all joined by ";" on one line."""
    parts: list[str] = []
    for row in rows:
        props = {k: _as_value(menu, k, v) for k, v in row.values.items()}
        for flag in menu.flags:
            if flag.letter != "*":
                props[flag.name] = "true" if flag.letter in row.flags else "false"
            elif flag.letter in row.flags:
                props["default"] = "true"
        if row.comment:
            props["comment"] = row.comment
        if row.id is not None:
            parts.append(f".id=*{row.id:X}")
        parts.extend(f"{k}={props[k]}" for k in sorted(props))
    return ";".join(parts)


def as_value_items(menu: MenuLike, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """`print as-value` as the array RouterOS keeps internally: per item `.id`, then its properties in
    alphabetical order, typed: flags and yes/no fields booleans, whole numbers numbers, unset values None."""
    items: list[dict[str, Any]] = []
    for row in rows:
        props: dict[str, Any] = {}
        for k, v in row.values.items():
            text = _as_value(menu, k, v)
            props[k] = (text == "true") if text in ("true", "false") and text != v else _typed(text)
        for flag in menu.flags:
            if flag.letter != "*":
                props[flag.name] = flag.letter in row.flags
            else:
                props["default"] = flag.letter in row.flags
        if row.comment:
            props["comment"] = row.comment
        item: dict[str, Any] = {".id": format_id(row.id)} if row.id is not None else {}
        item.update((k, props[k]) for k in sorted(props))
        items.append(item)
    return items


def _typed(value: str) -> Any:
    """A console value as its script type: digits are a number, '' is unset (nil), the rest a string."""
    if value == "":
        return None
    if value.isdigit() and (value == "0" or not value.startswith("0")):
        return int(value)
    return value


def serialize_json(value: Any, string_conversion: bool = True) -> str:
    """v7 `:serialize to=json`, as help.mikrotik.com's Scripting page shows it: compact, keys in order,
    numbers as integers (`"replay":128`), unset values null; a string that looks like a number becomes a
    number with six decimals (`"1234"` -> `1234.000000`) unless `options=json.no-string-conversion`
    (`string_conversion=False`) keeps it a string."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(serialize_json(v, string_conversion) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(str(k), ensure_ascii=False)}:{serialize_json(v, string_conversion)}"
                 for k, v in value.items())
        return "{" + ",".join(pairs) + "}"
    text = str(value)
    if string_conversion and _NUMBER_LIKE.match(text):
        return f"{float(text):.6f}"
    return json.dumps(text, ensure_ascii=False)


_NUMBER_LIKE = re.compile(r"^-?\d+(\.\d+)?$")


def _as_value(menu: MenuLike, name: str, value: str) -> str:
    fld = menu.fields.get(name) if menu.fields else None
    if fld is not None and getattr(fld, "type", "") == "bool" and value in ("yes", "no"):
        return "true" if value == "yes" else "false"
    return value


def print_settings(menu: MenuLike | None, values: dict[str, str], *, width: int = 80) -> str:
    """A settings/state menu's print: names right-aligned on the longest, `  name: value`."""
    if not values:
        return ""
    pad = max(len(k) for k in values) + 2
    return "\n".join(f"{(k + ':').rjust(pad + 1)} {v}" for k, v in values.items())


# ---------------------------------------------------------------------------------------------- export


def export_header(header: ExportHeader) -> list[str]:
    """`# oct/18/2025 07:40:52 by RouterOS 6.49.19` and the id/model/serial lines ("#" when unknown).
    v7 dates are ISO (`# 2024-11-05 11:00:48 by RouterOS 7.16.1`, v7__export_eoip_ipsec_excerpt capture)."""
    when = header.when
    if header.version.split(".")[0].isdigit() and int(header.version.split(".")[0]) >= 7:
        stamp = f"{when:%Y-%m-%d %H:%M:%S}"
    else:
        stamp = f"{_MONTHS[when.month - 1]}/{when.day:02d}/{when.year} {when:%H:%M:%S}"
    return [
        f"# {stamp} by RouterOS {header.version}",
        f"# software id = {header.software_id}",
        "#",
        f"# model = {header.model}" if header.model else "#",
        f"# serial number = {header.serial}" if header.serial else "#",
    ]


def _export_words(line: ExportLine) -> list[tuple[str, str]]:
    """(key=, value) pieces of a line; v6 writes arguments in alphabetical order."""
    pieces: list[tuple[str, str]] = [(line.verb, "")]
    if line.find:
        pieces.append((line.find, ""))
    pieces.extend((f"{k}=", quote(v)) for k, v in sorted(line.args, key=lambda a: a[0]))
    return pieces


def _wrap_export(pieces: Sequence[tuple[str, str]], width: int) -> list[str]:
    """Fill lines up to width-2 columns and end broken ones with "\\": between words (" \\"), after a
    `key=` ("key=\\") or, for a value longer than a line, inside the value. A value counts the space that
    follows it. Continuation lines indent by 4."""
    limit = width - 2
    lines: list[str] = []
    line = ""

    def put(text: str, glue: str, tail: int) -> None:
        nonlocal line
        if not line.strip():
            line += text
        elif len(line) + len(glue) + len(text) + tail <= limit:
            line += glue + text
        else:
            lines.append(line + (" \\" if glue else "\\"))
            line = "    " + text
        while len(line) > limit:
            lines.append(line[:limit] + "\\")
            line = "    " + line[limit:]

    for i, (key, value) in enumerate(pieces):
        put(key, " ", 0)
        if value:
            put(value, "", 0 if i == len(pieces) - 1 else 1)
    lines.append(line)
    return lines


def export(
    sections: Sequence[tuple[str, Sequence[ExportLine]]],
    *,
    terse: bool = False,
    header: ExportHeader | None = None,
    width: int = 80,
) -> str:
    """`export` / `/path export [terse|verbose]`: header, then each non-empty section's lines."""
    out = export_header(header) if header is not None else []
    for path, lines in sections:
        if not lines:
            continue
        if not terse:
            out.append(path)
        for line in lines:
            pieces = _export_words(line)
            if terse:
                out.append(path + " " + " ".join(k + v for k, v in pieces))
            else:
                out.extend(_wrap_export(pieces, width))
    return "\n".join(out)
