"""One router session for a whole run: commands with RouterOS error detection, and safe mode.

Built on the netmiko connection Nornir keeps per host (so every task of a run reuses one SSH session).
Commands are always absolute (`/ip ipsec peer add ...`), so the prompt only ever changes between
`[user@id] > ` and `[user@id] <SAFE> `; the prompt pattern below accepts both and any menu.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ikefleet import interrupt
from ikefleet.parsers.errors import detect_error
from ikefleet.redact import mask_command

# "[admin@R1] > ", "[admin@R1] /ip ipsec> ", "[admin@R1] <SAFE> ", "[admin@R1] /ip route<SAFE> "
PROMPT = r"\[[^\]\r\n]+@[^\]\r\n]+\][^\r\n]*>\s*$"
SAFE_PROMPT = r"\[[^\]\r\n]+@[^\]\r\n]+\][^\r\n]*<SAFE>\s*$"
# Output taller than the terminal (netmiko asks for 4,098 lines: a 700-branch hub's export is taller)
# stops at RouterOS's pager; `D` dumps the rest. The pager erases its prompt with `\r` + spaces + `\r`.
PAGER = r"-- \[Q quit\|D dump\|down\]\s*$"
_REPLY_END = re.compile(f"{PROMPT}|{PAGER}")
_PAGER = re.compile(PAGER)
_PROMPT_ROOM = 4096  # characters before a read searched again: a prompt and its trailing blanks fit
POLL_S = 0.025  # netmiko's send_command poll, kept where there is no channel to wait on
WAIT_S = 0.25  # longest wait for a reply's next data before the read timeout is looked at again
_PAGER_ERASE = re.compile(r"^\n? +\n")
_LAST_PROMPT = re.compile(r"(?:\n?\[[^\]\n]+@[^\]\n]+\][^\n]*>[ \t]*)+$")  # one or a repainted pair
CTRL_X = "\x18"
CTRL_D = "\x04"
# Ctrl-X while another session holds safe mode: RouterOS asks "Hijacking Safe Mode from someone -
# unroll/release/don't take it [u/r/d]:" and waits for a key (MikroTik manual, wiki Manual:Console,
# "Safe Mode": `u` undoes the holder's changes and takes safe mode, `r` keeps them and takes it, `d` not).
# ikefleet answers `d`: it never takes over, nor undoes, another session's work.
HIJACK = r"Hijacking Safe Mode from [^\r\n]*\[u/r/d\]:?[ \t]*$"  # no groups: netmiko splits reads on it
_HOLDER = re.compile(r"Hijacking Safe Mode from (.*?) - ")
DONT_TAKE = "d"
ACTIVE_READ = "/user active print terse"  # who is logged in, from where, via what
# RouterOS keeps at most 100 actions of safe-mode history and silently leaves safe mode beyond that
# (MikroTik manual, Console: Safe Mode); stay well under it per safe-mode window.
SAFE_MODE_BATCH = 80


def _strip_echo(output: str, command: str) -> str:
    """Drop the echoed `[user@id] <SAFE> command` line netmiko leaves when the prompt is not `... > `."""
    first, _, rest = output.partition("\n")
    if first.rstrip().endswith(command.strip()) and first.lstrip().startswith("["):
        return rest
    return output


class DeviceError(Exception):
    """A command the router refused, with the RouterOS error text; the command's secrets are masked."""

    def __init__(self, host: str, command: str, error: str, output: str = "") -> None:
        self.host = host
        self.command = mask_command(command)
        self.error = error
        self.output = output  # the whole reply: on a line of several commands, what ran before the error
        super().__init__(f"{host}: `{self.command}` failed: {error}")


class SafeModeHeld(DeviceError):
    """Another session holds safe mode on the router: ikefleet did not take it and changed nothing."""


TIMEOUT_ATTR = "command_timeout"  # on a netmiko ReadTimeout: the seconds that ran out


