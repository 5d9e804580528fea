"""Router SSH host keys pinned per data directory: trust on first use, refuse a changed key.

The pins live in `<config dir>/.ikefleet/known_hosts` (OpenSSH format, `[host]:port` for non-22 ports), so
netmiko enforces them on the real session (`netmiko_options`). On first contact `check` fetches the key the
router offers before any login and pins it, and says so; a pinned router is not fetched again: its session
refuses a different key before authenticating, and that refusal carries the fix in its message, unless the
operator passes `--accept-new-hostkeys` (the key is then fetched and re-pinned)
for an intentional change (router replaced, reinstalled). Routers behind jump hosts are checked through the
same hops as their session (`ikefleet.connection.jump`); the jump hosts' own keys are OpenSSH's business.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from ikefleet import private
from ikefleet.connection import jump, settings
from ikefleet.connection.transport import offered_key

_LOCK = threading.Lock()  # Nornir runs hosts in threads; one writer of the file at a time


class HostKeyChanged(Exception):
    """The router offers a key different from the pinned one: possibly a man in the middle."""


@dataclass(frozen=True)
class Pin:
    """What `check` did: 'known' (matched), 'pinned' (first contact) or 'replaced' (accepted change);
    `entry` and `keys`: the host's pins as its session enforces them (`driver.RouterOSDriver`, given only
    these: paramiko would parse a pin file again for every session). Its fingerprint, the key `check`
    compared (the first of `keys`), is computed when a message needs it: a pinned router's session opens
    without it (18 us a router, a hash of the key)."""

    host: str
    action: str
    entry: str
    keys: tuple[paramiko.PKey, ...]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.keys[0])

    def message(self) -> str:
        if self.action == "pinned":
            return f"{self.host}: first contact, host key {self.fingerprint} trusted and pinned"
        if self.action == "replaced":
            return f"{self.host}: host key changed to {self.fingerprint}, accepted (--accept-new-hostkeys)"
        return f"{self.host}: host key {self.fingerprint} matches the pinned key"


def known_hosts_path(config_path: str | Path) -> Path:
    """The pin file of the data directory that holds config.yaml."""
    return Path(config_path).resolve().parent / ".ikefleet" / "known_hosts"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint form (what `ssh-keygen -lf` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def entry_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


# path -> (mtime_ns, size, pins): the pin file parsed once per change, not once per connection.
# (paramiko's HostKeys.load checks each line against all before it: 0.3 s per parse at 1,000 pins.)
_CACHE: dict[Path, tuple[int, int, dict[str, dict[str, paramiko.PKey]]]] = {}


def _load(path: Path) -> dict[str, dict[str, paramiko.PKey]]:
    """entry -> {key type: key}, from the cache while the file is unchanged; call with _LOCK held."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    cached = _CACHE.get(path)
    if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
        return cached[2]
    pins: dict[str, dict[str, paramiko.PKey]] = {}
    for line in path.read_text().splitlines():
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        if entry is not None and entry.key is not None:
            for name in entry.hostnames:
                pins.setdefault(name, {})[entry.key.get_name()] = entry.key
    _CACHE[path] = (st.st_mtime_ns, st.st_size, pins)
    return pins


def _line(entry: str, key: paramiko.PKey) -> str:
    return f"{entry} {key.get_name()} {key.get_base64()}\n"


def _save(pins: dict[str, dict[str, paramiko.PKey]], path: Path) -> None:
    private.directory(path.parent)
    private.replace_text(path, "".join(_line(e, k) for e, keys in pins.items() for k in keys.values()))
    _CACHE.pop(path, None)


def _append(entry: str, key: paramiko.PKey, path: Path) -> None:
    private.directory(path.parent)
    with private.open_file(path, "a") as f:
        f.write(_line(entry, key))
    _CACHE.pop(path, None)


def _changed(name: str, host: str, port: int, offered: paramiko.PKey, pinned: paramiko.PKey,
             known_hosts: Path) -> HostKeyChanged:
    return HostKeyChanged(
        f"{name}: host key changed ({host}:{port} offers {fingerprint(offered)}, pinned "
        f"{fingerprint(pinned)}); refusing to connect. If the router was replaced or reinstalled on "
        f"purpose, run again with --accept-new-hostkeys (or delete its line from {known_hosts})"
    )


