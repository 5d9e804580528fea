"""A router's menus as the console reads them: the items of a menu (views such as `/interface` or `/file`
included), the values and flags print shows, and the items a command names (numbers from the last print,
`*1A` ids, names or a `[find]` result). Every command family reads items through here, so a view is built
in one place.
"""

from __future__ import annotations

import importlib
import re
from types import MethodType, ModuleType

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import Flag, Menu, ValueProblem, normalize_value

from . import render, scripting, system_menus, where_index
from .console import Console, IdList, Result
from .errors import CommandError
from .router import Router
from .syntax import Token, Value
from .where import Test, compile_where, narrowing, parse_where

INTERFACE_MENUS = (
    "/interface ethernet",
    "/interface bridge",
    "/interface eoip",
    "/interface bonding",
    "/interface vlan",
)
INTERFACE_TYPES = {
    "/interface ethernet": "ether",
    "/interface bridge": "bridge",
    "/interface eoip": "eoip-tunnel",
    "/interface bonding": "bond",
    "/interface vlan": "vlan",
}


def optional(name: str) -> ModuleType | None:
    """A lab module another engineer owns, or None while it does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def item_id(item: Item) -> str:
    return render.format_id(item.id)


def items(router: Router, path: str) -> list[Item]:
    """Items of a menu; `/interface` is the union of the typed interface menus."""
    if path == "/interface":
        return [i for p in INTERFACE_MENUS for i in router.config.menus.get(p, [])]
    if path == "/file":
        return system_menus.file_items(router)
    if path == "/log":
        return system_menus.log_items(router)
    if path == "/user active":
        return system_menus.active_items(router)
    return router.config.items(path)


def menu_of(router: Router, path: str, item: Item) -> str:
    """The menu that stores `item` (a typed interface menu for an `/interface` item)."""
    if path != "/interface":
        return path
    return next(p for p in INTERFACE_MENUS if item in router.config.menus.get(p, []))


def effective(router: Router, menu: Menu, item: Item, show_secret: bool = True) -> dict[str, str]:
    """Field values as print detail shows them: set values, then status, then defaults."""
    values: dict[str, str] = {}
    for name, fld in menu.fields.items():
        if fld.secret and not show_secret:
            continue
        value = effective_value(router, menu, item, name)
        if value is not None:
            values[name] = value
    return values


def effective_value(router: Router, menu: Menu, item: Item, name: str) -> str | None:
    """One field of `effective` (None where print detail shows nothing): a `where` names one or two
    fields of each item, and working out all of them for every route of a large table is the cost."""
    fld = menu.fields.get(name)
    if fld is None or (fld.read_only and any(f.name == name for f in menu.flags)):
        return None
    if name in item.values:
        return item.values[name]
    if name in item.status:
        return item.status[name]
    if name == "type" and menu.path == "/interface":
        return INTERFACE_TYPES.get(menu_of(router, menu.path, item), "")
    return fld.default


def flags(router: Router, menu: Menu, item: Item) -> str:
    """The flag letters print shows for an item."""
    if menu.path == "/certificate":
        certificates = optional("ikefleet.lab.certificates")
        if certificates is not None:
            return str(certificates.cert_flags(item, router.now()))
    return "".join(f.letter for f in menu.flags if _flag_set(item, f))


def has_flag(router: Router, menu: Menu, item: Item, flag: Flag) -> bool:
    """`flag.letter in flags(menu, item)`, without working out every other flag of the item."""
    if menu.path == "/certificate":
        return flag.letter in flags(router, menu, item)
    return _flag_set(item, flag)


def _flag_set(item: Item, flag: Flag) -> bool:
    """One flag of an item: its letter in the computed status, its attribute, or its property `yes`."""
    if flag.letter in item.status.get("flags", ""):
        return True
    if flag.name in ("disabled", "dynamic", "default") and getattr(item, flag.name, None):
        return True
    return item.values.get(flag.name, item.status.get(flag.name)) in ("yes", "true")


def normal(menu: Menu, name: str, raw: str) -> str:
    """A `where` value in the form the item holds it (`yes` for `true`, `1s` for `1000ms`)."""
    fld = menu.fields.get(name)
    if fld is None or fld.type in ("ref", "str", "name", "text"):
        return raw
    try:
        return normalize_value(fld, raw)
    except ValueProblem:
        return raw


def refresh(router: Router, menu: Menu) -> None:
    """Operational state of `menu` current before it is read (print, find)."""
    if router.refresh_state is not None:
        router.refresh_state(router, menu.path)


def settings_item(router: Router, menu: Menu, create: bool = True) -> Item:
    """The one item of a settings menu; created on first change (reading leaves config alone)."""
    stored = router.config.menus.get(menu.path) or []
    if not stored and not create:
        return Item(id=0)
    stored = router.config.items(menu.path)
    if not stored:
        stored.append(Item(id=router.config.next_id))
        router.config.next_id += 1
    return stored[0]


def targets(console: Console, menu: Menu, value: Result) -> list[Item]:
    """Items named by numbers from the last print, ids (`*1A`), names, or a `[find]` result."""
    listed = items(console.router, menu.path)
    by_id = {i.id: i for i in listed}
    if isinstance(value, IdList):
        return [by_id[i] for i in value.ids if i in by_id]
    found: list[Item] = []
    for word in [w for w in value.replace(";", ",").split(",") if w]:
        if word.startswith("*"):
            try:
                found.append(by_id[int(word[1:], 16)])
            except (ValueError, KeyError):
                raise CommandError("no such item") from None
            continue
        if re.fullmatch(r"\d+(-\d+)?", word):
            numbers = console.numbers.get(menu.path, [i.id for i in listed])
            lo, _, hi = word.partition("-")
            for n in range(int(lo), int(hi or lo) + 1):
                if n >= len(numbers) or numbers[n] not in by_id:
                    raise CommandError("no such item")
                found.append(by_id[numbers[n]])
            continue
        named = [i for i in listed if i.values.get("name") == word]
        if not named:
            raise CommandError("no such item")
        found.extend(named)
    return found


class _WhereReader:
    """What a `where` test reads through the console (`where.Console`). The item readers are this module's
    functions bound to the router as methods: a route read calls them for every route of a fleet-sized
    table, where a wrapper method (a second Python call) or a partial cost ~7% (bench/console_bench.py)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.effective_value = MethodType(effective_value, console.router)
        self.has_flag = MethodType(has_flag, console.router)
        self.normal = normal

    def resolve(self, value: Value | None, menu: Menu, local: dict[str, str]) -> str:
        """A `where` condition's right-hand side, as text."""
        return str(scripting.evaluate(self.console, value, menu.path, local))


def matching(console: Console, menu: Menu, expr: list[Token], local: dict[str, str]) -> Test:
    """The test of one item against `where <expr>` (compiled once per command, see `where`)."""
    return compile_where(parse_where(expr), menu, _WhereReader(console), local)


def selected(console: Console, menu: Menu, expr: list[Token], local: dict[str, str], listed: list[Item]
             ) -> list[Item]:
    """The items of `listed` that pass `where <expr>`, in order. The expression is parsed once; only the
    items it can pass are tested (`where_index`)."""
    reader = _WhereReader(console)
    tree = parse_where(expr)
    test = compile_where(tree, menu, reader, local)
    narrow = narrowing(tree, menu, reader, local)
    if narrow is not None:
        router = console.router
        listed = where_index.candidates(router, menu.path, listed, *narrow,
                                        lambda item, name: effective_value(router, menu, item, name))
    return [item for item in listed if test(item)]

