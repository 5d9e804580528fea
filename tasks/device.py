"""The run's one SSH session per host, as a Device, taken from Nornir's connection cache."""

from __future__ import annotations

from nornir.core.task import Task

from ikefleet import hostkeys
from ikefleet.device import Device

CONNECTION = "netmiko"


def device(task: Task) -> Device:
    """The Device for this host; Nornir opens the netmiko connection on first use and reuses it."""
    if CONNECTION not in task.host.connections:
        hostkeys.precheck(task.host)  # pin on first contact, refuse a changed key before any login
    connection = task.host.get_connection(CONNECTION, task.nornir.config)
    read_timeout = float(task.host.data.get("command_timeout", 60))
    return Device(task.host.name, connection, read_timeout=read_timeout)


def drop(task: Task) -> None:
    """Forget this host's connection (after a safe-mode abort) so the next task reconnects."""
    if CONNECTION in task.host.connections:
        try:
            task.host.close_connection(CONNECTION)
        except Exception:  # the session may already be gone; it is dropped either way
            task.host.connections.pop(CONNECTION, None)
