"""Opening a host's session: the host-key check, the socket, the plugin's login and the identity check.

What `host.open_connection("routeros")` alone does not: before the login the router's host key is checked
against its pin (`hostkeys.precheck`) and the TCP socket opened here (Nagle off, `transport.tcp_socket`;
OpenSSH carries it behind jump hosts, `jump`); after it the router's identity is checked (`identity.check`)
and kept with the session, with the pin and the connection policy it was opened under. Each opening runs
under the run's Connector (`connector`: timeouts, retries of connection errors only, the handshake gate).
"""

from __future__ import annotations

import contextlib
from typing import cast

import paramiko
from nornir.core.configuration import Config
from nornir.core.inventory import Host

from ikefleet import interrupt
from ikefleet.connection import CONNECTION_NAME, hostkeys, identity, jump, settings
from ikefleet.connection.connector import LoginTimedOut, Policy, login_timed_out, policy_of
from ikefleet.connection.plugin import RouterOS
from ikefleet.connection.session import Device
from ikefleet.connection.transport import tcp_socket


def device_for(host: Host, config: Config) -> Device:
    """The Device on this host's session; the first call opens it (the run's Connector: timeouts, retries
    of connection errors, the handshake gate), later ones reuse it from Nornir's connection cache. After a
    first Ctrl-C no new host is opened, after a second no session at all (`interrupt`)."""
    if CONNECTION_NAME not in host.connections:
        connector = RouterOS.connector(config)
        policy = policy_of(host)
        fresh = not connector.attempts.get(host.name)  # (a reconnect after a safe-mode abort is not fresh)
        connector.open(host.name, lambda: _attempt(host, config, policy, fresh))
    opened = cast(RouterOS, host.connections[CONNECTION_NAME])  # what the `routeros` plugin opened
    policy = opened.policy or policy_of(host)  # (a session a user's own code opened has none)
    return Device(host.name, opened.connection, read_timeout=policy.command_timeout)


def _attempt(host: Host, config: Config, policy: Policy, fresh: bool) -> None:
    """One connection attempt: pin check, socket, login; a failed one leaves no socket open."""
    if fresh and interrupt.STOP.is_set():  # after Ctrl-C no new host is started
        raise interrupt.Interrupted("not started")
    if interrupt.STOP.aborted.is_set():  # after the second, no session at all (no restore either)
        raise interrupt.Interrupted("aborted, no session opened")
    pin = hostkeys.precheck(host)  # pin on first contact, refuse a changed key before any login
    params = host.get_connection_parameters(CONNECTION_NAME)
    extras = {**(params.extras or {}), **policy.netmiko_extras()}
    if pin is not None:  # the session enforces this host's pins alone (see driver._build_ssh_client)
        extras[settings.PIN] = pin
    if jump.route_of(host) is None:  # (behind jump hosts OpenSSH carries the session)
        extras["sock"] = tcp_socket(host.hostname or host.name, host.port or 22, policy.conn_timeout)
    extras["command_timeout"] = policy.command_timeout  # the login's version read
    try:
        host.open_connection(CONNECTION_NAME, config, extras=extras)
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


def logged_in(host: Host, pin: hostkeys.Pin | None = None, policy: Policy | None = None) -> None:
    """After the plugin's login: refuse a router whose identity is another inventory host's (nothing is
    sent to it), and keep the identity read, the host-key check and the policy it was opened under with
    the session. A refusal leaves no session."""
    opened = cast(RouterOS, host.connections[CONNECTION_NAME])  # what the `routeros` plugin opened
    connection = opened.connection
    try:
        opened.identity = identity.check(host, connection.base_prompt)
        opened.pin, opened.policy = pin, policy
    except Exception:
        with contextlib.suppress(Exception):
            connection.disconnect()
        host.connections.pop(CONNECTION_NAME, None)
        raise
