"""Nornir task: read a router's verification state over the run's one SSH session, in one round trip."""

from __future__ import annotations

from datetime import UTC, datetime

from nornir.core.task import Result, Task

from ikefleet.device import DeviceError, describe
from ikefleet.intent import ros_major
from ikefleet.redact import scrub
from ikefleet.verify.gather import (
    COMMANDS,
    HostState,
    batch_command,
    commands,
    parse_sections,
    split_sections,
)

from .device import device


def gather(task: Task) -> Result:
    """HostState of this host. The batch line first; if RouterOS refuses it, each command on its own.
    A host that cannot be reached or logged into gives a HostState with `error` (never an exception)."""
    try:
        dev = device(task)
        major = ros_major((getattr(task.host, "data", None) or {}).get("ros_version"))
        try:
            raw = split_sections(dev.send(batch_command(major=major)))
            if set(raw) != set(COMMANDS):
                raise DeviceError(task.host.name, "batch", "incomplete reply")
        except DeviceError:
            raw = {}
            for name, command in commands(major).items():
                try:
                    raw[name] = dev.send(command)
                except DeviceError as exc:
                    raw[name] = exc.error
        state = parse_sections(task.host.name, raw)
        state.read_at = datetime.now(UTC)
    except Exception as exc:  # unreachable, refused, bad password, timeout: "could not check"
        state = HostState(task.host.name, error=scrub(describe(exc)))  # operator words, no stack
    return Result(host=task.host, result=state)
