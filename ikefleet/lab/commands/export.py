"""`export`: the `add`/`set` lines that rebuild a router's configuration (or one menu's) from its factory
state, in RouterOS's menu order and line wrapping; secrets hidden as each major version hides them.
"""

from __future__ import annotations

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import Menu

from .. import menus, render, scripting
from ..console import Console, Result, col_err, pick
from ..syntax import Token

EXPORT_WORDS = frozenset({"terse", "compact", "verbose", "hide-sensitive"})


def export_command(
    console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]
) -> tuple[str, Result]:
    """`export` inside a menu: that menu and the ones below it."""
    return export(console, menu.path, tokens, local), ""


def export(console: Console, path: str, tokens: list[Token], local: dict[str, str]) -> str:
    """`export [terse|compact|verbose|hide-sensitive|show-sensitive] [file=]` at `path` (`/`: everything)."""
    words: set[str] = set()
    file_name = ""
    # v7 hides secrets unless `show-sensitive`; v6 shows them unless `hide-sensitive` (and has no
    # show-sensitive).
    known = sorted(EXPORT_WORDS | ({"show-sensitive"} if console.schema.major >= 7 else set()))
    for token in tokens:
        if token.name == "file" and token.op == "=":
            file_name = str(scripting.evaluate(console, token.value, path, local))
        elif token.word is not None and pick(token.word, known):
            words.add(pick(token.word, known) or "")
        else:
            raise col_err("expected end of command", token.col)
    hide = "hide-sensitive" in words or (console.schema.major >= 7 and "show-sensitive" not in words)
    prefix = "" if path == "/" else path
    paths = [
        p for p in console.schema.export_order if p == path or p.startswith(prefix + " ") or path == "/"
    ]
    sections = [
        (p, export_lines(console, p, verbose="verbose" in words, hide=hide))
        for p in paths
    ]
    r = console.router
    header = render.ExportHeader(r.now(), r.spec.version, "", r.spec.model, "")
    text = render.export(sections, terse="terse" in words, header=header, width=console.width)
    if file_name:
        name = file_name if file_name.endswith(".rsc") else file_name + ".rsc"
        r.files.write(name, (text + "\n").encode())
        return ""
    return text


def export_lines(
    console: Console, path: str, verbose: bool = False, hide: bool = False
) -> list[render.ExportLine]:
    """The `add`/`set` lines that rebuild a menu from its factory state."""
    menu = console.schema.menu(path)
    if menu.kind == "state" or not menu.exported:
        return []
    lines: list[render.ExportLine] = []
    if menu.kind == "settings":
        item = (console.router.config.menus.get(path) or [Item(id=0)])[0]
        args = _export_args(console, menu, item, verbose, hide)
        return [render.ExportLine("set", args)] if args else []
    for n, item in enumerate(menus.items(console.router, path)):
        if item.dynamic:
            continue
        args = _export_args(console, menu, item, verbose, hide)
        if item.default and "name" in menu.fields:
            if args:
                lines.append(render.ExportLine("set", args, "[ find default=yes ]"))
        elif item.default:
            if args:
                lines.append(render.ExportLine("set", args, str(n)))
        elif item.values.get("builtin") == "yes":
            continue
        elif not menu.addable:
            key = "default-name" if "default-name" in menu.fields else "name"
            original = item.status.get(key) or item.values.get(key, "")
            if key == "default-name":
                args = tuple(a for a in args if a[0] != "default-name")
            if args:
                find = f"[ find default-name={original} ]" if key == "default-name" else original
                lines.append(render.ExportLine("set", args, find))
        else:
            lines.append(render.ExportLine("add", args))
    return lines


def _export_args(
    console: Console, menu: Menu, item: Item, verbose: bool, hide: bool
) -> tuple[tuple[str, str], ...]:
    """An item's `name=value` pairs as export writes them: what differs from its factory state or default."""
    args: list[tuple[str, str]] = []
    factory = _factory_values(console, menu, item)
    for name, fld in menu.fields.items():
        if fld.read_only:
            continue
        if hide and fld.secret:
            continue
        value = item.values.get(name)
        if value is None:
            if verbose and fld.default is not None:
                args.append((name, fld.default))
            continue
        if not verbose:
            if name in factory:
                if factory[name] == value:
                    continue
            elif value == fld.default and not fld.always:
                continue
        if menu.path == "/ip address" and name == "address" and value.endswith("/32"):
            value = value[:-3]  # v6 exports host addresses without their /32
        args.append((name, value))
    if item.comment:
        args.append(("comment", item.comment))
    if item.disabled:
        args.append(("disabled", "yes"))
    elif verbose and any(f.name == "disabled" for f in menu.flags):
        args.append(("disabled", "no"))
    return tuple(args)


def _factory_values(console: Console, menu: Menu, item: Item) -> dict[str, str]:
    """Values a factory item started with (not exported: `set` lists only what changed).

    Default items cannot be removed, so the n-th default item is the n-th `default` factory entry.
    """
    if item.default:
        defaults = [i for i in menus.items(console.router, menu.path) if i.default]
        specs = [s for s in menu.factory if s.get("default") == "yes"]
        index = defaults.index(item)
        return {k: v for k, v in specs[index].items() if k != "default"} if index < len(specs) else {}
    if not menu.addable:
        original = item.values.get("default-name")
        if original:
            return {"name": original}
        name = item.values.get("name")
        return next(({k: v for k, v in s.items()} for s in menu.factory if s.get("name") == name), {})
    return {}
