"""The lab's SSH front end: one asyncssh listener per router, a RouterOS-like terminal, SCP/SFTP, faults.

The console engine (`ikefleet.lab.engine.Session`) turns a command line into output text; this module only
does what the SSH server of a real RouterOS v6 does around it: login-name suffix options, banner, echo,
line editing, prompt painting, safe-mode key, `quit`, exec requests, file transfer into `Router.files`, and
the session faults of `Router.faults`, and `/user active`'s list of open logins. Facts:
`/work/shared/notes/routeros-cli-facts.md`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncssh
from cryptography.utils import CryptographyDeprecationWarning

from ikefleet import private

from . import ssh_algorithms
from .router import ActiveLogin, Router

log = logging.getLogger(__name__)
# RouterOS offers only finite-field Diffie-Hellman (docs/routeros-ssh.md), which `cryptography` deprecates:
# asyncssh serves it that way, and the lab must, so the warning is for no one who runs the lab.
FFDH_WARNING = "Diffie-Hellman over finite fields"
warnings.filterwarnings("ignore", FFDH_WARNING, CryptographyDeprecationWarning, r"asyncssh\.crypto\.dh")

BANNER_LOGO = """

  MMM      MMM       KKK                          TTTTTTTTTTT      KKK
  MMMM    MMMM       KKK                          TTTTTTTTTTT      KKK
  MMM MMMM MMM  III  KKK  KKK  RRRRRR     OOOOOO      TTT     III  KKK  KKK
  MMM  MM  MMM  III  KKKKK     RRR  RRR  OOO  OOO     TTT     III  KKKKK
  MMM      MMM  III  KKK KKK   RRRRRR    OOO  OOO     TTT     III  KKK KKK
  MMM      MMM  III  KKK  KKK  RRR  RRR   OOOOOO      TTT     III  KKK  KKK
"""
BANNER_HELP = """
[?]             Gives the list of available commands
command [?]     Gives help on the command and list of arguments

[Tab]           Completes the command/word. If the input is ambiguous,
                a second [Tab] gives possible options