def timed_out(seconds: float, error: BaseException | None = None) -> BaseException:
    """A netmiko ReadTimeout (the given one, or a new one) that knows the command timeout that ran out, so
    its words can name the setting to raise (netmiko is imported here only, as elsewhere in this module)."""
    from netmiko.exceptions import ReadTimeout

    error = error or ReadTimeout(f"no answer within {seconds:g} s (command_timeout)")
    setattr(error, TIMEOUT_ATTR, seconds)
    return error


def _refused(exc: BaseException | None) -> bool:
    """Connection refused, directly or inside paramiko's NoValidConnectionsError (one error per address)."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        return any(isinstance(e, ConnectionRefusedError) for e in errors.values())
    return isinstance(exc, ConnectionRefusedError)


def describe(exc: BaseException) -> str:
    """An exception as words an operator acts on (no stack trace, no secrets)."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

    from ikefleet.connection.connector import ConnectFailed, LoginTimedOut, banner_timed_out, handshake_reset
    from ikefleet.connection.hostkeys import HostKeyChanged
    from ikefleet.connection.jump import JumpHostError

    if isinstance(exc, interrupt.Interrupted | JumpHostError | LoginTimedOut):  # already operator words
        return str(exc)
    if isinstance(exc, ConnectFailed):
        tries = f"{exc.attempts} connection attempt" + ("s" if exc.attempts != 1 else "")
        if handshake_reset(exc.cause):
            return _reset_words(exc.attempts)
        return f"{describe(exc.cause)}; gave up after {tries}"
    if isinstance(exc, DeviceError):
        return exc.error
    if isinstance(exc, HostKeyChanged):
        return str(exc)
    if isinstance(exc, NetmikoAuthenticationException):
        return (
            "authentication failed: wrong username or password (check the secrets file / IKEFLEET_PASSWORD)"
        )
    if isinstance(exc, ReadTimeout) and isinstance(getattr(exc, TIMEOUT_ATTR, None), int | float):
        return (f"the router stopped answering mid-command: no answer within {getattr(exc, TIMEOUT_ATTR):g} s"
                " (command_timeout); if it is only slow, raise command_timeout in config.yaml"
                " (ikefleet.connect.command_timeout) or in the host's data; safe mode undoes an open change")
    if isinstance(exc, ReadTimeout):
        return "the router stopped answering mid-command (read timeout); safe mode undoes an open change"
    # netmiko re-raises paramiko's socket errors as a timeout; transport.tcp_socket raises them as is
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, NetmikoTimeoutException) and _refused(exc.__context__)
    ):
        return "could not connect: connection refused (SSH service down or wrong port)"
    if handshake_reset(exc):  # before the timeout: netmiko re-raises a reset banner read as a timeout too
        return _reset_words(1)
    if banner_timed_out(exc):
        return "could not connect: no SSH banner within banner_timeout (router busy or not an SSH server)"
    if isinstance(exc, NetmikoTimeoutException | TimeoutError):
        return "could not connect: TCP connection timed out (router down or unreachable)"
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ConnectionError | EOFError):
        return f"could not connect: {exc.strerror.lower()}"
    if "Error reading SSH" in str(exc):  # paramiko, before any login
        return "could not connect: the SSH handshake was cut before login (router busy or rate-limiting SSH)"
    if isinstance(exc, EOFError | ConnectionResetError) or "Socket is closed" in str(exc):
        return "the SSH session dropped"
    return f"{type(exc).__name__}: {exc}"


def _local_address(connection: Any) -> str:
    """This session's own address (as a router reached directly sees it); '' when not known."""
    try:
        return str(connection.remote_conn.get_transport().sock.getsockname()[0])
    except Exception:  # behind a jump host the socket is OpenSSH's pipe
        return ""


def _reset_words(attempts: int) -> str:
    return (f"could not connect: connection reset before the SSH handshake ({attempts} attempt"
            f"{'s' if attempts != 1 else ''}) — rate limit or MaxStartups on the router/jump host?")


