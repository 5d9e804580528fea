"""Routers behind SSH jump hosts, reached the way the operator's own OpenSSH `ssh_config` says.

OpenSSH does both halves: `ssh -G` evaluates the config for a router (Host/Match patterns, Include,
HostName, ProxyJump, ProxyCommand) and `ssh -W` opens the path, with `-J` for the hops before the last (what
OpenSSH itself runs for a ProxyJump). So User, Port, IdentityFile, ssh-agent, ControlMaster and the jump
hosts' known_hosts checks are exactly those of the operator's config, any number of hops. ikefleet only adds
`BatchMode yes` (an unattended run never waits on a prompt) through `<data dir>/.ikefleet/ssh_config`, which
includes the operator's file; netmiko gets one `ProxyCommand` per router in `.ikefleet/netmiko_ssh_config`.
A failing hop becomes one sentence naming the router, the jump host and the fix (`explain`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from select import select
from typing import Any

import paramiko

from ikefleet import private
from ikefleet.connection import settings, transport

WRAPPER = "ssh_config"  # in <data dir>/.ikefleet: the operator's config, BatchMode on
NETMIKO = "netmiko_ssh_config"  # in <data dir>/.ikefleet: one ProxyCommand per routed router, for netmiko


class JumpHostError(Exception):
    """A router cannot be reached through its jump host(s); the message names host, jump host and fix."""


@dataclass(frozen=True)
class Route:
    """How one router is reached: the command whose stdin/stdout is the router's SSH port."""

    host: str  # inventory name
    hostname: str  # inventory hostname: what netmiko looks up and what the router's pin is filed under
    target: str  # the router's address as the last hop sees it (ssh_config HostName)
    port: int
    command: tuple[str, ...]
    hops: tuple[str, ...]  # ProxyJump hops, first to last; empty for a ProxyCommand
    hop_addresses: tuple[str, ...]  # each hop's HostName, to name the hop an OpenSSH error is about
    hop_ports: tuple[int, ...]
    ssh_config: str  # the operator's file, for the messages
    wrapper: str  # .ikefleet/ssh_config, for probing the hops when OpenSSH's error does not name one

    @property
    def via(self) -> str:
        if self.hops:
            return " -> ".join(self.hops)
        return f"ProxyCommand `{self.command[-1].removeprefix('exec ')}`"

    def as_data(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Route:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)


def _ssh() -> str:
    found = shutil.which("ssh")
    if not found:
        raise JumpHostError("ssh_config is set but the OpenSSH client `ssh` is not installed "
                            "(apt-get install openssh-client)")
    return found


def destination(hop: str) -> str:
    """A ProxyJump entry (`host`, `user@host:port`, `ssh://...`) as an ssh destination argument."""
    if hop.startswith("ssh://") or ("@" not in hop and ":" not in hop):
        return hop
    return "ssh://" + hop


def resolved(ssh_config: Path, name: str, port: int | None = None) -> dict[str, str]:
    """OpenSSH's own evaluation of the config for destination `name` (`ssh -G`): keyword -> first value."""
    argv = [_ssh(), "-F", str(ssh_config), "-G", *(["-p", str(port)] if port else []), "--", name]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise JumpHostError(f"ssh_config {ssh_config}: OpenSSH cannot read it for {name}: "
                            f"{' '.join(done.stderr.split()) or 'exit ' + str(done.returncode)}")
    options: dict[str, str] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        options.setdefault(key, value)
    return options


def _expand(command: str, options: dict[str, str], name: str) -> str:
    """ProxyCommand tokens as OpenSSH expands them (%h %p %r %n %%)."""
    tokens = {"h": options.get("hostname", name), "p": options.get("port", "22"),
              "r": options.get("user", ""), "n": name, "%": "%"}
    return re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), command)


def route(name: str, hostname: str, port: int, ssh_config: Path, wrapper: Path,
          hops_seen: dict[str, dict[str, str]] | None = None) -> Route | None:
    """The path to one router under the operator's ssh_config, or None when it is reached directly.

    `hops_seen` caches the jump hosts' own lookups across the routers of a run (most share their hops).
    """
    options = resolved(wrapper, hostname, port)
    target, port = options.get("hostname", hostname), int(options.get("port", port))
    proxy_command = options.get("proxycommand", "none")
    if proxy_command != "none":
        command = ("/bin/sh", "-c", "exec " + _expand(proxy_command, options, hostname))
        return Route(name, hostname, target, port, command, (), (), (), str(ssh_config), str(wrapper))
    jumps = options.get("proxyjump", "none")
    if jumps == "none":
        return None
    hops = tuple(h.strip() for h in jumps.split(",") if h.strip())
    earlier = ("-J", ",".join(hops[:-1])) if len(hops) > 1 else ()
    command = (_ssh(), "-F", str(wrapper), *earlier, "-W", f"[{target}]:{port}", destination(hops[-1]))
    seen = {} if hops_seen is None else hops_seen
    ends = [seen[h] if h in seen else seen.setdefault(h, resolved(wrapper, destination(h))) for h in hops]
    addresses, ports = tuple(e.get("hostname", "") for e in ends), tuple(int(e.get("port", 22)) for e in ends)
    return Route(name, hostname, target, port, command, hops, addresses, ports, str(ssh_config), str(wrapper))