/               Move up to base level
..              Move up one level
/command        Use command at the base level
"""

# Devices whose persistent storage is the `flash/` directory (files outside it live on a RAM disk); on NAND
# devices (CCR, RB4011) and CHR there is no `flash/` and files live at the root (help.mikrotik.com, "Files").
FLASH_MODEL_PREFIXES = ("RB750", "RB751", "RB951", "RB952", "RB941", "RB2011", "hAP", "hEX", "cAP", "wAP")

CTRL_C, CTRL_D, CTRL_X, BACKSPACES, ESC = "\x03", "\x04", "\x18", ("\x7f", "\x08"), "\x1b"
TERMINAL_PROBE = "\x1bZ"
PAGER_PROMPT = "-- [Q quit|D dump|down]"
_TYPED = re.compile("[^\x00-\x08\x0a-\x1f\x7f]+")  # printable keys and tabs: what `_type` takes
PROBE_TIMEOUT_S = 0.3
SSH_MSG_IGNORE = 2  # RFC 4253 S11.2
EMPTY_STRING = b"\x00\x00\x00\x00"  # an SSH string of no bytes: what asyncssh's padding packet carries


class ConsoleSession(Protocol):
    """What `ikefleet.lab.engine.Session` offers the SSH server."""

    @property
    def prompt(self) -> str: ...

    def execute(self, line: str, refuse: tuple[str, str] | None = None) -> str:
        """Run a console line; statements matching `refuse[0]` fail with `refuse[1]` (fail-command)."""
        ...

    def toggle_safe_mode(self) -> str: ...

    def close(self, dropped: bool) -> None: ...


SessionFactory = Callable[[Router, str, int], ConsoleSession]


def engine_session_factory(router: Router, user: str, width: int) -> ConsoleSession:
    """The real console engine (imported late: it is a heavier module and not needed for file transfer)."""
    from .engine import Session

    session = Session(router, user, width=width)
    session.waits_async = True  # `Terminal._run_line` awaits a monitor's work instead of blocking the loop
    return session


@dataclass(frozen=True)
class LoginName:
    """`admin+ct511w4098h` → user `admin` and the console options after `+` (wiki: Console login process)."""

    user: str
    colors: bool = True
    detect_terminal: bool = True
    dumb: bool = False
    width: int | None = None
    height: int | None = None

    @classmethod
    def parse(cls, login: str) -> LoginName:
        user, _, params = login.partition("+")
        options: dict[str, Any] = {}
        for number, letter in re.findall(r"(\d*)([a-z])", params):
            if letter == "c":
                options["colors"] = False
            elif letter == "t":
                options["detect_terminal"] = False
            elif letter == "e":
                options["dumb"] = True
            elif letter == "w" and number:
                options["width"] = int(number)
            elif letter == "h" and number:
                options["height"] = int(number)
        return cls(user=user, **options)


@dataclass
class ConsoleQuirks:
    """Repaint behaviour that varies between RouterOS builds (unverified facts, so kept switchable).

    Defaults are what netmiko's MikroTik driver is written to cope with on v6: the prompt painted twice after
    a command (`strip_prompt` drops the second) and the input line redrawn on Enter (`strip_command`).
    `blank_line_after_output` adds an empty line before the prompt; off, because the console's own output
    already ends the way RouterOS prints it (detail prints end with their blank separator line).
    """

    double_prompt: bool = True
    redraw_on_enter: bool = True
    blank_line_after_output: bool = False
    crlf_is_one_enter: bool = True
    paging: bool = True  # output taller than the terminal stops at PAGER_PROMPT unless `without-paging`
    # RouterOS 7 (facts note; netmiko #3285): a line longer than the terminal scrolls sideways, shown as
    # "<" + its tail, so its echo never holds the whole command (v7 routers only).
    v7_scroll_long_lines: bool = True


def has_flash(model: str) -> bool:
    return model.startswith(FLASH_MODEL_PREFIXES)


def map_file_name(router: Router, path: str) -> str:
    """The `/file` name a transferred path lands on: without a `flash/` directory, `flash/x` is `x`."""
    name = path.lstrip("/")
    if not has_flash(router.spec.model) and (name == "flash" or name.startswith("flash/")):
        name = name[len("flash") :].lstrip("/")
    return name


HOST_KEY_FILE = "ssh_host_rsa_key"


def host_key(directory: Path) -> asyncssh.SSHKey:
    """One RSA 2048 host key per lab, RouterOS's default type and size (docs/routeros-ssh.md S5, S9),
    generated once and kept (owner-only from the start), so clients see the same key after a restart."""
    path = directory / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    directory.mkdir(parents=True, exist_ok=True)
    private.replace_text(path, key.export_private_key().decode())
    return key


class RouterFiles(asyncssh.SFTPServer):
    """SFTP (and SCP, which asyncssh serves through this class) rooted at the router's `/file` store."""

    def __init__(self, chan: asyncssh.SSHServerChannel, router: Router) -> None:
        self._router = router
        super().__init__(chan, chroot=str(router.files.root).encode())

    def map_path(self, path: bytes) -> bytes:
        name = map_file_name(self._router, path.decode("utf-8", "replace"))
        return super().map_path(("/" + name).encode())


@dataclass
class Handshakes:
    """SSH logins in flight (user authentication begun, not yet completed) across a lab, and their peak.

    Lets a test see from the routers' side how many logins a run attempts at once. Counted from the first
    authentication request, not from the TCP accept: a connection that only reads the host key (ikefleet's
    pinning check) never logs in, and its teardown reaches the server only some time after the client
    has moved on.
    """

    current: int = 0
    peak: int = 0
    total: int = 0

    def begin(self) -> None:
        self.current += 1
        self.total += 1
        self.peak = max(self.peak, self.current)

    def end(self) -> None:
        self.current -= 1

    def reset(self) -> None:
        self.current = self.peak = self.total = 0


