"""`print`: a menu's items as RouterOS shows them (table, detail, terse, as-value, count-only, settings),
filtered by `where` and `from=`, optionally into a file. The layouts are `render`'s, built from real
captures.
"""

from __future__ import annotations

from ikefleet.routeros.schema import Menu
from ikefleet.routeros.versions import has

from .. import menus, render
from ..console import AsValue, Console, Result, col_err
from ..syntax import Token
from . import menu as generic

# Bare words print accepts (RouterOS "unnamed" flags).
PRINT_WORDS = frozenset(
    {"detail", "terse", "brief", "count-only", "without-paging", "as-value", "value-list", "stats", "follow",
     "interval", "oid", "show-ids", "proplist", "from", "file", "where"}
)  # fmt: skip


def print_command(
    console: Console, menu: Menu, tokens: list[Token], local: dict[str, str]
) -> tuple[str, Result]:
    """`print [detail|terse|as-value|count-only] [from=] [file=] [where ...]`; numbers the rows for the
    commands that follow (`set 0 ...`)."""
    where: list[Token] = []
    for n, token in enumerate(tokens):
        if token.word == "where":
            tokens, where = tokens[:n], tokens[n + 1 :]
            break
    # 7.21+ print hides sensitive values unless `show-sensitive` (7.21 changelog; RAML 7.20.8 -> 7.21)
    sensitive = has(console.router.spec.version, "show-sensitive")
    known = PRINT_WORDS | {"show-sensitive"} if sensitive else PRINT_WORDS
    positional, named, words = generic.split(console, menu, tokens, local, known)
    if positional:
        raise col_err("expected end of command", positional[0][0].col)
    for token, _ in named.values():
        if token.name not in ("file", "from", "proplist", "interval", "value-list"):
            raise col_err("expected end of command", token.col)
    show = not sensitive or "show-sensitive" in words
    menus.refresh(console.router, menu)
    if menu.kind == "settings":
        item = menus.settings_item(console.router, menu, create=False)
        values = menus.effective(console.router, menu, item, show)
        text = render.print_settings(menu, values, width=console.width)
        return _print_out(console, text, named), ""
    if menu.path == "/certificate":
        certificates = menus.optional("ikefleet.lab.certificates")
        if certificates is not None:
            certificates.refresh_status(console.router)
    items = menus.selected(console, menu, where, local, menus.items(console.router, menu.path))
    if "from" in named:
        wanted = {i.id for i in menus.targets(console, menu, named["from"][1])}
        items = [i for i in items if i.id in wanted]
    if "count-only" in words:
        return str(len(items)), str(len(items))
    # v7 numbers only the configured routes ("0   AS" under unnumbered "DAC" rows, v7 capture)
    skip = render.layout(menu.path, console.schema.major).unnumbered_dynamic
    numbered = [i for i in items if not (skip and i.dynamic)]
    console.numbers[menu.path] = [i.id for i in numbered]
    number = {i.id: n for n, i in enumerate(numbered)}
    r = console.router
    rows = [
        render.Row(
            number.get(i.id), menus.effective(r, menu, i, show), menus.flags(r, menu, i), i.comment, i.id
        )
        for i in items
    ]
    if "as-value" in words:
        text = render.print_as_value(menu, rows, version=console.schema.major)
        return text, AsValue(text, render.as_value_items(menu, rows))
    if "terse" in words:
        text = render.print_terse(menu, rows, version=console.schema.major)
    elif "detail" in words:
        text = render.print_detail(menu, rows, width=console.width, version=console.schema.major)
    else:
        text = render.print_table(menu, rows, width=console.width, version=console.schema.major)
    return _print_out(console, text, named), ""


def _print_out(console: Console, text: str, named: dict[str, tuple[Token, Result]]) -> str:
    """The print on the console, or (`file=`) into a .txt file and nothing on the console."""
    if "file" in named:
        name = str(named["file"][1])
        console.router.files.write(name if name.endswith(".txt") else name + ".txt", (text + "\n").encode())
        return ""
    return text

# export -------------------------------------------------------------------------------------------
