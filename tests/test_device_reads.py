"""Device.send reads a reply until the prompt the way netmiko's send_command does (echo first, prompt and
command stripped), but searches each read only from just before it: a reply in many reads costs its size,
not its size times the number of reads."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from netmiko.exceptions import ReadTimeout
from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from ikefleet.connection import session
from ikefleet.connection.driver import RouterOSDriver
from ikefleet.connection.session import Device

PROMPT = "[admin@hub] > "


class Scripted(MikrotikRouterOsSSH):
    """netmiko's RouterOS driver over a scripted console: each read returns the next chunk."""

    def __init__(self, chunks: list[str]) -> None:  # no session: only what send_command's helpers use
        self.chunks, self.written = list(chunks), []  # type: ignore[var-annotated]
        self.RETURN, self.RESPONSE_RETURN = "\r\n", "\n"
        self.base_prompt, self.ansi_escape_codes = "[admin@hub]", True
        self._read_buffer, self.read_timeout_override, self.session_log = "", None, None
        self.global_cmd_verify, self.delay_factor_compat, self.device_type = None, False, "mikrotik_routeros"

    def write_channel(self, out_data: str) -> None:
        self.written.append(out_data)

    def read_channel(self) -> str:  # as netmiko's: what a pattern read left over comes first
        out, self._read_buffer = self._read_buffer + (self.chunks.pop(0) if self.chunks else ""), ""
        return out


def reply_in_reads(command: str, lines: int, per_read: int) -> list[str]:
    text = f"{PROMPT}{command}\n" + "".join(f"line {n} name=peer{n} value=x\n" for n in range(lines)) + PROMPT
    return [text[i : i + per_read] for i in range(0, len(text), per_read)]


def test_a_reply_in_many_reads_comes_back_whole_without_prompt_or_echo() -> None:
    command = "/ip ipsec active-peers print detail without-paging"
    conn = Scripted(reply_in_reads(command, 500, 97))  # reads that split lines and the final prompt
    out = Device("hub", conn).send(command)
    assert conn.written == [command + "\r\n"]
    assert out.splitlines() == [f"line {n} name=peer{n} value=x" for n in range(500)]


def test_each_read_is_searched_from_just_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[int] = []
    real = session._REPLY_END

    class Counting:
        pattern = real.pattern

        def search(self, text: str, pos: int = 0):  # type: ignore[no-untyped-def]
            searched.append(len(text) - pos)
            return real.search(text, pos)

    monkeypatch.setattr(session, "_REPLY_END", Counting())
    command = "/export terse hide-sensitive"
    chunks = reply_in_reads(command, 20_000, 1000)
    Device("hub", Scripted(chunks)).send(command)
    total = sum(map(len, chunks))
    assert sum(searched) <= total + len(chunks) * (session._PROMPT_ROOM + 1000)
    assert sum(searched) < total * 10  # netmiko's whole-reply search: about total * reads / 2


def test_a_reply_that_never_ends_is_a_read_timeout() -> None:
    command = "/system resource print"
    conn = Scripted([f"{PROMPT}{command}\n", "uptime: 1d\n"])
    with pytest.raises(ReadTimeout) as err:
        Device("hub", conn, read_timeout=0.05).send(command)
    words = session.describe(err.value)  # the setting that ran out, and where to raise it
    assert "no answer within 0.05 s (command_timeout)" in words and "raise command_timeout" in words


class Channel:
    """paramiko's Channel as the reads use it, its documented API only (`recv_ready`, `recv` under
    `settimeout`: data, b"" once closed and read out, else socket.timeout), fed by the "router"."""

    def __init__(self) -> None:
        self._pipe, self.closed, self.checks, self.timeout = BufferedPipe(), False, 0, None  # type: ignore[var-annotated]

    def feed(self, data: bytes) -> None:
        self._pipe.feed(data)

    def close(self) -> None:
        self.closed = True
        self._pipe.close()

    def recv_ready(self) -> bool:
        self.checks += 1
        return bool(self._pipe.read_ready())

    def recv(self, size: int) -> bytes:
        try:
            return bytes(self._pipe.read(size, self.timeout))
        except PipeTimeout:
            raise TimeoutError from None

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout


