"""A simulated router: its identity on the lab network, its stored configuration and its file store."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from ikefleet.routeros.config import Config

from .clock import LabClock


@dataclass(frozen=True)
class Work:
    """Something the router is busy with (a key being made): `finish` runs once the monotonic clock passes
    `deadline` (`Router.finish_due`), never earlier, whoever looks first."""

    deadline: float
    finish: Callable[[], None]
    subject: object = None  # what it works on (a certificate item), so a second command can see it busy


@dataclass(frozen=True)
class RouterSpec:
    """Where a lab router listens and what it was set up as ("initial setup done" in the seed's words)."""

    name: str
    role: str  # "responder" | "initiator"
    host: str  # loopback address the SSH server binds, e.g. 127.0.1.2
    port: int
    username: str
    password: str
    wan_address: str  # e.g. 203.0.113.1/24 (documentation range)
    lan_prefix: str  # e.g. 192.168.1.0/24; the bridge gets the first host address
    version: str = "6.49.2"
    model: str = "CCR1009-7G-1C-1S+"


@dataclass
class Faults:
    """Faults switched on per router (`ikefleet lab fault`). None/empty means off."""

    refuse: bool = False
    reset_next: int = 0  # the next N connections are reset before the SSH handshake (rate limit, MaxStartups)
    bad_password: bool = False
    latency_ms: int = 0
    login_delay_ms: int = 0  # each password check takes this long
    drop_after: int | None = None
    fail_command: str | None = None  # regex; matching commands fail with `fail_error`
    fail_error: str = "failure: simulated fault"
    wan_down: bool = False
    clock_offset_s: int = 0
    mtu: int | None = None
    ike_drop: bool = False
    bfd_drop: bool = False  # BFD control packets (UDP 3784) lost: the session stays down, OSPF stays Full


class FileStore:
    """The router's `/file` store, kept as real files under the router's directory."""

    def __init__(self, root: Path, clock: LabClock) -> None:
        self.root = root
        self.clock = clock  # a file's creation-time is the lab's time, not the jump host's
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        safe = name.lstrip("/").replace("..", "_")
        return self.root / safe

    def names(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = self.clock.now().timestamp()
        os.utime(path, (stamp, stamp))

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def mtime(self, name: str) -> datetime:
        return datetime.fromtimestamp(self._path(name).stat().st_mtime, tz=UTC)


@dataclass(frozen=True)
class ActiveLogin:
    """One row of `/user active`: a console login now open (the SSH server adds and removes them)."""

    when: datetime
    name: str
    address: str
    via: str = "ssh"
    group: str = "full"


@dataclass
class Router:
    """One lab router. The engine changes `config`; `changed()` tells the lab to persist and recompute."""

    spec: RouterSpec
    directory: Path
    config: Config = field(default_factory=Config)
    faults: Faults = field(default_factory=Faults)
    listeners: list[Callable[[Router], None]] = field(default_factory=list)
    # The lab's shared clock (one per lab): the router's time is the clock's plus its `clock-offset` fault.
    clock: LabClock = field(default_factory=LabClock)
    booted_at: datetime = field(init=False)  # when the router object is made, on its clock
    # Called by the engine (router, menu path) before it reads a menu (print, find), so time-driven fields
    # (uptime, expires-in, byte counters) and the routing table are current. The lab manager sets it.
    refresh_state: Callable[[Router, str], None] | None = None
    # `/log print` entries: (time, topics, message); the fabric and the engine append.
    logs: deque[tuple[datetime, str, str]] = field(default_factory=lambda: deque(maxlen=1000))
    # `/user active` rows: the logins now open, in login order.
    active_logins: list[ActiveLogin] = field(default_factory=list)
    # The console session holding safe mode: at most one per router (a second one is asked to hijack it).
    safe_mode_holder: object | None = None
    # Work in progress (`/certificate sign` making a key): finished lazily by `finish_due`, so the lab never
    # blocks its event loop while a key is being made and other routers and sessions keep answering.
    work: list[Work] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.booted_at = self.clock.now()
        self.files = FileStore(self.directory / "files", self.clock)

    def log(self, topics: str, message: str) -> None:
        """Append a `/log` entry, e.g. `log("ipsec,error", "identity not found for peer: ...")`."""
        self.logs.append((self.now(), topics, message))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def major_version(self) -> int:
        return _major(self.spec.version)

    def now(self) -> datetime:
        """The router's clock: the lab's clock plus the `clock-offset` fault."""
        return self.clock.now() + timedelta(seconds=self.faults.clock_offset_s)

    def finish_due(self) -> None:
        """Finish the work whose time has come (the console calls it before every statement)."""
        if not self.work:
            return
        now = time.monotonic()
        due = [w for w in self.work if w.deadline <= now]
        if not due:
            return
        self.work = [w for w in self.work if w.deadline > now]
        for work in sorted(due, key=lambda w: w.deadline):
            work.finish()
        self.changed()

    def changed(self) -> None:
        for listener in self.listeners:
            listener(self)

    @property
    def config_path(self) -> Path:
        return self.directory / "config.json"

    def save(self) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        # owner-only: the spec holds the router's login password (like a real router's user database)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps({"spec": asdict(self.spec), "config": self.config.to_json()}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.config_path)

    def load(self) -> bool:
        """Load stored configuration; False when the router has never been saved (fresh)."""
        if not self.config_path.exists():
            return False
        self.config = Config.from_json(json.loads(self.config_path.read_text())["config"])
        return True


@cache
def _major(version: str) -> int:
    """6 for "6.49.2". Cached: the SSH console asks once per echoed character (a verify batch line is ~1,150),
    and splitting the string each time cost ~0.1-0.15 ms of a login's ~7 ms (bench/console_bench.py)."""
    return int(version.split(".")[0])
