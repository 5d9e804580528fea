"""A router's problems told as one story: the first failing layer is the cause, the rest are its symptoms.

A cut WAN fails a dozen checks on the branch and on the hub; listed flat by check id, the cause is lost
among its effects. The layer order of checks.yaml (reachability, certificate, IKE, SAs, EoIP, OSPF, BFD,
routes, filters, settings) says what explains what, so the lowest failing layer is told first with its hint
and everything above it is folded under it. A hub result about a branch (`about`) is part of that branch's
story. Nothing is dropped: every problem is either a story's cause or one of its symptoms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

PROBLEMS = ("error", "fail", "warn")  # worst first, as engine.STATUSES


class Outcome(Protocol):
    """What a story reads of a check result (engine.CheckResult; the engine imports this module, not back)."""

    check: str
    title: str
    host: str
    status: str
    subject: str
    expected: str
    observed: str
    hint: str
    since: str
    layer: str
    about: str


@dataclass(frozen=True)
class Story:
    host: str  # the router the story is about ("fleet" for the fleet-wide checks)
    status: str  # the worst status among its results
    cause: Outcome
    symptoms: tuple[Outcome, ...]

    @property
    def layer(self) -> str:
        return self.cause.layer

    def to_json(self) -> dict[str, Any]:
        c = self.cause
        return {
            "status": self.status,
            "cause": {
                "layer": c.layer,
                "check": c.check,
                "host": c.host,
                "subject": c.subject,
                "status": c.status,
                "expected": c.expected,
                "observed": c.observed,
                "hint": c.hint,
                "since": c.since,
            },
            "symptoms": [
                {
                    "layer": s.layer,
                    "check": s.check,
                    "host": s.host,
                    "subject": s.subject,
                    "status": s.status,
                    "observed": s.observed,
                }
                for s in self.symptoms
            ],
        }


def tell(results: Iterable[Outcome], layers: Sequence[str]) -> list[Story]:
    """One story per router with a problem (error, fail or warn): worst routers first, the fleet last.

    The cause is a failure (a warning only when nothing failed) in the lowest layer, the router's own
    result before the hub's about it, then the checks.yaml order; the symptoms follow by layer."""
    rank = {name: i for i, name in enumerate(layers)}
    mine: dict[str, list[tuple[int, Outcome]]] = {}
    for index, r in enumerate(results):
        if r.status in PROBLEMS:
            mine.setdefault(r.about or r.host, []).append((index, r))
    stories = []
    for router, found in mine.items():

        def order(item: tuple[int, Outcome], router: str = router) -> tuple[int, bool, int]:
            index, r = item
            return rank.get(r.layer, len(rank)), r.host != router, index

        ordered = [r for _, r in sorted(found, key=order)]
        cause = next((r for r in ordered if r.status != "warn"), ordered[0])
        status = min((r.status for r in ordered), key=PROBLEMS.index)
        stories.append(Story(router, status, cause, tuple(r for r in ordered if r is not cause)))
    return sorted(stories, key=lambda s: (s.host == "fleet", PROBLEMS.index(s.status), s.host))