def write_wrapper(ssh_config: Path, directory: Path) -> Path:
    """`.ikefleet/ssh_config`: the operator's file with BatchMode forced on (first value wins in OpenSSH)."""
    text = (
        "# Written by ikefleet on each run: your ssh_config, never prompting (unattended runs).\n"
        "# Edit the file it includes, not this one.\n"
        "Host *\n    BatchMode yes\n"
        f'Include "{ssh_config.resolve()}"\n'
    )
    return _write(directory / WRAPPER, text)


def _write(path: Path, text: str) -> Path:
    private.directory(path.parent)
    return private.replace_text(path, text)


def netmiko_config(routes: list[Route], directory: Path) -> Path:
    """`.ikefleet/netmiko_ssh_config`: netmiko (paramiko's parser) opens each router through its route.

    Keyed and named by the inventory hostname (an ssh_config alias stays the alias: the sock carries the
    path, and paramiko files the host key under that name, as the pins are). paramiko matches on the
    name only, so two routers with one hostname but different routes cannot be told apart: refused.
    Each command runs under `setsid`: Ctrl-C at the terminal signals the whole foreground process group,
    and the ssh under a live session must not die before ikefleet's own orderly stop (a direct TCP session
    would not either); it still ends when ikefleet closes its pipe.
    """
    setsid = ("setsid",) if shutil.which("setsid") else ()
    by_name: dict[str, Route] = {}
    lines = ["# Written by ikefleet on each run from your ssh_config; read by netmiko. Do not edit."]
    for r in routes:
        other = by_name.setdefault(r.hostname, r)
        if other is not r:
            if other.command != r.command:
                raise JumpHostError(f"{r.host}: hostname {r.hostname} is also {other.host}'s, behind another "
                                    "path; give each router behind a jump host its own hostname")
            continue
        command = shlex.join((*setsid, *r.command))
        lines += [f"Host {r.hostname}", f"    HostName {r.hostname}", f"    ProxyCommand {command}"]
    return _write(directory / NETMIKO, "\n".join(lines) + "\n")


def enable(nornir: Any, config_path: str | Path) -> dict[str, Route]:
    """Route every host of this Nornir object the way its ssh_config says (no ssh_config: nothing to do).

    Writes the two files under `<config dir>/.ikefleet`, points netmiko at the per-router one and puts
    each host's route in the `routeros` connection options (for the host-key pre-check, which must take the
    same path, and for the session opening, which then leaves the socket to OpenSSH).
    """
    configured = getattr(nornir.config.ssh, "config_file", None)
    if not configured or not Path(configured).expanduser().is_file():
        return {}
    ssh_config = Path(configured).expanduser()
    directory = Path(config_path).resolve().parent / ".ikefleet"
    wrapper = write_wrapper(ssh_config, directory)
    hops_seen: dict[str, dict[str, str]] = {}

    def lookup(item: tuple[str, Any]) -> Route | None:
        name, host = item
        return route(name, host.hostname or name, host.port or 22, ssh_config, wrapper, hops_seen)

    with ThreadPoolExecutor(max_workers=8) as pool:  # one `ssh -G` per router: a few ms each, overlapped
        found = list(pool.map(lookup, nornir.inventory.hosts.items()))
    routes = {r.host: r for r in found if r is not None}
    nornir.config.ssh.config_file = str(netmiko_config(list(routes.values()), directory))
    settings.bind(nornir.inventory, {settings.JUMP_ROUTES: {name: r.as_data() for name, r in routes.items()}})
    return routes


def route_of(host: Any) -> Route | None:
    """The route `enable` set for a Nornir host (None: reached directly)."""
    data = (settings.of(host).get(settings.JUMP_ROUTES) or {}).get(host.name)
    return Route.from_data(data) if data else None


