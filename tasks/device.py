"""The run's one SSH session per host, as a Device, for a task (opened by ikefleet.connection.opening)."""

from __future__ import annotations

import contextlib

from nornir.core.inventory import Host
from nornir.core.task import Task

from ikefleet.connection import CONNECTION_NAME
from ikefleet.connection.opening import device_for
from ikefleet.connection.session import Device

CONNECTION = CONNECTION_NAME  # ikefleet.connection.plugin: login with the version read


def device(task: Task) -> Device:
    """The Device for this host; the first use opens the session, later tasks reuse it."""
    return device_for(task.host, task.nornir.config)


def drop(task: Task) -> None:
    """Forget this host's connection (after a safe-mode abort) so the next task reconnects."""
    if CONNECTION in task.host.connections:
        try:
            task.host.close_connection(CONNECTION)
        except Exception:  # the session may already be gone; it is dropped either way
            task.host.connections.pop(CONNECTION, None)


def close(host: Host) -> None:
    """Close a host's sessions once the run is done with it: a session is a paramiko transport and thread,
    so a run that kept every host's until its end would hold the fleet's (1,000 branches: 1.5 GB)."""
    with contextlib.suppress(Exception):  # an already dropped session is closed either way
        host.close_connections()