def _dropped(connection: Any) -> bool:
    """True when the SSH channel or transport under a netmiko session is gone."""
    try:
        channel = connection.remote_conn
        transport = channel.get_transport()
        return bool(channel.closed or transport is None or not transport.is_active())
    except Exception:
        return False


@contextlib.contextmanager
def drop_said(connection: Any) -> Iterator[None]:
    """A failure of the block on a session that is gone is re-raised as "the SSH session dropped": a closed
    channel reads as silence, so netmiko reports a drop as a read timeout."""
    try:
        yield
    except Exception as exc:
        if _dropped(connection):
            raise EOFError("the SSH session dropped") from exc
        raise


SAFE_STATE = "_ikefleet_safe_mode"  # attribute of the netmiko connection: its SafeMode


@dataclass
class SafeMode:
    """Safe mode on one SSH session. Kept on the connection, not the Device: every task makes its own Device,
    and whoever closes the session (a failed task, Nornir's close_connections, the second Ctrl-C from the
    main thread) must know whether closing it has to undo."""

    held: bool = False  # from the Ctrl-X that takes it until its release is seen
    sent: bool = False  # a command was sent in the window held now
    released: int = 0  # windows with commands in them released (kept) in this session


def safe_mode(connection: Any) -> SafeMode | None:
    """The session's safe-mode state; None when it never asked for safe mode."""
    state = getattr(connection, SAFE_STATE, None)
    return state if isinstance(state, SafeMode) else None


def _guarded(connection: Any) -> SafeMode:
    """The session's SafeMode, its close made safe first: netmiko ends a RouterOS session with `quit`
    (MikrotikBase.cleanup), and RouterOS keeps safe-mode changes on `quit`; only Ctrl-D or a dropped session
    undoes them (MikroTik manual, Console: Safe Mode). While safe mode is held, netmiko's `disconnect` (every
    close path: Nornir's close_connection(s), a failed task's drop) sends Ctrl-D instead, then closes the
    transport."""
    state = safe_mode(connection)
    if state is not None:
        return state
    state = SafeMode()
    cleanup = connection.cleanup

    def guarded_cleanup(command: str = "quit") -> None:
        if state.held:
            connection.write_channel(CTRL_D)
            return
        cleanup(command)

    connection.cleanup = guarded_cleanup
    setattr(connection, SAFE_STATE, state)
    return state


