"""Progress on the operator's screen: the events of ikefleet.processors.events rendered as a live display
on a terminal (ikefleet/cli/live.py, imported only then), as plain lines elsewhere (ikefleet/cli/lines.py:
cron, CI, a pipe), or not at all (--quiet: only the final report)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ikefleet.cli.lines import Lines, to_stream
from ikefleet.processors.events import Sink, ignore


@contextmanager
def shown(quiet: bool, stream: TextIO | None = None) -> Iterator[Sink]:
    """The sink for a command's progress: nothing (--quiet), a live display when `stream` (default
    standard error) is a terminal, plain lines otherwise."""
    out = stream or sys.stderr
    if quiet:
        yield ignore
        return
    open_ = [True]  # a timer thread that outlived its run (a second Ctrl-C) says nothing after the report

    def guarded(sink: Sink) -> Sink:
        return lambda event: sink(event) if open_[0] else None

    try:
        if out.isatty():
            from ikefleet.cli.live import LiveView

            with LiveView.on(out) as view:
                yield guarded(view)
        else:
            yield guarded(Lines(to_stream(out)))
    finally:
        open_[0] = False
