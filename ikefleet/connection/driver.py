"""netmiko's RouterOS driver, logging in with the run's version read and reading without needless work.

A subclass, so ikefleet calls only netmiko's public methods and overrides its documented hooks:
`open_session` is netmiko's own login (`BaseConnection._open`), but the round trip that finds the prompt
carries the RouterOS version read (netmiko would send a bare Enter, with two fixed waits around it, for a
prompt the version read's reply ends with too); the reply is kept as `login_reply`, so a run's first
command is its own.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import paramiko
from netmiko.channel import Channel, SSHChannel
from netmiko.exceptions import ReadTimeout
from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH
from netmiko.netmiko_globals import MAX_BUFFER

from ikefleet.connection import kex
from ikefleet.connection.hostkeys import Pin
from ikefleet.connection.session import POLL_S, PROMPT, WAIT_S, drop_said, exchange, timed_out
from ikefleet.routeros.console import VERSION_COMMAND

ESC = "\x1b"
_LONE_CR = re.compile("\r(?!\n)")  # a carriage return not ending a line
_PROMPT = re.compile(PROMPT)


class Reads(SSHChannel):
    """netmiko's reads of the SSH channel, and a wait for data through paramiko's documented Channel API: a
    `recv` under a timeout returns what has come, b"" once the channel has ended (after every byte it
    held), or times out. What the wait received is the next read's, decoded as netmiko decodes a read."""

    def __init__(self, conn: paramiko.Channel | None, encoding: str) -> None:
        super().__init__(conn, encoding)
        self.pending = b""
        self.ended = False  # the channel closed and everything it held has been read

    def wait(self, seconds: float) -> None:
        """Until data has come, the channel has ended or `seconds` have passed; at once if data is there."""
        channel = self.remote_conn
        if self.pending or self.ended or channel is None or channel.recv_ready():
            return
        before = channel.gettimeout()
        channel.settimeout(seconds)
        try:
            self.pending = channel.recv(MAX_BUFFER)
        except TimeoutError:  # (socket.timeout) a silent router: the caller's read timeout decides
            return
        finally:
            channel.settimeout(before)
        self.ended = not self.pending

    def read_buffer(self) -> str:
        if self.pending:
            data, self.pending = self.pending, b""
            return data.decode(self.encoding, "ignore")
        return str(super().read_buffer())


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

    def _connect_params_dict(self) -> dict[str, Any]:
        """netmiko's `SSHClient.connect` keywords, with paramiko's documented `transport_factory`: the
        session's transport does the group exchange as OpenSSH does (`kex`), whether the socket is ours or
        a jump host's ProxyCommand."""
        params: dict[str, Any] = super()._connect_params_dict()
        params["transport_factory"] = kex.Transport
        return params

    def open_session(self, read_timeout: float = 60.0) -> None:
        """Log in (RouterOS login options, SSH, version read, prompt); a failed login leaves no session."""
        try:
            self._modify_connection_params()  # the driver's own hook: RouterOS login options (+ct511w4098h)
            self.establish_connection()
            self.ansi_escape_codes = True  # as the driver's session_preparation
            with drop_said(self):
                try:
                    line, output = exchange(self, VERSION_COMMAND, read_timeout, _PROMPT)
                    reply = self.strip_command(line, output)
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

    def normalize_linefeeds(self, a_string: str) -> str:
        r"""netmiko's (`\r\r\r\n`, `\r\r\n`, `\r\n`, `\n\r` and then a lone `\r` become `\n`) makes two regex
        passes over every read (0.3 ms on a branch's 47 KB reply). Each of its patterns holds one `\n` and
        takes the `\r`s beside it, so a run of line breaks whose every `\r` comes before a `\n` (a RouterOS
        console's lines) keeps just its `\n`s: one `\r\n` split; only the runs around a lone `\r` (a
        repainted echo or prompt) are netmiko's to normalise."""
        if "\r" not in a_string:
            return a_string
        if self.RESPONSE_RETURN != "\n":
            return str(super().normalize_linefeeds(a_string))
        parts: list[str] = []
        at = 0
        for lone in _LONE_CR.finditer(a_string):
            start = end = lone.start()
            if start < at:  # in the run just normalised
                continue
            while start > at and a_string[start - 1] in "\r\n":
                start -= 1
            while end < len(a_string) and a_string[end] in "\r\n":
                end += 1
            parts += ("\n".join(a_string[at:start].split("\r\n")),
                      str(super().normalize_linefeeds(a_string[start:end])))
            at = end
        parts.append("\n".join(a_string[at:].split("\r\n")))
        return "".join(parts)

    def strip_command(self, command_string: str, output: str) -> str:
        """netmiko's RouterOS strip (the echo line, leading blanks, then every line from the first
        `[...] > command` line on, RouterOS's repainted echo) searches the whole reply with a multi-line regex
        (0.3 ms on 47 KB). Where that line is the first, or there is none, and no other follows, the same
        text comes from the lines' ends; any other reply is netmiko's to strip."""
        cmd, newline = command_string.strip(), self.RESPONSE_RETURN
        if "\x08" not in output and newline == "\n":
            stripped = output.partition(newline)[2] if output.startswith(cmd) else output
            stripped = stripped.lstrip()
            echo = f"] > {cmd}"
            first, found, rest = stripped.partition(newline)
            if first.startswith("[") and echo in first[1:] and found and echo not in rest:
                return rest
            if echo not in stripped:
                return stripped
        return str(super().strip_command(command_string, output))

    def strip_prompt(self, a_string: str) -> str:
        """netmiko's RouterOS strip (a last line holding the prompt, then blanks, then a repainted prompt
        line, then outer blanks), splitting the reply at its end instead of into all its lines twice."""
        head, _, last = a_string.rpartition(self.RESPONSE_RETURN)
        if self.base_prompt not in last:
            return a_string
        head = head.rstrip()
        before, _, last = head.rpartition(self.RESPONSE_RETURN)
        return (before if self.base_prompt in last else head).strip()

    @contextlib.contextmanager
    def _waiting_reads(self) -> Iterator[None]:
        before, self.waiting = self.waiting, True
        try:
            yield
        finally:
            self.waiting = before

    @property
    def channel(self) -> Channel:
        """netmiko's channel object; an SSH one is netmiko's made able to wait (Reads), whoever sets it."""
        return self._reads

    @channel.setter
    def channel(self, value: Channel) -> None:
        if isinstance(value, SSHChannel) and not isinstance(value, Reads):
            value = Reads(value.remote_conn, value.encoding)
        self._reads = value

    def wait_for_data(self, seconds: float) -> None:
        """Wait until the session has data, at most `seconds`; EOFError ("the SSH session dropped") once the
        channel has ended and all it held was read: nothing more can come, so a read loop does not go on
        until its timeout."""
        reads = self.channel
        if not isinstance(reads, Reads):  # (no SSH channel: nothing to wait on)
            time.sleep(min(seconds, POLL_S))
            return
        reads.wait(seconds)
        if reads.ended and not reads.pending:
            raise EOFError("the SSH session dropped")

    def read_channel(self) -> str:
        """netmiko's read; inside its read loops (`read_until_pattern`, `send_command`), an empty read then
        waits until data has come (`wait_for_data`, at most WAIT_S): those loops sleep a fixed 10 or 25 ms
        between reads, so a slow answer was read and searched empty dozens of times. Elsewhere (clearing
        the buffer, timing reads) a read returns at once as netmiko's does."""
        data = super().read_channel()
        if not data and self.waiting:
            self.wait_for_data(WAIT_S)
        return data

    def read_until_pattern(self, *args: Any, **kwargs: Any) -> str:
        with self._waiting_reads():
            return super().read_until_pattern(*args, **kwargs)

    def send_command(self, *args: Any, **kwargs: Any) -> Any:
        with self._waiting_reads():
            return super().send_command(*args, **kwargs)