class Device:
    """Send commands to one router and know when it said no."""

    def __init__(self, host: str, connection: Any, *, read_timeout: float = 60.0) -> None:
        self.host = host
        self.connection = connection
        self.read_timeout = read_timeout

    @property
    def in_safe_mode(self) -> bool:
        state = safe_mode(self.connection)
        return state is not None and state.held

    def send(self, command: str) -> str:
        """Run one command; raise DeviceError when RouterOS answers with an error line, or instead of the
        command when the run was interrupted mid-push (once: the caller undoes the window, then restores),
        or Interrupted after a second Ctrl-C (nothing more is sent to any router)."""
        if interrupt.STOP.aborted.is_set():
            raise interrupt.Interrupted("aborted, nothing more sent")
        if self.in_safe_mode and interrupt.STOP.claim(self.host):
            why = f"{interrupt.MESSAGE}: stopped mid-push, safe mode undid the open change"
            raise DeviceError(self.host, command, why)
        if self.in_safe_mode:
            _guarded(self.connection).sent = True
        with drop_said(self.connection):
            output = self._exchange(command)
            if _PAGER.search(output, last_line_at(output)):
                output = self._dump_pages(output)
        output = _strip_echo(output, command)
        error = detect_error(output)
        if error is not None:
            raise DeviceError(self.host, command, error.text, output)
        return output

    def _exchange(self, command: str) -> str:
        """netmiko's `send_command` (command echo read first, prompt and command stripped), its reads as
        `exchange` makes them."""
        line, output = exchange(self.connection, command, self.read_timeout)
        return str(self.connection.strip_prompt(self.connection.strip_command(line, output)))

    def _dump_pages(self, output: str) -> str:
        """Answer the pager with `D` (dump the rest) until the prompt comes; the pages joined, no prompt."""
        pages = [re.sub(PAGER, "", output)]
        while True:
            self.connection.write_channel("D")
            more = self.connection.read_until_pattern(
                pattern=f"{PROMPT}|{PAGER}", read_timeout=self.read_timeout
            )
            more = _PAGER_ERASE.sub("", more)
            if not re.search(PAGER, more):
                pages.append(_LAST_PROMPT.sub("", more))
                return "".join(pages)
            pages.append(re.sub(PAGER, "", more))

    def enter_safe_mode(self) -> None:
        """Ctrl-X takes safe mode. Held from before the key is sent: a session closed while the answer is
        awaited is ended by Ctrl-D, which undoes nothing a `quit` would keep if safe mode was not taken."""
        state = _guarded(self.connection)
        state.held = True
        self.connection.write_channel(CTRL_X)
        out = self.connection.read_until_pattern(pattern=f"{SAFE_PROMPT}|{HIJACK}",
                                                 read_timeout=self.read_timeout)
        if re.search(HIJACK, out) is None:
            return
        self.connection.write_channel(DONT_TAKE)
        self.connection.read_until_pattern(pattern=PROMPT, read_timeout=self.read_timeout)
        state.held = False
        holder = _HOLDER.search(out)
        raise SafeModeHeld(self.host, "<Ctrl-X>", self._held_by(holder[1].strip() if holder else ""))

    def _held_by(self, holder: str) -> str:
        """Why the host stops, naming who may hold safe mode: RouterOS's prompt says "someone" (the
        manual's wording), so the other logins of `/user active` are listed (it does not say which)."""
        named = "" if holder in ("", "someone") else f" ({holder})"
        try:
            others = ", ".join(self._other_logins()) or "none listed"
        except Exception as exc:  # the reason stands without the list
            others = f"not readable ({type(exc).__name__})"
        return (f"another session holds safe mode on the router{named}: answered RouterOS's hijack prompt "
                f"with '{DONT_TAKE}' (safe mode not taken, that session's changes left alone); logged in "
                f"besides this run: {others}; run again once that session has left safe mode")

    def _other_logins(self) -> list[str]:
        """`/user active` without this session (its user, from its local address when known)."""
        from ikefleet.parsers.generic import parse_terse

        rows = [r["values"] for r in parse_terse(self.send(ACTIVE_READ), ACTIVE_READ)]
        me = str(getattr(self.connection, "username", "")).partition("+")[0]
        mine = [r for r in rows if r.get("name") == me]
        local = _local_address(self.connection)
        mine = [r for r in mine if r.get("address") == local] or mine
        if mine:
            rows.remove(mine[-1])  # the newest such login is this one
        return [f"{r.get('name', '?')} from {r.get('address') or '?'} via {r.get('via', '?')}"
                + (f" since {r['when']}" if r.get("when") else "") for r in rows]

    def leave_safe_mode(self) -> None:
        """Keep the changes: Ctrl-X again releases safe mode (held until the plain prompt says so)."""
        self.connection.write_channel(CTRL_X)
        self.connection.read_until_pattern(pattern=r"\][^\r\n<]*>\s*$", read_timeout=self.read_timeout)
        state = _guarded(self.connection)
        state.released += state.sent
        state.held = state.sent = False

    def probe_safe_mode(self) -> None:
        """Take safe mode and release it at once, nothing sent: SafeModeHeld when another session holds it,
        before anything (a backup included) is done to the router."""
        self.enter_safe_mode()
        self.leave_safe_mode()

    @contextlib.contextmanager
    def safe_mode_window(self) -> Iterator[None]:
        """Safe mode for the block, released at its end; any exception in it (KeyboardInterrupt too) undoes
        the window by ending the session with Ctrl-D (`abort`) before it propagates."""
        self.enter_safe_mode()
        try:
            yield
        except BaseException:
            self.abort()
            raise
        self.leave_safe_mode()

    def abort(self) -> None:
        """Undo everything done in this safe-mode window: Ctrl-D ends the session and RouterOS unrolls.

        The transport is closed without `quit` (which would keep the changes). The connection is unusable
        afterwards; Nornir's next `get_connection` opens a new one.
        """
        with contextlib.suppress(Exception):
            self.connection.write_channel(CTRL_D)
        state = safe_mode(self.connection)
        if state is not None:
            state.held = state.sent = False  # undone: the session is gone
        for handle in ("remote_conn", "remote_conn_pre"):
            with contextlib.suppress(Exception):
                getattr(self.connection, handle).close()


