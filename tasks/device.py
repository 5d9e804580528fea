"""The run's one SSH session per host, as a Device, taken from Nornir's connection cache."""

from __future__ import annotations

import contextlib
from typing import cast

import paramiko
from nornir.core.inventory import Host
from nornir.core.task import Task

from ikefleet import hostkeys, identity, interrupt, jump
from ikefleet.connect import LoginTimedOut, Policy, login_timed_out, policy_of
from ikefleet.connection import CONNECTION_NAME
from ikefleet.connection.plugin import RouterOS
from ikefleet.connection.transport import tcp_socket
from ikefleet.device import Device, safe_mode

CONNECTION = CONNECTION_NAME  # ikefleet.connection.plugin: login with the version read


def device(task: Task) -> Device:
    """The Device for this host; the first use opens the netmiko session (ikefleet.connect: timeouts,
    retries of connection errors, the run's handshake gate), later tasks reuse it."""
    host = task.host
    if CONNECTION not in host.connections:
        connector = RouterOS.connector(task.nornir.config)
        policy = policy_of(host)
        fresh = not connector.attempts.get(host.name)  # (a reconnect after a safe-mode abort is not fresh)

        def attempt() -> None:
            if fresh and interrupt.STOP.is_set():  # after Ctrl-C no new host is started
                raise interrupt.Interrupted("not started")
            if interrupt.STOP.aborted.is_set():  # after the second, no session at all (no restore either)
                raise interrupt.Interrupted("aborted, no session opened")
            pin = hostkeys.precheck(host)  # pin on first contact, refuse a changed key before any login
            params = host.get_connection_parameters(CONNECTION)
            extras = {**(params.extras or {}), **policy.netmiko_extras()}
            if pin is not None:  # the session enforces this host's pin alone (see hostkeys.host_pin_file)
                extras["alt_key_file"] = pin.file
            if jump.route_of(host) is None:  # (behind jump hosts OpenSSH carries the session)
                extras["sock"] = tcp_socket(host.hostname or host.name, host.port or 22, policy.conn_timeout)
            extras["command_timeout"] = policy.command_timeout  # the login's version read
            try:
                host.open_connection(CONNECTION, task.nornir.config, extras=extras)
                logged_in(host, pin, policy)
            except Exception as exc:  # netmiko re-raises paramiko's refusal of a key that is not the pin
                if "sock" in extras:
                    extras["sock"].close()
                refused = exc if isinstance(exc, paramiko.BadHostKeyException) else exc.__context__
                if isinstance(refused, paramiko.BadHostKeyException):
                    raise hostkeys.refused_by_session(host, refused) from None
                if login_timed_out(exc):  # paramiko calls it an authentication failure: nothing was refused
                    raise LoginTimedOut(policy.auth_timeout) from exc
                raise

        connector.open(host.name, attempt)
    session = cast(RouterOS, host.connections[CONNECTION])  # what the `routeros` plugin opened
    policy = session.policy or policy_of(host)  # (a session a user's own code opened has none)
    return Device(host.name, session.connection, read_timeout=policy.command_timeout)


def logged_in(host: Host, pin: hostkeys.Pin | None = None, policy: Policy | None = None) -> None:
    """After the plugin's login: refuse a router whose identity is another inventory host's (nothing is
    sent to it), and keep the identity read, the host-key check and the policy it was opened under with
    the session. A refusal leaves no session."""
    session = cast(RouterOS, host.connections[CONNECTION])  # what the `routeros` plugin opened
    connection = session.connection
    try:
        session.identity = identity.check(host, connection.base_prompt)
        session.pin, session.policy = pin, policy
    except Exception:
        with contextlib.suppress(Exception):
            connection.disconnect()
        host.connections.pop(CONNECTION, None)
        raise


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
    so that RouterOS undoes the window (ikefleet.device). Returns how the host was left. `attempted`: a
    connection to it was tried in this run."""
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
