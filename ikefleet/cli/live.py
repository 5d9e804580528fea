"""The terminal's live progress: a rich `Live` region (refreshed in place, four times a second, no
flicker) showing the wave, hosts done / changed / failed out of N, the gate's waiting branches with their
IKE, SAs, OSPF and BFD state and the time left, and the slow hosts; finished hosts, warnings and timeouts
scroll above it as lines. Imported only by a command that shows progress on a terminal (rich.live is
heavy)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ikefleet.cli.lines import Lines, Tally
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

STYLE = {"ok": "green", "fail": "red", "error": "red", "-": "dim"}


class LiveView:
    """A progress sink: call it with each event (from any thread)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tally = Tally()
        self.lines = Lines(self._log, self.tally)  # the lines that scroll above the region, as in a log
        self.lock = threading.RLock()
        self.wave = ""
        self.gate: dict[str, BranchState | None] = {}  # waiting branch -> its last state (None: not read)
        self.deadline: float | None = None
        self.slow: dict[str, tuple[float, str]] = {}  # host -> (time.monotonic() it started, doing)
        # other writes to standard error meanwhile (a host key pinned on first contact) go above the region
        self.live = Live(get_renderable=self.render, console=console, refresh_per_second=4,
                         redirect_stdout=False, redirect_stderr=True)

    @classmethod
    @contextmanager
    def on(cls, stream: TextIO) -> Iterator[LiveView]:
        view = cls(Console(file=stream))
        with view.live:
            yield view

    def _log(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.tally.add(event)
            if isinstance(event, RunStarted):
                self.wave, self.gate, self.deadline, self.slow = "", {}, None, {}
            elif isinstance(event, WaveStarted):
                self.wave = f"wave {event.number}/{event.total}: {', '.join(event.hosts)}"
                self.gate, self.deadline = {}, None
            elif isinstance(event, HostDone):
                self.slow.pop(event.host, None)
            elif isinstance(event, Slow):
                self.slow[event.host] = (time.monotonic() - event.seconds, event.doing)
            elif isinstance(event, GateStarted):
                self.gate = dict.fromkeys(event.hosts)
                self.deadline = event.deadline
            elif isinstance(event, GateChanged):
                self.gate[event.host] = event.state
            elif isinstance(event, GateTimedOut):
                self.deadline = None
            if isinstance(event, WaveStarted | HostDone | GateTimedOut | Note):
                self._log(self.lines.line(event))
            if isinstance(event, RunStarted | WaveStarted | GateStarted | GateChanged | GateTimedOut):
                self.live.refresh()  # the rare events at once; counts and slow hosts at the next tick

    def render(self) -> RenderableType:
        with self.lock:
            parts: list[RenderableType] = []
            total = len(self.tally.hosts) or 1
            head = Table.grid(padding=(0, 1))
            head.add_row(Text(self.tally.command or "starting", style="bold"), Text(self.wave))
            head.add_row(ProgressBar(total=total, completed=len(self.tally.status), width=30),
                         Text(self.tally.counts()))
            parts.append(head)
            if self.gate:
                parts.append(self._gate_table())
            if self.slow:
                now = time.monotonic()
                names = ", ".join(f"{h} ({doing} {now - t:.0f}s)" for h, (t, doing) in self.slow.items())
                parts.append(Text(f"slow: {names}", style="yellow"))
            return Group(*parts)

    def _gate_table(self) -> Table:
        if all(s is not None and s.passes for s in self.gate.values()):
            title = "gate: passed"
        elif self.deadline is not None:
            title = f"gate: {max(0.0, self.deadline - time.monotonic()):.0f}s left"
        else:
            title = "gate: timed out"
        table = Table(title=title, title_justify="left", box=None, padding=(0, 1))
        for column in ("branch", "IKE", "SAs", "OSPF", "BFD", "state"):
            table.add_column(column)
        for host, state in self.gate.items():
            if state is None:
                table.add_row(host, "", "", "", "", Text("not read yet", style="dim"))
                continue
            words = [Text(word, style=STYLE.get(word, "")) for _, word in state.layers]
            verdict = Text("passes", style="green") if state.passes else Text("waiting", style="yellow")
            table.add_row(host, *words, verdict)
        return table
