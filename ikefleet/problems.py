"""What is wrong with an input and how to fix it: the error type every input check raises.

Kept apart from the checks themselves so that the modules which read settings (inventory, connection
policy, secrets) can all raise it without importing each other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

FLEET = "-"  # host column for fleet-wide problems


@dataclass(frozen=True)
class Problem:
    """One inventory error: where it is, what is wrong, how to fix it."""

    source: str  # file the value came from, e.g. "inventory/hosts.yaml"
    host: str  # host or group name; FLEET for fleet-wide settings
    field: str  # dotted key, e.g. "crypto.proposal.pfs_group"
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.source}: {self.host}: {self.field}: {self.message}. Fix: {self.fix}"


class InventoryError(Exception):
    """The inventory cannot be used; `problems` lists every reason (CLI exit code 2)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def suggest(key: str, valid: Iterable[str]) -> str:
    """'did you mean X?' for a mistyped key, or the list of valid keys."""
    valid = sorted(valid)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"rename it to '{close[0]}' (did you mean '{close[0]}'?)"
    return f"remove it; valid keys here: {', '.join(valid)}"
