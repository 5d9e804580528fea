"""The generic commands every list and settings menu has (add, set, unset, remove, enable, disable,
comment, move, get, find, edit), from the menu schema, and the argument parsing they share with print.

A value is checked and normalised as RouterOS stores it (`ikefleet.routeros.schema.normalize_value`);
references must name an existing item; a rename follows the item wherever it is referenced.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import Field, Menu, ValueProblem, normalize_value
from ikefleet.routeros.versions import version_tuple

from .. import menus, scripting, system_menus
from ..console import Console, IdList, Result, col_err, pick
from ..errors import CommandError
from ..syntax import Token


def split(
    console: Console,
    menu: Menu,
    tokens: list[Token],
    local: dict[str, str],
    words: frozenset[str] = frozenset(),
) -> tuple[list[tuple[Token, Result]], dict[str, tuple[Token, Result]], set[str]]:
    """A command's arguments: positional values, `name=value` pairs and the bare `words` it accepts."""
    positional: list[tuple[Token, Result]] = []
    named: dict[str, tuple[Token, Result]] = {}
    flags: set[str] = set()
    for token in tokens:
        if token.name is not None:
            if token.op != "=":
                raise col_err("expected end of command", token.col)
            named[token.name] = (token, scripting.evaluate(console, token.value, menu.path, local))
        elif token.word is not None and pick(token.word, sorted(words)):
            flags.add(pick(token.word, sorted(words)) or "")
        else:
            positional.append((token, scripting.evaluate(console, token.value, menu.path, local)))
    return positional, named, flags


def _arg_field(console: Console, menu: Menu, token: Token, extra: tuple[str, ...] = ()) -> str:
    version = version_tuple(console.router.spec.version)
    names = [n for n, f in menu.fields.items()
             if not f.read_only and (not f.since or version >= version_tuple(f.since))] + list(extra)
    if menu.kind == "list":
        names += ["comment"]
        if any(f.name == "disabled" for f in menu.flags):
            names += ["disabled"]
    name = pick(token.name or "", names)
    if name is None:
        raise col_err("expected end of command", token.col)
    return name


def _convert(console: Console, menu: Menu, name: str, raw: Result) -> str:
    if name == "comment":
        return str(raw)
    if name == "disabled":
        return normalize_value(Field("disabled", "bool", "no"), str(raw))
    fld = menu.fields[name]
    text = str(raw)
    try:
        value = normalize_value(fld, text)
    except ValueProblem as exc:
        raise CommandError(exc.text(name)) from None
    is_ref = fld.type in ("ref", "enum-or-ref") and fld.ref and value not in fld.values
    if is_ref and not _ref_exists(console, fld.ref or "", value.lstrip("!")):
        raise CommandError(f"input does not match any value of {name}")
    if fld.type == "ref-list" and fld.ref:
        for part in value.split(","):
            if part and not _ref_exists(console, fld.ref, part):
                raise CommandError(f"input does not match any value of {name}")
    return value


def _ref_exists(console: Console, ref: str, name: str) -> bool:
    key = "interface" if ref in ("/routing bfd interface",) else "name"
    return any(i.values.get(key) == name for i in menus.items(console.router, ref))


def _apply(menu: Menu, item: Item, values: dict[str, str]) -> None:
    for name, value in values.items():
        if name == "disabled":
            item.disabled = value == "yes"
        elif name == "comment":
            item.comment = value
        else:
            item.values[name] = value


def _check_unique(console: Console, menu: Menu, item: Item, items: list[Item]) -> None:
    name = item.values.get("name")
    if menu.path in menus.INTERFACE_MENUS and name is not None:
        # Interface names are unique across every kind of interface.
        others = (o for o in menus.items(console.router, "/interface") if o is not item)
        if any(o.values.get("name") == name for o in others):
            raise CommandError("failure: already have interface with such name")
    for fields in menu.unique:
        mine = tuple(menus.effective(console.router, menu, item).get(f, "") for f in fields)
        for other in items:
            if other is item or other.dynamic:
                continue
            if tuple(menus.effective(console.router, menu, other).get(f, "") for f in fields) == mine:
                raise CommandError(menu.duplicate_error)


