"""Garbage collection sized for a fleet run.

A run's parsed state only grows until its report: every router's sections, the hub's thousands of SAs and
its 5,000-line export. CPython's default (a young-generation pass every 700 new containers) walks that
state again and again: at 1,000 branches verify made 12 full collections costing 1.3 s of a 20 s run, all
with the GIL held. A larger young generation leaves the long-lived state alone; cycles are still collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

RUN_THRESHOLD = 50_000  # new container objects between young-generation collections (CPython: 700)


def whole_process() -> None:
    """The setting for an `ikefleet` process from its start (ikefleet/__main__.py): the command's imports
    leave ~200,000 objects that live to its end, and under CPython's default they cost a verify 116 young,
    10 middle and one full collection, 0.05-0.1 s of CPU, before its run raised the threshold anyway."""
    before = gc.get_threshold()
    gc.set_threshold(max(RUN_THRESHOLD, before[0]), *before[1:])


@contextlib.contextmanager
def fleet_run() -> Iterator[None]:
    """The run's collector setting, restored afterwards (the process may be a test or a notebook)."""
    before = gc.get_threshold()
    gc.set_threshold(max(RUN_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector held off for a block that makes many short-lived objects and no cycles (a fleet
    being judged): a full collection there would walk every object the run holds, the gathered states of
    the whole fleet. Given back after the block, unless the caller had it off already."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
