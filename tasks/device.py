"""The run's one SSH session per host, as a Device, taken from Nornir's connection cache."""

from __future__ import annotations

import contextlib
from typing import Any

import paramiko
from netmiko.exceptions import ReadTimeout
from nornir.core.inventory import Host
from nornir.core.task import Task

from ikefleet import hostkeys, identity, interrupt, jump
from ikefleet.connect import ATTEMPTS_KEY, LoginTimedOut, connector_of, login_timed_out
from ikefleet.connection.transport import tcp_socket
from ikefleet.device import PROMPT, Device, drop_said, timed_out
from ikefleet.verify.gather import VERSION_COMMAND

CONNECTION = "netmiko"
ESC = "\x1b"
LOGIN_READ = "_ikefleet_login_read"  # host.data: the login's version read reply (tasks/version.py)


def device(task: Task) -> Device:
    """The Device for this host; the first use opens the netmiko session (ikefleet.connect: timeouts,
    retries of connection errors, the run's handshake gate), later tasks reuse it."""
    host = task.host
    connector = connector_of(host)
    policy = connector.for_host(host)
    if CONNECTION not in host.connections:
        fresh = not host.data.get(ATTEMPTS_KEY)  # (a reconnect after a safe-mode abort is not fresh)

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
                extras["sock"] = tcp_socket(host.hostname, host.port or 22, policy.conn_timeout)
            try:
                host.open_connection(CONNECTION, task.nornir.config, extras={**extras, "auto_connect": False})
                login(host, policy.command_timeout)
            except Exception as exc:  # netmiko re-raises paramiko's refusal of a key that is not the pin
                if "sock" in extras:
                    extras["sock"].close()
                refused = exc if isinstance(exc, paramiko.BadHostKeyException) else exc.__context__
                if isinstance(refused, paramiko.BadHostKeyException):
                    raise hostkeys.refused_by_session(host, refused) from None
                if login_timed_out(exc):  # paramiko calls it an authentication failure: nothing was refused
                    raise LoginTimedOut(policy.auth_timeout) from exc
                raise

        def counted(n: int) -> None:
            host.data[ATTEMPTS_KEY] = host.data.get(ATTEMPTS_KEY, 0) + n

        connector.open(host.name, attempt, counted)
    connection = host.connections[CONNECTION].connection
    return Device(host.name, connection, read_timeout=policy.command_timeout)


def login(host: Host, read_timeout: float = 60.0) -> None:
    """netmiko's own login (`BaseConnection._open`), but the round trip that finds the prompt carries the
    run's version read: netmiko sends a bare Enter, with two fixed 10 ms waits around it, for a prompt the
    version read's reply also ends with. The reply is kept in `host.data[LOGIN_READ]` for tasks/version.py,
    so a run's first command is its own. A failed login leaves no session."""
    connection = host.connections[CONNECTION].connection
    try:
        connection._modify_connection_params()  # the RouterOS login options (+ct511w4098h)
        skip_plain_reads(connection)
        connection.establish_connection()
        connection.ansi_escape_codes = True  # as the RouterOS driver's session_preparation
        with drop_said(connection):
            try:
                reply = connection.send_command(VERSION_COMMAND, expect_string=PROMPT,
                                                read_timeout=read_timeout, strip_prompt=False,
                                                strip_command=True, cmd_verify=True)
            except ReadTimeout as exc:  # the words name command_timeout, the setting that ran out
                timed_out(read_timeout, exc)
                raise
        text, _, prompt = reply.rstrip().rpartition("\n")
        if not prompt.strip().endswith(">"):
            raise ValueError(f"Router prompt not found: {prompt!r}")
        connection.base_prompt = prompt.strip()[:-1].strip()  # as the driver's set_base_prompt: `[admin@R1]`
        identity.check(host, connection.base_prompt)  # another inventory host's router: refused, nothing sent
        host.data[LOGIN_READ] = text
    except Exception:
        with contextlib.suppress(Exception):
            connection.disconnect()
        host.connections.pop(CONNECTION, None)
        raise


def skip_plain_reads(connection: Any) -> None:
    """netmiko's RouterOS driver strips terminal codes from every read with some 35 regex passes (16 µs
    on an empty read, 0.6 ms on 60 KB; a 200-branch verify's reads took 0.16 s of CPU, now 0.07). Every
    code it strips starts with ESC, so a read without one is returned as it came; a read with one goes
    through netmiko's own stripping."""
    strip = connection.strip_ansi_escape_codes
    connection.strip_ansi_escape_codes = lambda text: strip(text) if ESC in text else text


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