class Echoing(Channel):
    """A console that echoes each line at once and answers `reply` `after` seconds later."""

    def __init__(self, reply: bytes, after: float) -> None:
        super().__init__()
        self.reply, self.after = reply, after

    def sendall(self, data: bytes) -> None:
        self.feed(PROMPT.encode() + data)
        threading.Timer(self.after, lambda: self.feed(self.reply)).start()


def test_a_slow_reply_is_waited_for_not_polled() -> None:
    """A router slow to answer (or a run's threads slow to be scheduled) costs a read when data comes, not
    one every 25 ms: netmiko's fixed poll read and searched an empty buffer 20 times in half a second."""
    channel = Echoing(b"uptime: 1d\r\n" + PROMPT.encode(), 0.5)
    driver = _driver_on(channel)
    driver.base_prompt = "[admin@hub]"
    out = Device("hub", driver, read_timeout=30).send("/system resource print")
    assert out.strip() == "uptime: 1d"
    assert channel.checks <= 12  # one or two per data arrival, one per 0.25 s waited


def test_netmikos_pattern_read_waits_for_data_in_the_driver() -> None:
    """netmiko's read loops (the echo read, the login's version read) sleep 10 ms between reads: in the
    RouterOS driver an empty read inside them waits for data instead, and a read outside returns at once."""
    from netmiko.channel import SSHChannel

    from ikefleet.connection.driver import RouterOSDriver

    driver = RouterOSDriver.__new__(RouterOSDriver)  # no login: only what the reads use
    channel = Channel()
    driver.remote_conn, driver.channel = channel, SSHChannel(channel, "utf-8")  # type: ignore[arg-type]
    driver._session_locker, driver.session_log, driver._read_buffer = threading.Lock(), None, ""
    driver.RETURN, driver.RESPONSE_RETURN = "\r\n", "\n"
    driver.disable_lf_normalization, driver.ansi_escape_codes = False, False
    driver.read_timeout_override = None
    assert driver.read_channel() == ""  # outside a read loop: at once, as netmiko's
    answer = threading.Timer(0.5, lambda: channel.feed(b"uptime: 1d\n" + PROMPT.encode()))
    answer.start()
    try:
        out = driver.read_until_pattern(pattern=r"\] > ", read_timeout=30)
    finally:
        answer.cancel()
    assert out == "uptime: 1d\n" + PROMPT
    assert channel.checks <= 12  # a few per data arrival and per 0.25 s waited; netmiko's poll: about 50


def _driver_on(channel: Channel) -> RouterOSDriver:
    """The RouterOS driver with no login, over `channel`: only what its reads and writes use."""
    from netmiko.channel import SSHChannel

    driver = RouterOSDriver.__new__(RouterOSDriver)
    driver.remote_conn, driver.channel = channel, SSHChannel(channel, "utf-8")  # type: ignore[arg-type]
    driver._session_locker, driver.session_log, driver._read_buffer = threading.Lock(), None, ""
    driver.RETURN, driver.RESPONSE_RETURN = "\r\n", "\n"
    driver.disable_lf_normalization, driver.ansi_escape_codes = False, False
    driver.read_timeout_override, driver.encoding = None, "utf-8"
    return driver


class Console(Channel):
    """A router's console at login: each key the client sends brings the next screen (fed by a thread,
    as paramiko's transport thread does), the first screen comes by itself."""

    def __init__(self, screens: list[str]) -> None:
        super().__init__()
        self.screens, self.keys = list(screens), []  # type: ignore[var-annotated]
        self._next()

    def _next(self) -> None:
        screen = self.screens.pop(0)
        threading.Timer(0.02, lambda: self.feed(screen.encode())).start()

    def sendall(self, data: bytes) -> None:
        self.keys.append(data.decode())
        if self.screens:
            self._next()


