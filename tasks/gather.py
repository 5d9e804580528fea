"""Nornir task: read a router's verification state over the run's one SSH session, in one round trip."""

from __future__ import annotations

from datetime import UTC, datetime

from nornir.core.task import Result, Task

from ikefleet.device import Device, DeviceError, describe
from ikefleet.intent import ros_major
from ikefleet.redact import scrub
from ikefleet.verify.gather import (
    COMMANDS,
    VERSION_SECTION,
    HostState,
    batch_command,
    commands,
    parse_sections,
    split_sections,
)

from .device import device
from .version import cached, detected, inventory_version, remember


def _batch(dev: Device, host: str, major: int, version: bool) -> dict[str, str]:
    """Every section in one round trip; {} when RouterOS refuses the line or answers only part of it."""
    try:
        raw = split_sections(dev.send(batch_command(major=major, version=version)))
    except DeviceError:
        return {}
    return raw if set(COMMANDS) <= set(raw) else {}


def gather(task: Task) -> Result:
    """HostState of this host. The batch line first; if RouterOS refuses it, each command on its own.
    When the run has not read the host's RouterOS version yet, the batch reads it too (inventory's dialect
    as the guess); a wrong guess is read again in the router's dialect.
    A host that cannot be reached or logged into gives a HostState with `error` (never an exception)."""
    try:
        dev = device(task)
        known = cached(task)
        guess = known.major if known else ros_major(inventory_version(task))
        raw = _batch(dev, task.host.name, guess, version=known is None)
        if known is None:
            # From the batch when it was answered (a reply without the section: the inventory's word).
            known = remember(task, raw.get(VERSION_SECTION)) if raw else detected(task, dev)
            if known.major != guess:
                raw = _batch(dev, task.host.name, known.major, version=False)
        if not raw:
            for name, command in commands(known.major).items():
                try:
                    raw[name] = dev.send(command)
                except DeviceError as exc:
                    raw[name] = exc.error
        state = parse_sections(task.host.name, raw)
        state.read_at = datetime.now(UTC)
        state.ros_version = known.version if known.read else ""
        state.warnings = [known.warning] if known.warning else []
    except Exception as exc:  # unreachable, refused, bad password, timeout: "could not check"
        state = HostState(task.host.name, error=scrub(describe(exc)))  # operator words, no stack
    return Result(host=task.host, result=state)
