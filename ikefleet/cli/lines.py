"""Progress as plain lines (cron, CI, a pipe): one line per event that matters, no escape codes; and the
tally of hosts done / changed / failed that the terminal's display (ikefleet/cli/live.py) shows too."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ikefleet.processors.events import (
    BranchState,
    Event,
    GateChanged,
    GateStarted,
    GateTimedOut,
    HostDone,
    Note,
    RunStarted,
    Slow,
    WaveStarted,
)

FAILED = ("failed", "interrupted", "not read")


class Tally:
    """What the events so far add up to: the run's hosts and each one's latest status."""

    def __init__(self) -> None:
        self.command = ""
        self.hosts: tuple[str, ...] = ()
        self.status: dict[str, str] = {}

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.command, self.hosts, self.status = event.command, event.hosts, {}
        elif isinstance(event, HostDone):
            self.status[event.host] = event.status

    def counts(self) -> str:
        """`2/3 done, 1 changed, 0 failed` (rollout) or `2/3 read` (verify)."""
        total = len(self.hosts) or len(self.status)
        failed = sum(s in FAILED for s in self.status.values())
        if self.command == "verify":
            read = sum(s == "read" for s in self.status.values())
            return f"{read}/{total} read" + (f", {failed} not read" if failed else "")
        changed = sum(s in ("changed", "would-change") for s in self.status.values())
        return f"{len(self.status)}/{total} done, {changed} changed, {failed} failed"


def layers(state: BranchState) -> str:
    """`IKE ok, SAs ok, OSPF fail, BFD -`"""
    return ", ".join(f"{label} {word}" for label, word in state.layers)


class Lines:
    """Plain lines for a non-terminal: one per wave, host result, slow host, gate change and timeout."""

    def __init__(self, write: Callable[[str], None], tally: Tally | None = None) -> None:
        self.write = write
        self.tally = tally or Tally()

    def __call__(self, event: Event) -> None:
        self.tally.add(event)
        line = self.line(event)
        if line:
            self.write(line)

    def line(self, event: Event) -> str:
        if isinstance(event, RunStarted):
            what = "reading" if event.command == "verify" else "rolling out to"
            return f"{event.command}: {what} {len(event.hosts)} router(s)"
        if isinstance(event, WaveStarted):
            return f"wave {event.number}/{event.total}: {', '.join(event.hosts)}"
        if isinstance(event, HostDone):
            detail = f" ({event.detail})" if event.detail else ""
            return f"{event.host}: {event.status}{detail} [{self.tally.counts()}]"
        if isinstance(event, Slow):
            return f"{event.host}: still {event.doing} after {event.seconds:.0f}s"
        if isinstance(event, GateStarted):
            return (f"gate: waiting up to {event.timeout_s:.0f}s for {', '.join(event.hosts)} to pass "
                    "verify's checks")
        if isinstance(event, GateChanged):
            verdict = "passes" if event.state.passes else "waiting"
            return f"gate: {event.host} {verdict}: {layers(event.state)} ({event.left_s:.0f}s left)"
        if isinstance(event, GateTimedOut):
            return (f"gate: timed out after {event.timeout_s:.0f}s: {', '.join(event.hosts)} not passing "
                    "verify's checks")
        if isinstance(event, Note):
            return event.text
        return ""


def to_stream(stream: TextIO) -> Callable[[str], None]:
    """A line to `stream` at once (a cron log keeps up); a closed pipe silences it rather than failing the
    run: the routers matter more than the display."""
    broken = False

    def write(line: str) -> None:
        nonlocal broken
        if broken:
            return
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            broken = True

    return write