def exchange(conn: Any, command: str, read_timeout: float, reply_end: re.Pattern[str] | None = None
             ) -> tuple[str, str]:
    """Send one command line and read its reply up to the prompt (`reply_end`: the prompt or the pager):
    (the line sent, the reply with its echo and prompt). netmiko's `send_command` reads (command echo first,
    a repainted first line dropped), but each read is searched for the prompt from just before it: netmiko
    searches the whole reply again after every read, which is quadratic in its size (the 1000-branch hub's
    4 MB reply: 0.4 s of CPU); and of that only its last line (`last_line_at`: a regex tried at each of a
    branch's 47 KB took 0.27 ms); and an empty read waits for data (send_command sleeps 25 ms)."""
    end = reply_end or _REPLY_END
    line = conn.normalize_cmd(command)
    start = time.monotonic()
    conn.write_channel(line)
    echo = conn.command_echo_read(cmd=command.strip(), read_timeout=10)
    output = unpainted(echo, end.pattern, conn.RETURN)
    searched = 0
    while end.search(output, last_line_at(output, max(0, searched - _PROMPT_ROOM))) is None:
        left = read_timeout - (time.monotonic() - start)
        if left <= 0:
            raise timed_out(read_timeout)
        searched = len(output)
        more = conn.read_channel()  # first what netmiko kept after the echo, then what has come
        if not more:
            wait_readable(conn, min(left, WAIT_S))
        output += more
    return line, output


def wait_readable(connection: Any, seconds: float) -> None:
    """Wait until the session has data, at most `seconds`. netmiko's send_command sleeps a fixed 25 ms
    between reads, so a slow reply (a busy router, a run's hundreds of threads on two cores) is read and
    searched empty dozens of times. The RouterOS driver waits in paramiko's `recv` (`wait_for_data`);
    another connection is polled as netmiko does."""
    wait = getattr(connection, "wait_for_data", None)
    if wait is None:
        time.sleep(min(seconds, POLL_S))
        return
    wait(seconds)


def last_line_at(text: str, start: int = 0) -> int:
    r"""Where the text's last line with more than blanks starts, not before `start`: the only place a match
    of PROMPT or PAGER can start, as both end in `\s*$` and hold no line break before it."""
    end = start + len(text[start:].rstrip())
    return max(start, text.rfind("\n", start, end) + 1, text.rfind("\r", start, end) + 1)


def unpainted(data: str, reply_end: str, newline: str) -> str:
    """The reply without a repainted first line: a console that redraws the echoed command (backspaces in
    it) can show what looks like the prompt there, so from the prompt pattern on that line is dropped
    (what netmiko's send_command does with its own first-line handling)."""
    if "\x08" not in data:  # (nor in its first line, found without looking for it)
        return data
    first, sep, rest = data.partition(newline)
    if "\x08" not in first:
        return data
    return re.sub(reply_end + r".*$", "", first) + sep + rest