def test_routeros_login_prompts_are_answered_over_the_drivers_reads() -> None:
    """netmiko's MikroTik login handler (licence, "press Enter", default configuration, new password) over
    the driver's reads (an empty read in its loop waits for data): each prompt gets netmiko's answer and the
    login ends at the router prompt."""
    console = Console([
        "\r\n  MikroTik RouterOS 6.49.2 (c) 1999-2021\r\nDo you want to see the software license? [Y/n]: ",
        '\r\nUNLICENSED Please press "Enter" to continue!',
        '\r\nThe following default configuration has been installed ... To remove this default configuration '
        'type "r", to see it type "v", to continue press any other key [r/v]:',
        "\r\nChange your password\r\nnew password> ",
        f"\r\n\r\n{PROMPT}",
    ])
    driver = _driver_on(console)
    driver.special_login_handler()
    assert console.keys == ["n", "\r\n", "\r\n", "\x03"]
    assert console.screens == []  # every screen shown, the last one the prompt


class Silent(Channel):
    """A console that echoes each line and never answers."""

    def sendall(self, data: bytes) -> None:
        self.feed(PROMPT.encode() + data)


def test_a_closed_channel_ends_the_reads_after_what_it_held() -> None:
    """What the router sent before its channel closed is read; the next read ends with "the SSH session
    dropped" at once, not at the end of command_timeout (paramiko's recv gives b"" only then)."""
    channel = Channel()
    driver = _driver_on(channel)
    channel.feed(b"uptime: 1d\r\n" + PROMPT.encode())
    channel.close()
    assert driver.read_until_pattern(pattern=r"\] > ", read_timeout=3) == "uptime: 1d\n" + PROMPT
    with pytest.raises(EOFError) as err:
        driver.read_until_pattern(pattern=r"\] > ", read_timeout=3)
    assert session.describe(err.value) == "the SSH session dropped"


def test_a_session_closed_mid_reply_is_a_drop() -> None:
    channel = Silent()
    driver = _driver_on(channel)
    driver.base_prompt = "[admin@hub]"
    threading.Timer(0.3, channel.close).start()
    with pytest.raises(EOFError) as err:
        Device("hub", driver, read_timeout=3).send("/system resource print")
    assert session.describe(err.value) == "the SSH session dropped"


def test_a_silent_router_is_a_read_timeout() -> None:
    channel = Silent()
    driver = _driver_on(channel)
    driver.base_prompt = "[admin@hub]"
    with pytest.raises(ReadTimeout) as err:
        Device("hub", driver, read_timeout=0.6).send("/system resource print")
    assert "no answer within 0.6 s (command_timeout)" in session.describe(err.value)
    assert channel.checks <= 12  # waited in recv, not polled
    assert channel.timeout is None  # the channel's own timeout is given back after each wait


class Pieces(Channel):
    """A console that echoes each line in pieces (as RouterOS and the lab send an echo), 20 ms apart, then
    the reply."""

    def __init__(self, reply: bytes) -> None:
        super().__init__()
        self.reply = reply

    def sendall(self, data: bytes) -> None:
        text = PROMPT.encode() + data
        feed_in_turn(self, [text[:5], text[5:12], text[12:-3], text[-3:], self.reply])


def feed_in_turn(channel: Channel, pieces: list[bytes], apart: float = 0.02) -> None:
    """The pieces fed one after the other, `apart` seconds between them, by one thread (as paramiko's
    transport thread hands on what comes): in order whatever the machine's load."""

    def feed() -> None:
        for piece in pieces:
            time.sleep(apart)
            channel.feed(piece)

    threading.Thread(target=feed, daemon=True).start()


