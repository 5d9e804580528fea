"""The run's one SSH session per host, as a Device, for a task (opened by ikefleet.connection.opening)."""

from __future__ import annotations

import contextlib

from nornir.core.inventory import Host
from nornir.core.task import Task

from ikefleet.connection import CONNECTION_NAME
from ikefleet.connection.opening import device_for
from ikefleet.connection.session import Device, safe_mode

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


def cut(host: Host, attempted: bool) -> str:
    """The second Ctrl-C on one host: its sessions closed now, one holding safe mode by Ctrl-D and the drop
    so that RouterOS undoes the window (ikefleet.connection.session). Returns how the host was left.
    `attempted`: a connection to it was tried in this run."""
    plugin = host.connections.get(CONNECTION)
    state = safe_mode(plugin.connection) if plugin is not None else None
    held, released = (state.held, state.released) if state is not None else (False, 0)
    close(host)
    if held:
        why = "safe-mode changes undone by dropping the session (Ctrl-D, not quit)"
    elif plugin is not None:
        why = "session closed outside safe mode (nothing open to undo)"
    elif attempted:
        why = "no session open at the cut"
    else:
        why = "not started"
    if released:
        why += f"; {released} safe-mode window(s) released before stay: run again to converge"
    elif why != "not started":
        why += "; run again to converge"
    return why
