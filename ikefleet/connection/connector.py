"""How a run opens its SSH sessions: timeouts, retries with backoff for connection errors, a bounded gate.

A fleet run opens one session per router. Routers come and go (reboots, flapping WAN, a jump host's
MaxStartups), so a *connection* error (refused, TCP timeout, the SSH handshake reset before login) is
retried with exponential backoff and jitter. Nothing else is: a wrong password stays wrong (and retrying
it may lock the account), and once logged in a command is never sent twice by this module. At most
`max_concurrent` handshakes are in flight across the whole run, whatever Nornir's worker count, so a
hundred branches do not hammer one jump host. Unset, it is 10 when routers sit behind jump hosts (OpenSSH's
MaxStartups default: sshd starts dropping unauthenticated connections past 10) and Nornir's worker count
when every router is reached directly (no shared door to protect; each router takes its own handshake).

Settings: `ikefleet.connect` in config.yaml (fleet-wide; `enable` puts it in the `routeros` connection
options, key `connect`), `connect_timeout` / `auth_timeout` / `command_timeout` in the inventory `data:` of
a host, a group or defaults (per host). The run's Connector (the gate, the attempts counted) is held by the
connection plugin's registry (`ikefleet.connection.plugin.RouterOS.connector`).
"""

from __future__ import annotations

import errno
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

from ikefleet.connection import settings
from ikefleet.connection.hostkeys import HostKeyChanged
from ikefleet.problems import FLEET, InventoryError, Problem, suggest

# paramiko's transport thread logs a handshake cut before login as an ERROR with a stack trace; with no
# logging configured Python would print it on stderr. The host's result already says it in operator words.
logging.getLogger("paramiko.transport").addHandler(logging.NullHandler())

# key -> (kind, default, minimum, maximum, what it is); seconds unless said otherwise
SETTINGS: dict[str, tuple[type, float, float, float, str]] = {
    "conn_timeout": (float, 10, 0.1, 600, "seconds to open the TCP connection"),
    "auth_timeout": (float, 10, 0.1, 600, "seconds the router may take to accept the login"),
    "banner_timeout": (float, 15, 0.1, 600, "seconds to the SSH banner"),
    "command_timeout": (float, 60, 1, 3600, "seconds one command may take to answer"),
    "attempts": (int, 3, 1, 20, "connection attempts per opening (connection errors only)"),
    "backoff": (float, 1.0, 0, 300, "seconds before the first retry, doubled for each further one"),
    "max_backoff": (float, 30, 0, 3600, "longest wait between two attempts"),
    "max_concurrent": (int, 0, 1, 1000, "SSH handshakes in flight at once across the run"),
}
# per-host inventory keys -> the setting they override
HOST_KEYS = {"connect_timeout": "conn_timeout", "auth_timeout": "auth_timeout",
             "command_timeout": "command_timeout"}


@dataclass(frozen=True)
class Policy:
    conn_timeout: float = 10
    auth_timeout: float = 10
    banner_timeout: float = 15
    command_timeout: float = 60
    attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 30
    max_concurrent: int | None = None  # None: JUMP_MAX_STARTUPS behind jump hosts, else the worker count

    def netmiko_extras(self) -> dict[str, float]:
        """ConnectHandler keywords (netmiko's own names)."""
        return {"conn_timeout": self.conn_timeout, "auth_timeout": self.auth_timeout,
                "banner_timeout": self.banner_timeout}

    def delay(self, retry: int, rng: random.Random) -> float:
        """Wait before retry number `retry` (1-based): exponential, capped, jittered to 50..100%."""
        base: float = min(self.max_backoff, self.backoff * 2 ** (retry - 1))
        return base * rng.uniform(0.5, 1.0)


def parse_policy(data: Any, source: str) -> Policy:
    """`ikefleet.connect` of config.yaml as a Policy; InventoryError naming every bad key and its fix."""
    if data is None:
        return Policy()
    if not isinstance(data, Mapping):
        raise InventoryError([Problem(source, FLEET, "ikefleet.connect", "expected a mapping",
                                      f"write it as key: value pairs ({', '.join(SETTINGS)})")])
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in SETTINGS:
            problems.append(Problem(source, FLEET, f"ikefleet.connect.{key}", "unknown key",
                                    suggest(str(key), SETTINGS)))
            continue
        value, message = check_value(key, raw)
        if message:
            problems.append(Problem(source, FLEET, f"ikefleet.connect.{key}", message, _fix(key)))
        else:
            values[key] = value
    if problems:
        raise InventoryError(problems)
    return Policy(**values)


def check_value(key: str, raw: Any) -> tuple[Any, str]:
    """(parsed value, '') or (None, what is wrong) for one setting."""
    kind, _, low, high, _ = SETTINGS[key]
    number_ok = isinstance(raw, int | float) and not isinstance(raw, bool)
    if not number_ok or (kind is int and not isinstance(raw, int)):
        return None, f"bad value {raw!r}: expected {'an integer' if kind is int else 'a number'}"
    if not low <= raw <= high:
        return None, f"{raw!r} is out of range {low:g}..{high:g}"
    return kind(raw), ""


def _fix(key: str) -> str:
    kind, _, low, high, what = SETTINGS[key]
    return f"set {key} ({what}) to {'an integer' if kind is int else 'a number'} from {low:g} to {high:g}"


