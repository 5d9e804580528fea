"""A console statement that calls a menu-specific handler registered in `commands.HANDLERS`
(`/certificate sign`, `/system backup save`, ...): its words bound to named arguments and target items,
the router told when the handler changed its menu, and a `do={...}` block run after it.
"""

from __future__ import annotations

from typing import Any

from ikefleet.routeros.config import Item

from .. import menus, scripting
from ..console import Console, Result, col_err
from ..router import Router
from ..syntax import Token, Value, tokenize
from . import Context, Handler

# Commands whose bare words are all flags (a list menu's other commands take a target first).
FLAG_ONLY_COMMANDS = frozenset({"print", "save", "monitor", "load"})


def _menu_snapshot(router: Router, path: str) -> tuple[int, list[dict[str, Any]]]:
    """What a handler may change: its own menu (a script's lines report their own changes). The whole
    configuration was copied twice per command before, a hub's thousand certificates included."""
    items = router.config.menus.get(path, [])
    return router.config.next_id, [i.to_json() for i in items if not i.dynamic]


def call(
    console: Console, path: str, command: str, handler: Handler, tokens: list[Token], local: dict[str, str]
) -> tuple[str, Result]:
    """Run `handler` for `command` in menu `path` with the statement's arguments; its text is both the
    statement's output and its value."""
    args: dict[str, str] = {}
    targets: list[Item] = []
    menu = console.schema.menus.get(path)
    for n, token in enumerate(tokens):
        if token.name is None:
            word = token.word
            takes_target = command not in FLAG_ONLY_COMMANDS and menu is not None and menu.kind == "list"
            is_flag = not takes_target or n > 0
            if word is not None and is_flag and not word[:1].isdigit() and not word.startswith("*"):
                args[word] = ""
                continue
            if menu is not None and menu.kind != "settings" and not targets:
                targets = menus.targets(console, menu, scripting.evaluate(console, token.value, path, local))
                continue
            if word is not None:
                args[word] = ""
                continue
            raise col_err("expected end of command", token.col)
        if token.name == "numbers" and menu is not None:
            targets = menus.targets(console, menu, scripting.evaluate(console, token.value, path, local))
            continue
        args[token.name] = str(scripting.evaluate(console, token.value, path, local))
    router = console.router
    before = _menu_snapshot(router, path)
    now = router.now()
    ctx = Context(router=router, path=path, now=now, timed=True, login=console.login)
    out = handler(ctx, args, targets)
    console.busy_until = max(console.busy_until, ctx.wait_until)
    if _menu_snapshot(router, path) != before:
        router.changed()
    if "do" in args and args["do"].strip():
        block = Value("block", 1, (), args["do"], 1)
        for st in tokenize(block.source):
            console.statement(st, path, dict(local))
    return out, out