def test_a_pattern_read_keeps_what_came_after_the_match_for_the_next_read() -> None:
    """As netmiko's: the reads up to and including the first match, the rest the next read's first."""
    channel = Channel()
    driver = _driver_on(channel)
    channel.feed(b"cmd echo\r\nuptime: 1d\r\n[admin@hub] > more")
    assert driver.read_until_pattern(pattern=r"cmd echo") == "cmd echo"
    assert driver.read_until_pattern(pattern=r"\] > ") == "\nuptime: 1d\n[admin@hub] > "
    assert driver.read_channel() == "more"


def test_a_pattern_never_seen_is_netmikos_read_timeout() -> None:
    """A router that never completes the pattern: netmiko's ReadTimeout, in netmiko's words, once
    read_timeout has run out, waited for in recv (not polled)."""
    channel = Channel()
    driver = _driver_on(channel)
    channel.feed(b"[admin@hub] > /system resou")
    with pytest.raises(ReadTimeout) as ours:
        driver.read_until_pattern(pattern=r"resource print", read_timeout=0.5)
    assert channel.checks <= 8
    netmikos = Scripted(["[admin@hub] > /system resou"])
    with pytest.raises(ReadTimeout) as theirs:
        MikrotikRouterOsSSH.read_until_pattern(netmikos, pattern=r"resource print", read_timeout=0.05)
    assert str(ours.value) == str(theirs.value)


def test_a_command_echo_never_seen_is_netmikos_echo_timeout() -> None:
    """A router that echoes nothing: command_echo_read's ReadTimeout (its words), after its 10 s."""
    channel = Channel()
    driver = _driver_on(channel)
    with pytest.raises(ReadTimeout) as err:
        driver.command_echo_read(cmd="/system resource print", read_timeout=0.3)
    assert "The command echo was not detected within the read timeout." in str(err.value)


SAMPLES = Path("/work/shared/routeros-samples")


class NetmikosLoop(RouterOSDriver):
    """The driver with netmiko's own pattern loop (a fixed 10 ms sleep after a read short of the pattern)."""

    def read_until_pattern(self, *args: Any, **kwargs: Any) -> str:
        with self._waiting_reads():
            return str(MikrotikRouterOsSSH.read_until_pattern(self, *args, **kwargs))


def _replied(driver_class: type[RouterOSDriver], command: str, reply: str) -> str:
    """Device.send of `command` over `driver_class`, the router's echo and reply coming in pieces."""
    channel = Pieces(b"")  # (what it is sent is not answered: the pieces below come on their own)
    channel.sendall = lambda data: None  # type: ignore[method-assign]
    driver = _driver_on(channel)
    driver.__class__ = driver_class
    driver.base_prompt = "[admin@hub]"
    text = (f"{PROMPT}{command}\r\n{reply}\r\n{PROMPT}").encode()
    cuts = [0, 7, len(PROMPT) + 5, len(PROMPT) + len(command) + 1, len(text) // 2, len(text)]
    feed_in_turn(channel, [text[a:b] for a, b in itertools.pairwise(cuts)], 0.005)
    try:
        return Device("hub", driver, read_timeout=5).send(command)
    except session.DeviceError as exc:  # a capture of a refusal: its words and the reply as read
        return f"refused: {exc.error}\n{exc.output}"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/routeros-samples not available")
def test_every_real_capture_reads_back_as_with_netmikos_loop() -> None:
    """Every real RouterOS capture (incl. v7-more), as a reply whose echo and body come in pieces, reads
    back through the driver's pattern read exactly as through netmiko's own loop. (A capture ending at the
    pager waits for the rest after `D`: the pager's reads are test_device_pager's.)"""
    captures = sorted(p for p in SAMPLES.rglob("*.txt") if "-- [Q quit|D dump|down]" not in p.read_text())
    assert len(captures) > 50
    command = "/interface eoip print detail without-paging"
    for capture in captures:
        reply = "\r\n".join(capture.read_text(errors="replace").splitlines())
        assert _replied(RouterOSDriver, command, reply) == _replied(NetmikosLoop, command, reply), capture
