"""Rollout waves: the hub alone, a canary wave, then waves of a set size; and the --max-fail budget.

Pure functions, so the wave plan of a run is known (and printed) before the first router is touched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
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


def plan_waves(
    branches: list[str], *, canary: int, wave_size: Amount, first: Sequence[str] = ()
) -> list[list[str]]:
    """Split branches into a canary wave then waves of `wave_size` hosts each. `first`: the branches this
    run changes, new ones first: they lead, and the canary holds only them (up to `canary`), since a
    canary that changes nothing proves nothing. Without any, the canary is the first `canary` branches."""
    if not branches:
        return []
    leading = list(dict.fromkeys(b for b in first if b in branches))
    rest = leading + [b for b in branches if b not in set(leading)]
    waves: list[list[str]] = []
    if canary > 0:
        size = min(canary, len(leading)) if leading else canary
        waves.append(rest[:size])
        rest = rest[size:]
    size = max(1, wave_size.of(len(branches)))
    waves.extend(rest[i : i + size] for i in range(0, len(rest), size))
    return waves


def over_budget(failed: int, total: int, max_fail: Amount | None) -> bool:
    """True when the run has failed on more hosts than --max-fail allows (None, not given: no failure is
    allowed, so a failed canary or gate stops the later waves)."""
    return failed > (0 if max_fail is None else max_fail.of(total))
