"""Which RouterOS a host really runs, read once per run from `/system resource print` (by the login).

The inventory's `ros_version` is a claim; the router's own answer decides the dialect (templates, schema,
gather commands). A disagreement is reported as a warning in the host's result, never silently trusted
either way. The login makes the read in the round trip that finds the prompt (ikefleet.connection.driver)
and the answer is kept on the session (the `routeros` connection's `detected`), so no task pays a round trip
for it; a runbook that needs it after the session closed keeps it from a task's Result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nornir.core.task import Result, Task

from ikefleet.connection.session import Device, DeviceError
from ikefleet.intent import ros_major
from ikefleet.inventory import _supported_version
from ikefleet.parsers import parse_resource
from ikefleet.routeros.console import VERSION_COMMAND as READ
from ikefleet.routeros.console import marked, split_sections

from .device import CONNECTION, device

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Detected:
    """The running version (`7.16.1`), its major, what the inventory said, and why we may not know."""

    host: str
    version: str  # as the router reports it, without the channel ("7.16.1"); the inventory's when unread
    inventory: str | None  # the inventory's ros_version (None: not given)
    read: bool = True  # False: the router's answer could not be read; the inventory's version is used

    @property
    def major(self) -> int:
        return ros_major(self.version)

    @property
    def warning(self) -> str:
        """Operator words for a mismatch or an unreadable answer; '' when the inventory is right."""
        if not self.read:
            return (f"{self.host}: could not read the RouterOS version from `{READ}`; using the inventory's "
                    f"ros_version {self.inventory or '6 (not given)'}")
        if not _supported_version(tuple(int(p) for p in self.version.split("."))[:2]):
            return (f"{self.host}: runs RouterOS {self.version}, which ikefleet does not support "
                    "(6.43..6.49, 7.11+): commands may be refused; upgrade the router")
        if self.inventory is None:
            return "" if self.major == 6 else (
                f"{self.host}: runs RouterOS {self.version} but the inventory gives no ros_version "
                f"(read as 6); using {self.version}: set ros_version: {self.version} in its host data")
        if ros_major(self.inventory) == self.major:
            return ""
        return (f"{self.host}: runs RouterOS {self.version} but the inventory says ros_version "
                f"{self.inventory}; using {self.version}: correct ros_version in its host data")


def running_version(text: str) -> str:
    """`7.14.3 (stable)` -> `7.14.3`; ValueError when the reply carries no version."""
    records = parse_resource(text)
    raw = str(records[0].get("version", "")) if records else ""
    m = _VERSION.match(raw.strip())
    if m is None:
        raise ValueError(f"no version in {READ} output")
    return m.group(0)


def _data(task: Task) -> dict[str, Any]:
    data = getattr(task.host, "data", None)
    return data if isinstance(data, dict) else {}


def inventory_version(task: Task) -> str | None:
    value = _data(task).get("ros_version")
    return str(value) if value else None


def session(task: Task) -> Any:
    """The host's open `routeros` connection (the plugin object), or None."""
    return (getattr(task.host, "connections", None) or {}).get(CONNECTION)


def cached(task: Task) -> Detected | None:
    """The version this host's open session knows (its login read it, see ikefleet.connection.driver),
    or None when no session is open."""
    open_session = session(task)
    if open_session is None:
        return None
    found = open_session.detected
    if isinstance(found, Detected):
        return found
    reply = getattr(open_session.connection, "login_reply", None)
    return remember(task, reply) if isinstance(reply, str) else None


def remember(task: Task, reply: str | None) -> Detected:
    """Detected from a `/system resource print` reply (None: no reply), kept on the host's open session. An
    unreadable reply (garbage, an error) falls back to the inventory's version, with a warning."""
    inventory = inventory_version(task)
    try:
        found = Detected(task.host.name, running_version(reply or ""), inventory)
    except Exception:  # parse errors of every kind: the inventory's word, said to be unverified
        found = Detected(task.host.name, inventory or "6", inventory, read=False)
    open_session = session(task)
    if open_session is not None:
        open_session.detected = found
    return found


def detected(task: Task, dev: Device | None = None) -> Detected:
    """The host's Detected version: the answer its login read, else one read of `/system resource print`.
    A router that does not answer it falls back to the inventory, with a warning."""
    found = cached(task)
    if found is not None:
        return found
    dev = dev or device(task)  # opening the session reads the version (ikefleet.connection.driver)
    found = cached(task)
    if found is not None:
        return found
    try:
        reply: str | None = dev.send(READ)
    except Exception:  # refused or timed out: the next command says whether the host is gone
        reply = None
    return remember(task, reply)


def read_with_version(task: Task, reads: Mapping[str, str]) -> dict[str, str]:
    """section -> reply of each of `reads` (section -> command), on one console line, once the run knows
    the version (its login read it: a branch's first round trip after the login is this line). A line
    RouterOS refuses: each read on its own; a reply without a section is an error that names the read."""
    dev = device(task)
    detected(task, dev)
    try:
        sections = split_sections(dev.send("; ".join(marked(name, cmd) for name, cmd in reads.items())))
    except DeviceError:
        return {name: dev.send(command) for name, command in reads.items()}
    missing = [name for name in reads if name not in sections]
    if missing:
        raise DeviceError(task.host.name, reads[missing[0]], "no output for this read")
    return {name: sections[name] for name in reads}


def detect_version(task: Task) -> Result:
    """Nornir task: the host's Detected version (read once per session)."""
    return Result(host=task.host, result=detected(task))
