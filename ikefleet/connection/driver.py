"""netmiko's RouterOS driver, logging in with the run's version read and reading without needless work.

A subclass, so ikefleet calls only netmiko's public methods and overrides its documented hooks:
`open_session` is netmiko's own login (`BaseConnection._open`), but the round trip that finds the prompt
carries the RouterOS version read (netmiko would send a bare Enter, with two fixed waits around it, for a
prompt the version read's reply ends with too); the reply is kept as `login_reply`, so a run's first
command is its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

import paramiko
from netmiko.exceptions import ReadTimeout
from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH

from ikefleet.connection.hostkeys import Pin
from ikefleet.connection.session import PROMPT, WAIT_S, drop_said, timed_out, wait_readable
from ikefleet.routeros.console import VERSION_COMMAND

ESC = "\x1b"


class RouterOSDriver(MikrotikRouterOsSSH):
    """The session object of the `routeros` connection plugin (a netmiko connection: Device drives it)."""

    login_reply = ""  # the version read's reply, without echo and prompt
    waiting = False  # inside netmiko's read loops: an empty read waits for data (see read_channel)
    pin: Pin | None = None  # the host's pins (hostkeys.precheck), enforced by the session alone

    def _build_ssh_client(self) -> paramiko.SSHClient:
        """netmiko's SSH client, knowing only this host's pins when the precheck gave them: paramiko then
        refuses any other key before authenticating, as it would with them loaded from a file (netmiko
        would read and parse one per session: 0.14 ms of a verify's 3 ms per router)."""
        if self.pin is None:
            return super()._build_ssh_client()
        client = self._get_ssh_client_instance()
        for key in self.pin.keys:
            client.get_host_keys().add(self.pin.entry, key.get_name(), key)
        client.set_missing_host_key_policy(self.key_policy)
        return client

    def open_session(self, read_timeout: float = 60.0) -> None:
        """Log in (RouterOS login options, SSH, version read, prompt); a failed login leaves no session."""
        try:
            self._modify_connection_params()  # the driver's own hook: RouterOS login options (+ct511w4098h)
            self.establish_connection()
            self.ansi_escape_codes = True  # as the driver's session_preparation
            with drop_said(self):
                try:
                    # str: netmiko returns a list or dict only from a textfsm/ttp/genie parse
                    reply = cast(str, self.send_command(VERSION_COMMAND, expect_string=PROMPT,
                                                        read_timeout=read_timeout, strip_prompt=False,
                                                        strip_command=True, cmd_verify=True))
                except ReadTimeout as exc:  # the words name command_timeout, the setting that ran out
                    timed_out(read_timeout, exc)
                    raise
            text, _, prompt = reply.rstrip().rpartition("\n")
            if not prompt.strip().endswith(">"):
                raise ValueError(f"Router prompt not found: {prompt!r}")
            self.base_prompt = prompt.strip()[:-1].strip()  # as the driver's set_base_prompt: `[admin@R1]`
            self.login_reply = text
        except Exception:
            with contextlib.suppress(Exception):
                self.disconnect()
            raise

    def strip_ansi_escape_codes(self, string_buffer: str) -> str:
        """netmiko strips terminal codes from every read with some 35 regex passes (16 µs on an empty read,
        0.6 ms on 60 KB; a 200-branch verify's reads took 0.16 s of CPU, now 0.07). Every code it strips
        starts with ESC, so a read without one is returned as it came."""
        return super().strip_ansi_escape_codes(string_buffer) if ESC in string_buffer else string_buffer


    @contextlib.contextmanager
    def _waiting_reads(self) -> Iterator[None]:
        before, self.waiting = self.waiting, True
        try:
            yield
        finally:
            self.waiting = before

    def read_channel(self) -> str:
        """netmiko's read; inside its read loops (`read_until_pattern`, `send_command`), an empty read then
        waits until data has come (`session.wait_readable`, at most WAIT_S): those loops sleep a fixed 10
        or 25 ms between reads, so a slow answer was read and searched empty dozens of times. Elsewhere
        (clearing the buffer, timing reads) a read returns at once as netmiko's does."""
        data = super().read_channel()
        if not data and self.waiting:
            wait_readable(self, WAIT_S)
        return data

    def read_until_pattern(self, *args: Any, **kwargs: Any) -> str:
        with self._waiting_reads():
            return super().read_until_pattern(*args, **kwargs)

    def send_command(self, *args: Any, **kwargs: Any) -> Any:
        with self._waiting_reads():
            return super().send_command(*args, **kwargs)