class Channel(paramiko.ProxyCommand):
    """The route's command as paramiko's socket; ends at once when the command exits, keeps its stderr."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.cmd = list(command)
        self.process = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
        self.timeout = None

    def recv(self, size: int) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None  # Popen(stdout=PIPE)
        ready, _, _ = select([stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError()
        return os.read(stdout.fileno(), size)  # b"" = EOF

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(5)

    def errors(self, wait: float = 5.0) -> str:
        """What the command said on stderr (after it ended, or was ended)."""
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(5)
        return self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""


def open_channel(r: Route) -> Channel:
    return Channel(r.command)


# OpenSSH's words (lower case) -> what went wrong and what to do; first match wins. {hop}: the hop the
# message is about; {near} -> {far}: the link the path broke on, found by probing when the words don't say.
COMPLAINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("host key verification failed", "host key is known", "identification has changed", "host key for",
      "no matching host key"),
     "jump host {hop}'s SSH host key is unknown or changed ({said}); OpenSSH checks jump hosts against the "
     "known_hosts files of {config} (UserKnownHostsFile, default ~/.ssh/known_hosts): add its key after "
     "comparing the fingerprint (ssh-keyscan), or connect once by hand with `ssh -F {config} {hop}`"),
    (("permission denied", "too many authentication failures", "no supported authentication"),
     "jump host {hop} refused the login ({said}); check User and IdentityFile for {hop} in {config} and "
     "that the public key is in its authorized_keys ({check})"),
    (("open failed", "stdio forwarding failed", "administratively prohibited", "connection refused",
      "no route to host", "timed out", "network is unreachable", "could not resolve hostname",
      "connection closed by", "connection reset"),
     "{near} cannot reach {far} ({said}); check {far_fix} ({check})"),
)


def _banner(command: list[str] | None, address: str, port: int, timeout: float = 10.0) -> bool:
    """Does an SSH server answer (its `SSH-` banner) at address:port, directly or through `command`?"""
    try:
        if command is None:
            with socket.create_connection((address, port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                return sock.recv(4) == b"SSH-"
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, start_new_session=True) as process:
            try:
                assert process.stdout is not None  # Popen(stdout=PIPE)
                ready, _, _ = select([process.stdout], [], [], timeout)
                return bool(ready) and os.read(process.stdout.fileno(), 4) == b"SSH-"
            finally:
                process.kill()
    except OSError:
        return False


def _broken_link(r: Route) -> int:
    """Index of the first hop the path does not reach; len(hops) when every hop answers but the router not.

    Only run after a failure whose words name no hop. The first hop is probed directly (a first hop that
    is itself behind a proxy in the operator's file reads as unreachable here).
    """
    for i, (address, port) in enumerate(zip(r.hop_addresses, r.hop_ports, strict=True)):
        command = None
        if i:
            earlier = ["-J", ",".join(r.hops[: i - 1])] if i > 1 else []
            command = [_ssh(), "-F", r.wrapper, *earlier, "-W", f"[{address}]:{port}",
                       destination(r.hops[i - 1])]
        if not _banner(command, address, port):
            return i
    return len(r.hops)


def _which_hop(r: Route, text: str) -> str | None:
    for hop, address in zip(reversed(r.hops), reversed(r.hop_addresses), strict=True):
        if re.search(rf"(?<![\w.-]){re.escape(address)}(?![\w.-])", text) or hop in text:
            return hop
    return None


def explain(r: Route, stderr: str, reason: str = "") -> str:
    """OpenSSH's complaint about a route as one sentence: which hop failed, why, and what to do."""
    lines = [x.strip() for x in stderr.splitlines() if x.strip() and not x.startswith("Warning: Permanently")]
    where = f"{r.host} ({r.target}:{r.port}) via {r.via}"
    check = f"reproduce with: {shlex.join(r.command)} </dev/null"
    last_word = lines[-1] if lines else reason or "no output"
    if not r.hops:
        return f"{where}: the ProxyCommand failed ({last_word}); fix it in {r.ssh_config} ({check})"
    for keys, template in COMPLAINTS:
        said = next((x for x in lines if any(k in x.lower() for k in keys)), None)
        if said is None:
            continue
        named = _which_hop(r, said)
        hop = named or _which_hop(r, "\n".join(lines)) or r.hops[-1]
        link = 0
        if "{near}" in template:  # a hop named in the words is the one not reached; else probe the path
            link = r.hops.index(named) if named else _broken_link(r)
        near = "this machine" if link == 0 else f"jump host {r.hops[link - 1]}"
        far = "the router" if link == len(r.hops) else f"jump host {r.hops[link]}"
        far_fix = ("the router's hostname/port in the inventory and the route to it" if link == len(r.hops)
                   else f"HostName/Port of {r.hops[link]} in {r.ssh_config} and the network path to it")
        return f"{where}: " + template.format(hop=hop, said=said, config=r.ssh_config, check=check,
                                               near=near, far=far, far_fix=far_fix)
    return f"{where}: the jump path failed ({last_word}); {check}"


def offered_key(r: Route, timeout: float = 10.0) -> paramiko.PKey:
    """The router's host key, fetched through its route (key exchange only); JumpHostError if a hop fails."""
    channel = open_channel(r)
    try:
        return transport.offered_key(r.target, r.port, timeout, sock=channel)
    except Exception as exc:
        raise JumpHostError(explain(r, channel.errors(), f"{type(exc).__name__}: {exc}")) from None
    finally:
        channel.close()