class LoginTimedOut(Exception):
    """The router did not accept the login within auth_timeout. paramiko raises this as an authentication
    failure, but nothing was refused: a busy router (or its RADIUS) was slow, and a longer wait fixes it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"login timed out after {seconds:g} s (auth_timeout): the router was slower to accept the login"
            " than allowed, the password was not refused; raise auth_timeout in config.yaml"
            " (ikefleet.connect.auth_timeout) or in the host's data (auth_timeout)"
        )


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and the ones it was raised from or during, innermost last (netmiko re-raises paramiko's
    errors as its own, so the telling one is often a cause)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def login_timed_out(exc: BaseException) -> bool:
    """paramiko's "Authentication timeout." (auth_timeout ran out), as such or inside netmiko's error."""
    import paramiko

    return any(isinstance(e, paramiko.AuthenticationException) and "timeout" in str(e).lower()
               for e in causes(exc))


def _banner_read_failed(exc: BaseException) -> list[BaseException] | None:
    """The chain from paramiko's "Error reading SSH protocol banner" down, or None when it is not one."""
    chain = list(causes(exc))
    for index, error in enumerate(chain):
        if "SSH protocol banner" in str(error):
            return chain[index:]
    return None


def handshake_reset(exc: BaseException) -> bool:
    """The TCP connection was accepted and then closed or reset before the SSH banner: what an sshd over
    its MaxStartups, or a router rate-limiting new SSH connections, does. (A timeout waiting for the banner
    is a slow router, not a reset.)"""
    chain = _banner_read_failed(exc)
    return chain is not None and not any(isinstance(e, TimeoutError) for e in chain)


def banner_timed_out(exc: BaseException) -> bool:
    """The TCP connection was accepted but no SSH banner came within banner_timeout."""
    chain = _banner_read_failed(exc)
    return chain is not None and any(isinstance(e, TimeoutError) for e in chain)


class ConnectFailed(Exception):
    """Every attempt to open the session failed; `cause` is the last error, `attempts` how many were made."""

    def __init__(self, host: str, attempts: int, cause: BaseException) -> None:
        self.host, self.attempts, self.cause = host, attempts, cause
        super().__init__(f"{host}: {type(cause).__name__} after {attempts} attempt(s)")


def retryable(exc: BaseException) -> bool:
    """A connection error worth another attempt: refused, unreachable, timed out, reset before login.

    Never an authentication failure (paramiko's AuthenticationException is itself an SSHException, so it
    is tested first) and never a refused host key.
    """
    import paramiko
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout


    if isinstance(exc, NetmikoAuthenticationException | paramiko.AuthenticationException | HostKeyChanged):
        return False
    if isinstance(exc, ReadTimeout):  # logged in already: the session is up, the router is slow
        return False
    if isinstance(exc, NetmikoTimeoutException | paramiko.SSHException | ConnectionError | TimeoutError
                  | EOFError):
        return True
    # other socket errors: only the network's (a missing file or an unknown host name stays wrong)
    return isinstance(exc, OSError) and exc.errno in NETWORK_ERRNOS


T = TypeVar("T")
JUMP_MAX_STARTUPS = 10  # OpenSSH sshd's MaxStartups default (10:30:100)
NETWORK_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.ETIMEDOUT}


def wait(seconds: float) -> None:
    """The backoff wait (looked up at each call, so a test can watch the waits instead of sleeping)."""
    time.sleep(seconds)


def policy_of(host: Any) -> Policy:
    """The policy in this host's `routeros` connection options (`enable` put config.yaml's there; Policy()
    when there is none), with the host's own timeouts (HOST_KEYS in the inventory data of the host, its
    groups or defaults)."""
    policy = parse_policy(settings.of(host).get(settings.CONNECT),
                          f"{host.name}: connection_options.{settings.CONNECT}")
    changes: dict[str, Any] = {setting: float(host.get(key)) for key, setting in HOST_KEYS.items()
                               if host.get(key) is not None}
    return replace(policy, **changes)


class Connector:
    """One run's connection policy, its gate (the semaphore bounding handshakes in flight) and the
    connection attempts each host's openings made in this run (`attempts`)."""

    def __init__(self, policy: Policy, sleep: Callable[[float], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.policy = policy
        self.gate = threading.BoundedSemaphore(policy.max_concurrent or JUMP_MAX_STARTUPS)
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.attempts: dict[str, int] = {}  # host -> connection attempts this run (all its openings)
        self._lock = threading.Lock()

    def count(self, host: str, n: int) -> None:
        with self._lock:
            self.attempts[host] = self.attempts.get(host, 0) + n

    def open(self, name: str, attempt: Callable[[], T], counted: Callable[[int], None] | None = None) -> T:
        """Run `attempt` (one whole connection opening) until it succeeds, a non-connection error occurs
        or the attempts are used up; the gate is held only while an attempt runs, never while waiting.
        Each attempt is counted for `name` (and told to `counted`)."""
        tries = self.policy.attempts
        for number in range(1, tries + 1):
            self.count(name, 1)
            if counted is not None:
                counted(1)
            try:
                with self.gate:
                    return attempt()
            except Exception as exc:
                if not retryable(exc):
                    raise
                if number == tries:
                    raise ConnectFailed(name, number, exc) from exc
            (self.sleep or wait)(self.policy.delay(number, self.rng))
        raise AssertionError("unreachable")  # pragma: no cover


def enable(nornir: Any, policy: Policy, behind_jump: bool = False) -> Connector:
    """Put the policy in this Nornir object's `routeros` connection options and make its run's Connector
    (for `RouterOS.use`); an unset `max_concurrent` becomes JUMP_MAX_STARTUPS when hosts sit behind jump
    hosts, else the worker count."""
    if policy.max_concurrent is None:
        workers = int((nornir.config.runner.options or {}).get("num_workers", 20))
        policy = replace(policy, max_concurrent=JUMP_MAX_STARTUPS if behind_jump else workers)
    values = {key: value for key, value in asdict(policy).items() if value is not None}
    settings.bind(nornir.inventory, {settings.CONNECT: values})
    return Connector(policy)
