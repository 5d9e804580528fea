"""Ctrl-C (SIGINT) stops a run cleanly instead of killing it mid-push.

The first SIGINT only raises a flag: no new host is started (`connection.opening` refuses to open one),
a host in the middle of a push is stopped at its next command and its open safe-mode window is undone
(`Device.send` raises `Interrupted` once per host; the restore that follows runs normally), and the
runbook records who was done, undone or never started, then exits 130. A second SIGINT is the
operator insisting: the flag becomes an abort (no command is sent to any router any more, no session is
opened) and the main thread gets KeyboardInterrupt; the runbook then drops every session still open, safe
mode's changes undone by the drop (Ctrl-D, never `quit`), and records every host. Further SIGINTs are
ignored until the runbook is done with that (seconds): cutting it short would leave hosts unrecorded.

SIGINT is process-wide, so the flag is too (`STOP`); `sigint_stops()` clears it when a run starts.

Outside a run (Python loading the command line, the arguments being read, a lab starting, the process
exiting) a Ctrl-C changes nothing on any router: the command line says `interrupted` and exits 130, never
with Python's own KeyboardInterrupt traceback (`exit_interrupted`, installed by the process entry point,
ikefleet/__main__.py; the command line's `main` catches the KeyboardInterrupt of a command).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C'd command
MESSAGE = "interrupted by SIGINT"
INTERRUPTED = "interrupted"  # the one line a Ctrl-C outside a run prints


class Interrupted(Exception):
    """The operator pressed Ctrl-C (SIGINT) during the run."""

    def __init__(self, what: str = "") -> None:
        super().__init__(f"{MESSAGE}{': ' + what if what else ''}")


class Stop:
    """The run's stop flag, and which hosts were already stopped mid-command (once each)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.aborted = threading.Event()  # the second SIGINT: nothing more is sent to any router
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()

    def abort(self) -> None:
        self.event.set()
        self.aborted.set()

    def clear(self) -> None:
        with self._lock:
            self.event.clear()
            self.aborted.clear()
            self._claimed.clear()

    def claim(self, host: str) -> bool:
        """True the first time `host` asks after the flag was raised: stop it now (later work, such as
        restoring what an earlier window released, then runs to its end)."""
        if not self.event.is_set():
            return False
        with self._lock:
            if host in self._claimed:
                return False
            self._claimed.add(host)
            return True


STOP = Stop()


@contextmanager
def sigint_stops(announce: bool = True) -> Iterator[Stop]:
    """During the block the first SIGINT sets STOP, the second aborts it and raises KeyboardInterrupt, later
    ones are ignored (the runbook is dropping sessions and writing records).

    Signal handlers can only be installed from the main thread; elsewhere (a test calling a runbook
    from a worker thread) STOP still works, set by whoever holds it.
    """
    STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if STOP.aborted.is_set():
            return
        if STOP.is_set():
            STOP.abort()
            raise KeyboardInterrupt
        STOP.set()
        if announce:
            print("ikefleet: SIGINT: finishing or undoing the hosts in flight, starting no new one "
                  "(Ctrl-C again to abort at once)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield STOP
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_interrupted(*_: object) -> None:  # (never returns; no `typing` import: loaded first)
    """SIGINT's handler where no command runs (modules loading, the interpreter's exit): `interrupted` and
    exit 130 at once. A KeyboardInterrupt raised there would end in a traceback, or in an "Exception
    ignored" message when it lands in a weakref callback or an atexit hook, and nothing is left to undo."""
    with contextlib.suppress(Exception):  # the output of a command that finished still goes out
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{INTERRUPTED}\n")
        sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