def send_packets_as_routeros(conn: asyncssh.SSHServerConnection) -> None:
    """Let a lab connection send its packets as RouterOS does, each one as it is made: RouterOS's own packet
    log numbers what it sends one after the other, with nothing between (docs/routeros-ssh.md S12, S13).
    asyncssh 2.24 puts an empty SSH_MSG_IGNORE before every packet it sends once encrypted (a CBC-mode
    countermeasure, whatever the cipher), which doubles the packets a client decrypts and checks per reply.
    Only that padding packet is left out, by this connection's own `send_packet` (asyncssh sends it through
    `self.send_packet`); nothing else in the process changes. tests/lab/test_sshd_packets.py holds it."""
    send = conn.send_packet

    def send_packet(pkttype: int, *args: bytes, handler: Any = None) -> None:
        if pkttype == SSH_MSG_IGNORE and args == (EMPTY_STRING,):
            return
        send(pkttype, *args, handler=handler)

    setattr(conn, "send_packet", send_packet)  # noqa: B010 (an instance's method: mypy refuses the assignment)


class _Auth(asyncssh.SSHServer):
    """Password check against the login name's user part; the `bad_password` fault rejects everything."""

    def __init__(self, router: Router, connections: set[asyncssh.SSHServerConnection],
                 handshakes: Handshakes | None = None) -> None:
        self._router = router
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None
        self._handshakes = handshakes or Handshakes()
        self._in_handshake = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        faults = self._router.faults
        if faults.reset_next > 0:  # like an sshd over MaxStartups: the connection is dropped before login
            faults.reset_next -= 1
            conn.abort()
            return
        send_packets_as_routeros(conn)
        self._connections.add(conn)

    def auth_completed(self) -> None:
        self._done()

    def connection_lost(self, exc: Exception | None) -> None:
        self._done()
        self._connections.discard(self._conn)  # type: ignore[arg-type]

    def _done(self) -> None:
        if self._in_handshake:
            self._in_handshake = False
            self._handshakes.end()

    def begin_auth(self, username: str) -> bool:
        if not self._in_handshake:
            self._in_handshake = True
            self._handshakes.begin()
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        if self._router.faults.login_delay_ms:  # a busy router (or its RADIUS) is slow to accept a login
            await asyncio.sleep(self._router.faults.login_delay_ms / 1000)
        if self._router.faults.bad_password:
            return False
        spec = self._router.spec
        return LoginName.parse(username).user == spec.username and password == spec.password


@dataclass
class RouterServer:
    """The SSH listener of one router; the `refuse` fault closes it (connection refused), clearing reopens."""

    router: Router
    key: asyncssh.SSHKey
    session_factory: SessionFactory = engine_session_factory
    quirks: ConsoleQuirks = field(default_factory=ConsoleQuirks)
    listener: asyncssh.SSHAcceptor | None = None
    port: int = 0
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)
    handshakes: Handshakes = field(default_factory=Handshakes)

    async def start(self) -> None:
        if self.router.faults.refuse:
            self.port = self.port or self.router.spec.port
            return
        port = self.port or self.router.spec.port
        self.listener = await asyncssh.listen(
            self.router.spec.host,
            port,
            server_host_keys=[self.key],
            server_factory=lambda: _Auth(self.router, self.connections, self.handshakes),
            process_factory=self._handle,
            sftp_factory=lambda chan: RouterFiles(chan, self.router),
            allow_scp=True,
            line_editor=False,
            encoding="utf-8",
            keepalive_interval=0,
            gss_host=None,  # no Kerberos; the default looks up this host's FQDN at every login
            # RouterOS's key exchange, ciphers and MACs, not asyncssh's: a login costs the client what it does
            # on a real router (paramiko: a pure-Python 2048-bit group exchange, docs/routeros-ssh.md)
            **ssh_algorithms.listen_options(self.router.major_version),
        )
        self.port = self.listener.sockets[0].getsockname()[1]

    async def stop(self, sessions: bool = False) -> None:
        """Stop listening; with `sessions`, also end the open connections (lab shutdown)."""
        if self.listener is not None:
            self.listener.close()
            await self.listener.wait_closed()
            self.listener = None
        if sessions:
            for conn in list(self.connections):
                conn.close()
            for conn in list(self.connections):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(conn.wait_closed(), 2)

    async def apply_faults(self) -> None:
        """Open or close the listening socket to follow the `refuse` fault."""
        if self.router.faults.refuse and self.listener is not None:
            await self.stop()
        elif not self.router.faults.refuse and self.listener is None:
            await self.start()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        try:
            await Terminal(self, process).run()
        except (asyncssh.Error, ConnectionError, BrokenPipeError) as exc:
            log.debug("%s: session ended: %s", self.router.name, type(exc).__name__)
        except Exception:  # a console bug ends this session, never the lab
            log.exception("%s: session failed", self.router.name)
            with contextlib.suppress(Exception):
                process.exit(1)


