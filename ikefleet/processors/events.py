"""Progress as data: what a run reports while it works, one small frozen dataclass per event. Runbooks and
processors produce them, a renderer (terminal, plain lines, nothing) shows them, so no runbook knows what a
terminal is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunStarted:
    """A run begins: `command` ("rollout", "verify") over `hosts` (N is their number)."""

    command: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class WaveStarted:
    """Rollout wave `number` of `total` begins with these branches."""

    number: int
    total: int
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class HostDone:
    """A host's result is known (a later event for the same host replaces it: a gate failure). `status`:
    the rollout's outcome status, or verify's "read" / "not read"."""

    host: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Slow:
    """A host still `doing` its task `seconds` after it started."""

    host: str
    seconds: float
    doing: str = "reading"


@dataclass(frozen=True)
class BranchState:
    """A branch as the gate sees it: per layer (IKE, SAs, OSPF, BFD) verify's verdict ("ok", "fail",
    "error", "-" not checked), and whether every blocking check passes."""

    layers: tuple[tuple[str, str], ...]
    passes: bool


@dataclass(frozen=True)
class GateStarted:
    """The wave's gate waits for `hosts` until `deadline` (time.monotonic) after `timeout_s`."""

    hosts: tuple[str, ...]
    timeout_s: float
    deadline: float


@dataclass(frozen=True)
class GateChanged:
    """A waiting branch's state differs from its last poll (or was read for the first time)."""

    host: str
    state: BranchState
    left_s: float


@dataclass(frozen=True)
class GateTimedOut:
    """The gate's time ran out with `hosts` not passing verify's checks."""

    hosts: tuple[str, ...]
    timeout_s: float


@dataclass(frozen=True)
class Note:
    """A line for the operator that is no state change (a warning, a backup commit)."""

    text: str


Event = RunStarted | WaveStarted | HostDone | Slow | GateStarted | GateChanged | GateTimedOut | Note
Sink = Callable[[Event], None]


def ignore(_: Event) -> None:
    """The sink of a run nobody watches."""
