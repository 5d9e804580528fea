"""Registry of menu-specific console commands (`/certificate sign`, `/system backup save`, ...).

Generic commands (add, set, remove, print, export, ...) come from the menu schema; a menu whose commands do
more than store values registers a handler here. Safe-mode undo snapshots the whole configuration, so
handlers just change `ctx.router.config` and need no undo bookkeeping of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ikefleet.routeros.config import Item

from ..router import Router


class LineRunner(Protocol):
    """A console login a handler may open to run script lines (`/system script run`)."""

    def execute(self, line: str, refuse: tuple[str, str] | None = None) -> str: ...


@dataclass
class Context:
    """What a handler may use: the router, the menu path it runs in, and the router's clock.

    `timed`: the console runs the command, so work that takes time on a real router takes (scaled) time
    here (`Router.work`); a direct handler call (unit tests of the crypto) finishes at once. A monitor-style
    command that must hold the console until its work ends sets `wait_until` (monotonic seconds). `login`
    opens another console login on the router for a user (the console passes it; a direct call has none)."""

    router: Router
    path: str
    now: datetime
    timed: bool = False
    wait_until: float = 0.0
    login: Callable[[str], LineRunner] | None = None


# (ctx, named arguments, target items resolved from positional numbers/names/[find]) -> output text
Handler = Callable[[Context, dict[str, str], list[Item]], str]

HANDLERS: dict[tuple[str, str], Handler] = {}


def handler(path: str, command: str) -> Callable[[Handler], Handler]:
    """Register `func` as the implementation of `command` in menu `path` (export-style path)."""

    def register(func: Handler) -> Handler:
        HANDLERS[(path, command)] = func
        return func

    return register
