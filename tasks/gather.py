"""Nornir task: read a router's verification state over the run's one SSH session, in one round trip
(RouterOS 7: a few, see `batch_lines`), after the login's read of the RouterOS version.

The version read is not folded into the batch: the batch's dialect depends on it, and a v6 batch line is
longer than a v7 console shows (v7 scrolls it sideways and the echo never completes), so guessing the
dialect from the inventory would turn a wrong `ros_version` into a read timeout instead of a warning. The
login's prompt-finding round trip carries it instead (connection/driver.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nornir.core.task import Result, Task

from ikefleet.connection.session import Device, DeviceError, describe
from ikefleet.redact import scrub
from ikefleet.routeros.console import split_sections
from ikefleet.routeros.versions import json_reads
from ikefleet.verify.gather import COMMANDS, HostState, batch_lines, commands, parse_sections

from .device import device
from .version import Detected, detected


def _batch(dev: Device, major: int, routes: str, json: bool, extra: Mapping[str, str]) -> dict[str, str]:
    """Every section from the batch lines, `extra`'s packed with verify's; {} when RouterOS refuses one or
    answers only part of it."""
    raw: dict[str, str] = {}
    try:
        for line in batch_lines(major=major, json=json, routes=routes, extra=extra):
            raw.update(split_sections(dev.send(line)))
    except DeviceError:
        return {}
    return raw if set(COMMANDS) | set(extra) <= set(raw) else {}


def read_raw(task: Task, routes: str = "ospf", extra: Mapping[str, str] | None = None
             ) -> tuple[dict[str, str], Detected]:
    """section -> reply of every verify read (COMMANDS), in the dialect the router reports (and that
    version): the batch first; if RouterOS refuses it, each command on its own. `extra`: section -> command
    read in the same round trip (the rollout's count of leftover files); not verify's, its caller's to
    take out. Raises when the session fails."""
    dev = device(task)
    known = detected(task, dev)
    json = json_reads(known.version)  # JSON only where every value survives it (7.17+)
    raw = _batch(dev, known.major, routes, json, extra or {})
    if not raw:
        for name, command in {**commands(known.major, json=json, routes=routes), **(extra or {})}.items():
            try:
                raw[name] = dev.send(command)
            except DeviceError as exc:
                raw[name] = exc.error
    return raw, known


def host_state(host: str, raw: Mapping[str, str], known: Detected,
               parsed: Mapping[str, list[Any]] | None = None) -> HostState:
    """The HostState verify's checks read, from read_raw's replies (read just now). `parsed`: sections the
    caller parsed already from those replies (the reach's export and certificates), not parsed twice."""
    parsed = parsed or {}
    state = parse_sections(host, {k: v for k, v in raw.items() if k not in parsed}, known.major)
    for section, records in parsed.items():
        state.problems.pop(section, None)
        state.sections[section] = records
    state.read_at = datetime.now(UTC)
    state.ros_version = known.version if known.read else ""
    state.warnings = [known.warning] if known.warning else []
    return state


def gather(task: Task, routes: Mapping[str, str] | None = None) -> Result:
    """HostState of this host, read in the dialect the router reports (templates, gather commands and
    JSON follow it). `routes`: host -> the route read's `where` (ikefleet.verify.expected.route_reads;
    default: every OSPF route). A host that cannot be reached or logged into gives a HostState with
    `error` in a failed Result (no exception): what was not checked is never green."""
    where = (routes or {}).get(task.host.name, "ospf")
    try:
        state = host_state(task.host.name, *read_raw(task, where))
    except Exception as exc:  # unreachable, refused, bad password, timeout: "could not check"
        state = HostState(task.host.name, error=scrub(describe(exc)))  # operator words, no stack
    return Result(host=task.host, result=state, failed=bool(state.error))  # could not check: failed