def refused_by_session(host: Any, exc: paramiko.BadHostKeyException) -> HostKeyChanged:
    """The session's own refusal of a key that differs from the pin, in the words of `check_key`."""
    known = Path(settings.of(host).get(settings.KNOWN_HOSTS) or "known_hosts")
    return _changed(host.name, host.hostname, host.port or 22, exc.key, exc.expected_key, known)


def known_pin(name: str, host: str, port: int, known_hosts: Path) -> Pin | None:
    """The Pin of an already pinned router, without contacting it (None: not pinned yet). Its session
    enforces the pin itself (paramiko refuses a different key before authenticating), so fetching the key
    first would only double every handshake."""
    entry = entry_name(host, port)
    with _LOCK:
        pinned = _load(known_hosts).get(entry)
    if not pinned:
        return None
    keys = tuple(pinned.values())
    return Pin(name, "known", entry, keys)


def check_key(
    name: str, host: str, port: int, key: paramiko.PKey, known_hosts: Path, accept_new: bool = False
) -> Pin:
    """Compare `key` with the pin for host:port; pin on first use; raise HostKeyChanged on a mismatch."""
    entry = entry_name(host, port)
    with _LOCK:
        pins = _load(known_hosts)
        pinned = pins.get(entry)
        if pinned is not None and pinned.get(key.get_name()) == key:
            action = "known"
        elif pinned and not accept_new:
            raise _changed(name, host, port, key, next(iter(pinned.values())), known_hosts)
        elif pinned:
            _save({**pins, entry: {key.get_name(): key}}, known_hosts)
            action = "replaced"
        else:
            _append(entry, key, known_hosts)
            action = "pinned"
    return Pin(name, action, entry, (key,))


def check(
    name: str, host: str, port: int, known_hosts: Path, accept_new: bool = False, timeout: float = 10.0
) -> Pin:
    """Fetch the router's offered key and check it against the pins (see `check_key`)."""
    return check_key(name, host, port, offered_key(host, port, timeout), known_hosts, accept_new)


def netmiko_options(known_hosts: Path) -> dict[str, Any]:
    """netmiko connection extras under which the session itself refuses a key that differs from its pin.

    Not strict about unknown hosts: paramiko raises BadHostKeyException for a mismatch with a loaded pin
    whatever the policy, and plain Nornir tasks (nornir_netmiko) that skip `precheck` still connect.
    """
    return {
        "ssh_strict": False,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": str(known_hosts),
    }


def enable(nornir: Any, config_path: str | Path, accept_new: bool = False) -> None:
    """Make every connection of this Nornir object check and enforce the pins of config.yaml's directory:
    the pin file and the policy go into the `routeros` connection options (ikefleet.connection.settings).

    Routers behind jump hosts (`ikefleet.connection.jump.enable` ran first) are checked through the same path.
    """
    known = known_hosts_path(config_path)
    if known.exists():  # pins an older ikefleet (or a umask-000 shell) left open to others
        private.directory(known.parent)
        known.chmod(private.FILE_MODE)
    settings.bind(nornir.inventory, {settings.KNOWN_HOSTS: str(known),
                                     settings.ACCEPT_NEW_HOSTKEYS: accept_new, **netmiko_options(known)})


def precheck(host: Any) -> Pin | None:
    """Before a Nornir host's first connection: pin or check its key (None when pinning is not enabled).
    The Pin says what was done; the caller keeps it with the session it opens."""
    extras = settings.of(host)
    if not extras.get(settings.KNOWN_HOSTS):
        return None
    path, port, file = jump.route_of(host), host.port or 22, Path(extras[settings.KNOWN_HOSTS])
    accept_new = bool(extras.get(settings.ACCEPT_NEW_HOSTKEYS))
    known = None if accept_new else known_pin(host.name, host.hostname, port, file)
    if known is not None:  # the session enforces it (see known_pin)
        pin = known
    elif path is None:
        pin = check(host.name, host.hostname, port, file, accept_new)
    else:  # behind jump hosts: the key comes through the same hops as the session will
        pin = check_key(host.name, host.hostname, port, jump.offered_key(path), file, accept_new)
    if pin.action != "known":  # trust on first use / an accepted change is said, on stderr
        sys.stderr.write(f"ikefleet: {pin.message()}\n")  # one write: hosts run in threads
        sys.stderr.flush()
    return pin