def _add(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    if menu.kind != "list" or not menu.addable:
        raise col_err("bad", tokens[0].col if tokens else 1, "add")
    positional, named, _ = split(console, menu, tokens, local)
    if positional:
        raise col_err("expected end of command", positional[0][0].col)
    values: dict[str, str] = {}
    base: Item | None = None
    before: int | None = None
    for token, raw in named.values():
        name = _arg_field(console, menu, token, ("place-before", "copy-from"))
        if name == "copy-from":
            found = menus.targets(console, menu, raw)
            if not found:
                raise CommandError("no such item")
            base = found[0]
        elif name == "place-before":
            found = menus.targets(console, menu, raw)
            if not found:
                raise CommandError("no such item")
            before = menus.items(console.router, menu.path).index(found[0])
        else:
            values[name] = _convert(console, menu, name, raw)
    if base is not None:
        copied = {
            k: v
            for k, v in base.values.items()
            if not menu.fields.get(k, Field(k, "str", None)).read_only
        }
        values = {**copied, **values}
        if "comment" not in values and base.comment:
            values["comment"] = base.comment
    for name, fld in menu.fields.items():
        if fld.required and name not in values:
            raise CommandError(f"failure: {name} not specified")
        if fld.always and name not in values and fld.default is not None:
            values[name] = fld.default
        if fld.auto_name and not values.get(name):
            taken = {i.values.get(name) for i in menus.items(console.router, menu.path)}
            values[name] = next(
                f"{fld.auto_name}{n}" for n in range(1, 10**6) if f"{fld.auto_name}{n}" not in taken
            )
    item = Item(id=console.router.config.next_id)
    _apply(menu, item, values)
    _derive(menu, item)
    items = menus.items(console.router, menu.path)
    _check_unique(console, menu, item, items)
    console.router.config.next_id += 1
    stored = console.router.config.items(menu.path)
    if before is not None:
        stored.insert(stored.index(items[before]) if items[before] in stored else 0, item)
    else:
        stored.append(item)
    console.router.changed()
    return "", menus.item_id(item)


def _derive(menu: Menu, item: Item) -> None:
    """Values RouterOS fills in itself (an address's network)."""
    if menu.path == "/ip address" and "address" in item.values and "network" not in item.values:
        iface = ipaddress.ip_interface(item.values["address"])
        item.values["network"] = str(iface.network.network_address)


def _modify(
    console: Console, menu: Menu, tokens: list[Token], local: dict[str, str], command: str
) -> tuple[list[Item], dict[str, tuple[Token, Result]], list[tuple[Token, Result]]]:
    positional, named, _ = split(console, menu, tokens, local)
    targets: list[Item] = []
    if "numbers" in named:
        targets = menus.targets(console, menu, named.pop("numbers")[1])
    elif menu.kind == "list" or command not in ("set", "unset", "get", "edit"):
        if not positional:  # RouterOS would prompt for `numbers:`; the lab cannot
            raise CommandError("no such item")
        targets = menus.targets(console, menu, positional.pop(0)[1])
    return targets, named, positional


def _set(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    if menu.kind == "state":
        raise col_err("bad", 1, "set")
    targets, named, positional = _modify(console, menu, tokens, local, "set")
    if positional:
        raise col_err("expected end of command", positional[0][0].col)
    values = {}
    for token, raw in named.values():
        name = _arg_field(console, menu, token)
        values[name] = _convert(console, menu, name, raw)
    if menu.kind == "settings":
        targets = [menus.settings_item(console.router, menu)]
    for item in targets:
        if item.dynamic:
            raise CommandError("failure: can not change dynamic")
    for item in targets:
        old = (dict(item.values), item.disabled, item.comment)
        _apply(menu, item, values)
        try:
            _check_unique(console, menu, item, menus.items(console.router, menu.path))
        except CommandError:
            item.values, item.disabled, item.comment = old
            raise
        if "name" in values and old[0].get("name") not in (None, values["name"]):
            path = menus.menu_of(console.router, menu.path, item)
            _rename_references(console, path, old[0]["name"], values["name"])
    if targets and values:
        console.router.changed()
    return "", ""


def _rename_references(console: Console, path: str, old: str, new: str) -> None:
    """RouterOS links items by id, so a rename shows up wherever the item is referenced."""
    targets = {path, "/interface"} if path in menus.INTERFACE_MENUS else {path}
    for other in console.schema.menus.values():
        for fld in other.fields.values():
            if fld.ref not in targets or fld.type not in ("ref", "ref-list", "enum-or-ref"):
                continue
            for item in console.router.config.menus.get(other.path, []):
                value = item.values.get(fld.name)
                if value is None:
                    continue
                parts = value.split(",") if fld.type == "ref-list" else [value]
                renamed = [
                    ("!" if p.startswith("!") else "") + new if p.lstrip("!") == old else p for p in parts
                ]
                item.values[fld.name] = ",".join(renamed)


def _unset(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    targets, named, positional = _modify(console, menu, tokens, local, "unset")
    if menu.kind == "settings":
        targets = [menus.settings_item(console.router, menu)]
    fields = [_arg_field(console, menu, t) for t, _ in named.values()]
    fields += [_arg_field(console, menu, Token(t.col, None, t.word or "")) for t, _ in positional]
    for item in targets:
        for name in fields:
            item.values.pop(name, None)
    console.router.changed()
    return "", ""


def _remove(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    targets, named, positional = _modify(console, menu, tokens, local, "remove")
    if named or positional:
        token = (list(named.values()) + positional)[0][0]
        raise col_err("expected end of command", token.col)
    for item in targets:
        if item.default or item.values.get("builtin") == "yes":
            raise CommandError(menu.default_remove_error)
        if item.dynamic and menu.kind != "state":
            raise CommandError("failure: can not remove dynamic item")
    if menu.path == "/file":
        for item in targets:
            console.router.files.remove(item.values["name"])
        return "", ""
    for item in targets:
        path = menus.menu_of(console.router, menu.path, item)
        stored = console.router.config.items(path)
        if item in stored:
            stored.remove(item)
    if targets:
        console.router.changed()
    return "", ""


def _flag_cmd(
    console: Console, menu: Menu, tokens: list[Token], local: dict[str, str], disabled: bool
) -> tuple[str, Result]:
    targets, named, positional = _modify(console, menu, tokens, local, "enable")
    if named or positional:
        raise col_err("expected end of command", (list(named.values()) + positional)[0][0].col)
    for item in targets:
        item.disabled = disabled
    if targets:
        console.router.changed()
    return "", ""


def _enable(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    return _flag_cmd(console, menu, tokens, local, False)


def _disable(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    return _flag_cmd(console, menu, tokens, local, True)


def _comment(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    targets, named, positional = _modify(console, menu, tokens, local, "comment")
    if "comment" in named:
        text = str(named["comment"][1])
    elif positional:
        text = str(positional[0][1])
    else:
        text = ""
    for item in targets:
        item.comment = text
    console.router.changed()
    return "", ""


def _move(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    targets, named, positional = _modify(console, menu, tokens, local, "move")
    stored = console.router.config.items(menu.path)
    dest_raw = (
        named["destination"][1] if "destination" in named else (positional[0][1] if positional else None)
    )
    for token, _ in [v for k, v in named.items() if k != "destination"] + positional[1:]:
        raise col_err("expected end of command", token.col)
    dest = None
    if dest_raw not in (None, ""):
        found = menus.targets(console, menu, dest_raw)
        if not found:
            raise CommandError("no such item")
        dest = found[0]
    if any(item not in stored for item in targets) or (dest is not None and dest not in stored):
        raise CommandError("no such item")  # /interface is a view: its items live in the typed menus
    for item in targets:
        stored.remove(item)
    index = stored.index(dest) if dest is not None and dest in stored else len(stored)
    for offset, item in enumerate(targets):
        stored.insert(index + offset, item)
    console.router.changed()
    return "", ""


def _get(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    positional, named, _ = split(console, menu, tokens, local)
    if menu.kind == "list":
        if not positional:
            raise CommandError("no such item")
        targets = menus.targets(console, menu, positional.pop(0)[1])
        if not targets:
            raise CommandError("no such item")
        item = targets[0]
    else:
        settings = menu.kind == "settings"
        item = menus.settings_item(console.router, menu, create=False) if settings else Item(id=0)
    values = menus.effective(console.router, menu, item)
    if menu.kind != "list" and menu.path in system_menus.STATE_VALUES:
        values = system_menus.STATE_VALUES[menu.path](console.router, console.router.now())
    if "value-name" in named:
        positional.append(named["value-name"])
    if not positional:
        return "", ";".join(f"{k}={v}" for k, v in values.items())
    name = str(positional[0][1])
    if name == "comment":
        return "", item.comment
    if name == "disabled":
        return "", "true" if item.disabled else "false"
    if name == ".id":
        return "", menus.item_id(item)
    if name not in menu.fields and name not in values:
        raise CommandError("input does not match any value of value-name")
    value = values.get(name, "")
    if name in menu.fields and menu.fields[name].type == "bool" and value in ("yes", "no"):
        value = "true" if value == "yes" else "false"
    return "", value


def _find(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    """`find [where] ...`: the ids of the matching items (an `IdList`), state made current first."""
    if tokens and tokens[0].word == "where":
        tokens = tokens[1:]
    menus.refresh(console.router, menu)
    matches = menus.matching(console, menu, tokens, local)
    return "", IdList([i.id for i in menus.items(console.router, menu.path) if matches(i)])


def _edit(console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
    # The interactive editor needs a full-screen terminal the lab does not emulate.
    raise CommandError("failure: interactive editor is not available in this console, use set")


Command = Callable[[Console, Menu, list[Token], dict[str, str]], tuple[str, Result]]
COMMANDS: dict[str, Command] = {
    "add": _add,
    "set": _set,
    "unset": _unset,
    "remove": _remove,
    "enable": _enable,
    "disable": _disable,
    "comment": _comment,
    "move": _move,
    "get": _get,
    "find": _find,
    "edit": _edit,
}
