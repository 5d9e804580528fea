"""What a command family may use of the console session running it, and the values statements return.

The engine's `Session` owns a login's state and routes each statement to a family (scripting, the generic
menu commands, print, export, registered handlers); the families are plain functions of this `Console`,
so none of them imports the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ikefleet.routeros.schema import Schema

from . import render
from .errors import CommandError
from .router import Router
from .syntax import Statement
from .where import col_error


@dataclass
class IdList:
    """What `[find ...]` returns: item ids, printed `*1;*2` by `:put`."""

    ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return ";".join(render.format_id(i) for i in self.ids)


class AsValue(str):
    """What `print as-value` returns: its console text (`.id=*1;address=...`), plus the typed items
    `:serialize` turns into JSON."""

    items: list[dict[str, Any]]

    def __new__(cls, text: str, items: list[dict[str, Any]]) -> AsValue:
        obj = super().__new__(cls, text)
        obj.items = items
        return obj


Result = str | IdList


class Console(Protocol):
    """A console login on a lab router, as its command families see it."""

    router: Router
    user: str
    width: int
    schema: Schema
    numbers: dict[str, list[int]]  # menu path -> item ids in the order its last print numbered them
    max_delay_s: float  # `:delay` sleeps at most this long
    busy_until: float  # a monitor-style command holds the console until this monotonic time

    def execute(self, line: str, refuse: tuple[str, str] | None = None) -> str: ...

    def statement(
        self, st: Statement, cwd: str, local: dict[str, str], top: bool = False
    ) -> tuple[str, Result]: ...

    def login(self, user: str, width: int = 80) -> Console:
        """Another console login on the same router (a script or an imported file runs in its own)."""
        ...


def col_err(kind: str, col: int, word: str = "") -> CommandError:
    """A RouterOS error at a column of the line; kind "bad" is `bad command name <word>`."""
    return col_error(f"bad command name {word}" if kind == "bad" else kind, col)


def pick(word: str, names: tuple[str, ...] | list[str]) -> str | None:
    """Exact name, else the single name `word` abbreviates; None when nothing (or too much) matches."""
    if word in names:
        return word
    hits = [n for n in names if n.startswith(word)] if word else []
    return hits[0] if len(hits) == 1 else None