class Terminal:
    """One SSH session channel: either an exec request or an interactive console."""

    def __init__(self, server: RouterServer, process: asyncssh.SSHServerProcess) -> None:
        self.server = server
        self.router = server.router
        self.quirks = server.quirks
        self.process = process
        self.login = LoginName.parse(process.get_extra_info("username") or "")
        pty_width, pty_height = process.get_terminal_size()[:2] if process.get_terminal_type() else (0, 0)
        self.width = self.login.width or pty_width or 80
        self.height = self.login.height or pty_height or 0
        self.pager: list[str] = []  # output lines still held back by the pager
        self.pager_tail = ""  # the prompt that follows the last of them
        self.session: ConsoleSession | None = None
        self.commands = 0
        self.pending = ""
        self.out: list[str] = []

    async def run(self) -> None:
        self.session = self.server.session_factory(self.router, self.login.user, self.width)
        dropped = True  # unless the session ends cleanly (quit, Ctrl-D, exec done): even when cancelled
        peer = self.process.get_extra_info("peername") or ("", 0)
        login = ActiveLogin(self.router.now(), self.login.user, str(peer[0]))
        self.router.active_logins.append(login)  # `/user active` lists it until the session ends
        try:
            if self.process.command is not None:
                await self._exec(self.process.command)
                dropped = False
                self.process.exit(0)
                return
            dropped = await self._interactive()
        finally:
            self.session.close(dropped=dropped)
            self.router.active_logins.remove(login)

    # -- exec -----------------------------------------------------------------------------------------------

    async def _exec(self, command: str) -> None:
        assert self.session is not None
        out: list[str] = []
        for line in command.replace("\r", "").split("\n"):
            if line.strip():
                out.append(await self._run_line(line))
        text = "\n".join(o for o in out if o)
        if text:
            self.process.stdout.write(text.replace("\n", "\r\n") + "\r\n")

    # -- interactive ----------------------------------------------------------------------------------------

    async def _interactive(self) -> bool:
        """Run the console until `quit` (False: a clean end) or Ctrl-D / a dropped connection (True)."""
        assert self.session is not None
        version = self.router.spec.version
        banner = BANNER_LOGO + f"\n  MikroTik RouterOS {version} (c) 1999-2021       https://www.mikrotik.com/\n"
        self._write(banner + BANNER_HELP + "\n")
        self._flush()
        if self.login.detect_terminal:
            await self._probe_terminal()
        self._write(self.session.prompt, raw=True)
        buffer, data = "", ""
        while True:
            self._flush()
            after_cr = bool(data) and data.endswith("\r")
            data, self.pending = (self.pending, "") if self.pending else (await self._read(), "")
            if data is None:
                return True
            i = 0
            while i < len(data):
                ch = data[i]
                i += 1
                if getattr(self.session, "hijacking", False):  # at HIJACK_PROMPT: one key answers
                    answer = self.session.answer_hijack(ch)  # type: ignore[attr-defined]
                    if answer is not None:
                        shown = ch + "\r\n" + (answer + "\r\n" if answer else "")
                        self._write(shown + self.session.prompt + buffer, raw=True)
                elif self.pager:
                    if ch == ESC:
                        down = data[i : i + 2] == "[B"
                        i = _skip_escape(data, i)
                        if not down:
                            continue
                        ch = "\n"
                    elif ch == "\r" and data[i : i + 1] == "\n":
                        i += 1
                    self._pager_key(ch)
                elif ch == ESC:
                    i = _skip_escape(data, i)
                elif ch in "\r\n":
                    one_enter = self.quirks.crlf_is_one_enter
                    if ch == "\n" and after_cr and one_enter and i == 1:
                        continue  # the \n of a \r\n split across two reads
                    if ch == "\r" and one_enter and data[i : i + 1] == "\n":
                        i += 1
                    result = await self._enter(buffer)
                    buffer = ""
                    if result is not None:
                        return result
                elif ch == CTRL_C:
                    buffer = ""
                    self._write("\r\n" + self.session.prompt, raw=True)
                elif ch == CTRL_D:
                    if not buffer:
                        # Ctrl-D ends the session like an abnormal exit: RouterOS undoes the safe-mode
                        # changes (MikroTik manual, Console: Safe Mode), unlike `/quit` which keeps them.
                        await self._quit()
                        return True
                elif ch == CTRL_X:
                    text = self.session.toggle_safe_mode()
                    if getattr(self.session, "hijacking", False):  # another session holds safe mode
                        self._write("\r\n" + text, raw=True)
                        continue
                    shown = "\r\n" + (text.replace("\n", "\r\n") + "\r\n" if text else "")
                    self._write(shown + self.session.prompt + buffer, raw=True)
                elif ch in BACKSPACES:
                    if buffer:
                        buffer = buffer[:-1]
                        self._write("\b \b", raw=True)
                elif ch >= " " or ch == "\t":  # typed keys up to the next control key, tabs ignored
                    keys = _TYPED.match(data, i - 1)
                    end = keys.end() if keys else i  # (it matches: `ch` is one of its keys)
                    buffer = self._type(buffer, data[i - 1 : end].replace("\t", ""))
                    i = end

    def _type(self, buffer: str, keys: str) -> str:
        """The line after typing `keys`, each echoed as RouterOS echoes a key: itself, or on v7 past the
        terminal width the line redrawn (`_view`). Keys that leave the whole line shown echo as themselves
        together, the same bytes as one by one (a client's command line is hundreds of keys in one read)."""
        assert self.session is not None
        prompt = self.session.prompt
        line = buffer + keys
        if self._view(prompt, line) == line:  # (then every shorter line is shown whole too)
            self._write(keys, raw=True)
            return line
        for ch in keys:
            buffer += ch
            view = self._view(prompt, buffer)
            self._write(ch if view == buffer else "\r" + prompt + view, raw=True)
        return buffer

    def _view(self, prompt: str, line: str) -> str:
        """The input line as shown: all of it, or on v7 past the terminal width "<" + the tail that fits."""
        room = self.width - len(prompt) - 1
        if not self.quirks.v7_scroll_long_lines or self.router.major_version < 7 or len(line) <= room:
            return line
        return "<" + line[len(line) - room + 1 :]

    async def _read(self) -> str | None:
        try:
            data = await self.process.stdin.read(4096)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, asyncssh.SignalReceived):
            return ""
        except (asyncssh.Error, ConnectionError):
            return None
        if not data:
            return None
        return data

    async def _probe_terminal(self) -> None:
        """Send `ESC Z` and swallow the terminal's answer; give up quickly when nothing answers."""
        self._write(TERMINAL_PROBE, raw=True)
        self._flush()
        with contextlib.suppress(TimeoutError, asyncssh.Error):
            answer = await asyncio.wait_for(self.process.stdin.read(64), PROBE_TIMEOUT_S)
            rest = answer
            if rest.startswith(ESC):
                end = _skip_escape(rest, 1)
                rest = rest[end:]
            self.pending = rest

    async def _enter(self, line: str) -> bool | None:
        """Handle one Enter; returns None to keep going, False after `quit`, True when dropped."""
        assert self.session is not None
        prompt = self.session.prompt
        if line.strip() in ("quit", "/quit"):
            await self._quit()
            return False
        drop_after = self.router.faults.drop_after
        if line.strip() and drop_after is not None and self.commands >= drop_after:
            self.process.channel.get_connection().abort()
            return True
        head = f"\r{prompt}{self._view(prompt, line)}\r\n" if self.quirks.redraw_on_enter else "\r\n"
        # e.g. safe mode taken over by another session; RouterOS prints it at once, the lab at the next Enter
        notices: list[str] = getattr(self.session, "notices", [])
        head += "".join(n + "\r\n" for n in notices)
        notices.clear()
        if not line.strip():
            self._write(head + self.session.prompt, raw=True)
            return None
        self.commands += 1
        self._flush()
        output = await self._run_line(line)
        new_prompt = self.session.prompt
        body = output.replace("\r\n", "\n").replace("\n", "\r\n")
        if body:
            body += "\r\n\r\n" if self.quirks.blank_line_after_output else "\r\n"
        tail = f"{new_prompt}\r{new_prompt}" if self.quirks.double_prompt else new_prompt
        lines = body.split("\r\n")[:-1]
        page = self.height - 1
        if self.quirks.paging and 0 < page < len(lines) and "without-paging" not in line:
            self.pager, self.pager_tail = lines[page:], tail
            self._write(head + "".join(x + "\r\n" for x in lines[:page]) + PAGER_PROMPT, raw=True)
            return None
        self._write(head + body + tail, raw=True)
        return None

    def _pager_key(self, key: str) -> None:
        """At the pager: q/Ctrl-C stop, d dumps the rest, space shows a page, Enter/down one line."""
        if key in "qQ\x03":
            count = 0
            self.pager = []
        elif key in "dD":
            count = len(self.pager)
        elif key == " ":
            count = max(1, self.height - 1)
        elif key in "\r\n":
            count = 1
        else:
            return
        shown, self.pager = self.pager[:count], self.pager[count:]
        out = "\r" + " " * len(PAGER_PROMPT) + "\r" + "".join(x + "\r\n" for x in shown)
        self._write(out + (PAGER_PROMPT if self.pager else self.pager_tail), raw=True)

    async def _run_line(self, line: str) -> str:
        assert self.session is not None
        faults = self.router.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        refuse = (faults.fail_command, faults.fail_error) if faults.fail_command else None
        try:
            out = self.session.execute(line, refuse)
        except Exception:  # the engine answers errors as text; a crash must not kill the lab
            log.exception("%s: console engine failed on a command", self.router.name)
            return "failure: lab console error (see the lab log)"
        take_wait = getattr(self.session, "take_wait", None)
        wait = take_wait() if take_wait is not None else 0.0
        if wait > 0:  # a monitor-style command's work: the other routers and sessions keep answering
            await asyncio.sleep(wait)
            self.router.finish_due()
        return out

    async def _quit(self) -> None:
        self._write("\r\ninterrupted\r\n", raw=True)
        self._flush()
        with contextlib.suppress(asyncssh.Error, ConnectionError, BrokenPipeError, OSError):
            self.process.exit(0)

    def _write(self, text: str, raw: bool = False) -> None:
        """Queue output; `_flush` sends it as one write (so a response and its prompt travel together)."""
        self.out.append(text if raw else text.replace("\n", "\r\n"))

    def _flush(self) -> None:
        text, self.out = "".join(self.out), []
        if not text or self.process.channel.is_closing():
            return
        with contextlib.suppress(asyncssh.Error, ConnectionError, BrokenPipeError, OSError):
            self.process.stdout.write(text)


def _skip_escape(data: str, i: int) -> int:
    """Index after an escape sequence whose ESC is at i-1 (CSI `ESC [ ... final`, VT52 `ESC / Z`, `ESC x`)."""
    if data[i : i + 1] == "/":
        return i + 2
    if i < len(data) and data[i] == "[":
        i += 1
        while i < len(data) and not ("@" <= data[i] <= "~"):
            i += 1
        return i + 1
    return i + 1
