"""Rollout waves: the hub alone, a canary wave, then waves of a set size; and the --max-fail budget.

Pure functions, so the wave plan of a run is known (and printed) before the first router is touched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_AMOUNT = re.compile(r"^(?P<n>\d+)(?P<pct>%?)$")


@dataclass(frozen=True)
class Amount:
    """A count (`5`) or a percentage (`20%`) as given on the command line."""

    value: int
    percent: bool

    @classmethod
    def parse(cls, text: str, *, option: str) -> Amount:
        match = _AMOUNT.match(text.strip())
        if not match:
            raise ValueError(f"{option}: {text!r} is neither a count (e.g. 5) nor a percentage (e.g. 20%)")
        value = int(match["n"])
        percent = bool(match["pct"])
        if percent and value > 100:
            raise ValueError(f"{option}: {text!r} is more than 100%")
        return cls(value, percent)

    def of(self, total: int) -> int:
        """This amount of `total` hosts: percentages round up so 10% of 5 hosts is one host, not none."""
        if not self.percent:
            return self.value
        return math.ceil(total * self.value / 100)

    def __str__(self) -> str:
        return f"{self.value}{'%' if self.percent else ''}"


def plan_waves(branches: list[str], *, canary: int, wave_size: Amount) -> list[list[str]]:
    """Split branches (in inventory order) into a canary wave then waves of `wave_size` hosts each."""
    if not branches:
        return []
    waves: list[list[str]] = []
    rest = list(branches)
    if canary > 0:
        waves.append(rest[:canary])
        rest = rest[canary:]
    size = max(1, wave_size.of(len(branches)))
    waves.extend(rest[i : i + size] for i in range(0, len(rest), size))
    return waves


def over_budget(failed: int, total: int, max_fail: Amount | None) -> bool:
    """True when the run has failed on more hosts than --max-fail allows (None: no limit)."""
    if max_fail is None:
        return False
    return failed > max_fail.of(total)
