"""Routers behind SSH jump hosts, for real: Debian's OpenSSH server as the jump hosts, each in its own network
namespace, the lab's routers reachable only from the last one, ikefleet run from a client namespace.

    client ns C ── 10.200.1.0/24 ── jump1 (ns J1) ── 10.200.2.0/24 ── jump2 (ns R) ── routers on R's loopback
         └──────────────────── 10.200.3.0/24 ─────────────────────────────┘ (jump2's second address)

The in-process lab listens inside R (its loop thread is started from a thread that entered R), so only
processes in R (jump2's sshd) reach the routers. The rollout/verify CLI runs in C. Everything is torn down
even when a test fails. The first half checks route resolution and error wording without root.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.connection import jump
from ikefleet.connection.hostkeys import check_key, entry_name, known_hosts_path
from ikefleet.lab.manager import Lab

SSHD = "/usr/sbin/sshd"
ROOT = Path(__file__).resolve().parent.parent
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client (ssh)")
needs_root_sshd = pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SSHD).exists() or shutil.which("ip") is None or shutil.which("ssh") is None,
    reason="needs root (network namespaces), iproute2, ssh and openssh-server's sshd (.ci/run installs it)",
)


# -- route resolution and wording (no root) -------------------------------------------------------------

OPERATOR = """\
Host j1
    HostName 192.0.2.10
    User ops
    Port 2222
Host j2
    HostName 198.51.100.20
Host 10.1.*
    ProxyJump j1
Host 10.2.*
    ProxyJump j1,ops2@j2:2200
Host 10.3.*
    ProxyCommand nc -X connect -x 192.0.2.99:3128 %h %p
Host alias-br9
    HostName 10.9.0.9
    ProxyJump j2
"""


@pytest.fixture
def operator_config(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "my configs" / "ssh_config"  # a space in the path: the Include is quoted
    config.parent.mkdir()
    config.write_text(OPERATOR)
    return config, jump.write_wrapper(config, tmp_path / ".ikefleet")


@needs_ssh
def test_direct_router_has_no_route(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    assert jump.route("hub", "203.0.113.1", 22, config, wrapper) is None


@needs_ssh
def test_one_hop_is_ssh_w_through_the_jump_host(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    r = jump.route("br1", "10.1.0.2", 8022, config, wrapper)
    assert r is not None and r.hops == ("j1",) and r.hop_addresses == ("192.0.2.10",)
    assert r.command[-3:] == ("-W", "[10.1.0.2]:8022", "j1") and "-J" not in r.command
    assert r.command[1:3] == ("-F", str(wrapper))


@needs_ssh
def test_two_hops_chain_the_earlier_ones_with_minus_j(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    r = jump.route("br2", "10.2.0.2", 22, config, wrapper)
    assert r is not None and r.hops == ("j1", "ops2@j2:2200")
    assert r.command[3:] == ("-J", "j1", "-W", "[10.2.0.2]:22", "ssh://ops2@j2:2200")
    assert r.hop_addresses == ("192.0.2.10", "198.51.100.20")
    assert r.via == "j1 -> ops2@j2:2200"


@needs_ssh
def test_proxycommand_tokens_are_expanded_like_openssh(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    r = jump.route("br3", "10.3.0.2", 2201, config, wrapper)
    assert r is not None and r.hops == ()
    assert r.command == ("/bin/sh", "-c", "exec nc -X connect -x 192.0.2.99:3128 10.3.0.2 2201")


@needs_ssh
def test_an_alias_hostname_is_resolved_by_the_config(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    r = jump.route("br9", "alias-br9", 22, config, wrapper)
    assert r is not None and r.target == "10.9.0.9" and r.command[-2:] == ("[10.9.0.9]:22", "j2")
    netmiko = paramiko.SSHConfig.from_path(str(jump.netmiko_config([r], wrapper.parent))).lookup("alias-br9")
    assert netmiko["hostname"] == "alias-br9"  # the pin's name; the path is in the ProxyCommand
    assert shlex.split(netmiko["proxycommand"])[-2:] == ["[10.9.0.9]:22", "j2"]


@needs_ssh
def test_wrapper_forces_batch_mode_and_includes_the_operators_file(
    operator_config: tuple[Path, Path],
) -> None:
    config, wrapper = operator_config
    text = wrapper.read_text()
    assert "BatchMode yes" in text and f'Include "{config.resolve()}"' in text
    assert wrapper.stat().st_mode & 0o777 == 0o600
    assert jump.resolved(wrapper, "j1")["batchmode"] == "yes"
    assert jump.resolved(config, "j1")["batchmode"] == "no"  # the operator's own file is untouched


@needs_ssh
def test_unreadable_ssh_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "ssh_config"
    bad.write_text("Host x\n    ProxyJump\n")
    with pytest.raises(jump.JumpHostError, match="OpenSSH cannot read it"):
        jump.resolved(bad, "x")


@needs_ssh
def test_netmiko_file_has_one_proxycommand_per_router(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    routes = [jump.route(n, h, 22, config, wrapper) for n, h in (("br1", "10.1.0.2"), ("br2", "10.2.0.2"))]
    path = jump.netmiko_config([r for r in routes if r], wrapper.parent)
    parsed = paramiko.SSHConfig.from_path(str(path))
    command = parsed.lookup("10.2.0.2")["proxycommand"]
    assert shlex.split(command)[-4:] == ["j1", "-W", "[10.2.0.2]:22", "ssh://ops2@j2:2200"]
    assert "proxycommand" not in parsed.lookup("203.0.113.1")


@needs_ssh
def test_one_hostname_behind_two_paths_is_refused(operator_config: tuple[Path, Path]) -> None:
    config, wrapper = operator_config
    a = jump.route("a", "10.1.0.2", 22, config, wrapper)
    b = jump.route("b", "10.1.0.2", 23, config, wrapper)
    assert a and b
    with pytest.raises(jump.JumpHostError, match="its own hostname"):
        jump.netmiko_config([a, b], wrapper.parent)


@needs_ssh
@pytest.mark.parametrize(
    ("text", "words"), [("Host 127.*\n    ProxyJump\n", "OpenSSH cannot read it"), (None, "does not exist")]
)
def test_an_ssh_config_openssh_rejects_or_a_missing_one_stops_the_run_before_any_contact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, words: str
) -> None:
    from ikefleet.cli import main

    with Lab.start(tmp_path / "lab", branches=1, control_socket=False) as lab:
        if text is not None:
            (tmp_path / "ssh_config").write_text(text)
        _use_ssh_config(lab.directory / "config.yaml", tmp_path / "ssh_config")
        before = _snapshot_of(lab, "hub")
        code = main(["verify", "-c", str(lab.directory / "config.yaml"), "--no-history"])
        assert code == 2
        err = capsys.readouterr().err
        assert "ikefleet.ssh_config" in err and words in err and "ssh -F FILE -G" in err
        assert _snapshot_of(lab, "hub") == before
        assert not known_hosts_path(lab.directory / "config.yaml").exists()


def _two_hops() -> jump.Route:
    command = ("ssh", "-J", "j1", "-W", "[10.2.0.2]:22", "j2")
    return jump.Route("br1", "10.2.0.2", "10.2.0.2", 22, command, ("j1", "j2"),
                      ("192.0.2.10", "198.51.100.20"), (22, 22), "/etc/ikefleet/ssh_config", "/x/ssh_config")


@pytest.mark.parametrize(
    ("stderr", "link", "words"),
    [
        ("root@198.51.100.20: Permission denied (publickey).\n", None, "jump host j2 refused the login"),
        ("ops@192.0.2.10: Permission denied (publickey).\nkex_exchange_identification: Connection closed by "
         "remote host\n", None, "jump host j1 refused the login"),
        ("No ED25519 host key is known for 192.0.2.10 and you have requested strict checking.\nHost key "
         "verification failed.\n", None, "jump host j1's SSH host key is unknown or changed"),
        ("ssh: connect to host 198.51.100.20 port 22: No route to host\n", None,
         "jump host j1 cannot reach jump host j2"),
        ("ssh: connect to host 192.0.2.10 port 22: Connection refused\n", None,
         "this machine cannot reach jump host j1"),
        ("channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\n", 2,
         "jump host j2 cannot reach the router"),
        ("channel 0: open failed: connect failed: No route to host\nstdio forwarding failed\n", 1,
         "jump host j1 cannot reach jump host j2"),
        ("Connection timed out during banner exchange\n", 0, "this machine cannot reach jump host j1"),
    ],
)
def test_openssh_complaints_name_the_hop_and_the_fix(
    stderr: str, link: int | None, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    probed: list[int] = []

    def probe(r: jump.Route) -> int:  # the path probe, stubbed: which link OpenSSH's words did not name
        assert link is not None, "probed although the words name the hop"
        probed.append(link)
        return link

    monkeypatch.setattr(jump, "_broken_link", probe)
    message = jump.explain(_two_hops(), stderr)
    assert message.startswith("br1 (10.2.0.2:22) via j1 -> j2: ")
    assert words in message
    assert probed == ([] if link is None else [link])


def test_a_failing_proxycommand_is_said_with_its_last_words() -> None:
    command = ("/bin/sh", "-c", "exec nc 10.3.0.2 22")
    r = jump.Route("br3", "10.3.0.2", "10.3.0.2", 22, command, (), (), (), "/cfg", "/w")
    message = jump.explain(r, "nc: connect to 10.3.0.2 port 22 (tcp) failed: Connection refused\n")
    assert "the ProxyCommand failed (nc: connect to 10.3.0.2" in message and "fix it in /cfg" in message


# -- for real: OpenSSH jump hosts in network namespaces ---------------------------------------------------

CLONE_NEWNET = 0x40000000
LINKS = (  # (ns a, if a, address a, ns b, if b, address b)
    ("C", "c-j1", "10.200.1.2/24", "J1", "j1-c", "10.200.1.1/24"),
    ("J1", "j1-r", "10.200.2.1/24", "R", "r-j1", "10.200.2.2/24"),
    ("C", "c-r", "10.200.3.2/24", "R", "r-c", "10.200.3.1/24"),
)
JUMP_ADDRESSES = {"J1": ("10.200.1.1",), "R": ("10.200.2.2", "10.200.3.1")}


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> bool:
    """Poll until `condition` holds; the deadline only bounds the wait, nothing asserts on time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def in_namespace(ns: str, work: Callable[[], object]) -> object:
    """Run `work` in a new thread that entered `ns`; threads it starts stay there (sockets too)."""
    result: dict[str, object] = {}

    def body() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            result["value"] = work()
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result.get("value")


@dataclass
class Site:
    """The namespaces, the two sshds and the lab; `ns[...]` maps short names to real namespace names."""

    tmp: Path
    ns: dict[str, str]
    lab: Lab
    host_keys: dict[str, str]  # jump ns -> public host key line

    def run(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`ikefleet ARGS -c config.yaml` in the client namespace."""
        argv = ["ip", "netns", "exec", self.ns["C"], sys.executable, "-m", "ikefleet", *args,
                "-c", str(config or self.lab.directory / "config.yaml")]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IKEFLEET_", "SSH_AUTH"))}
        return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)

    def operator_config(self, route: str, *, user: str = "root", key: str = "id_ed25519",
                        known_hosts: str = "known_hosts") -> Path:
        """The operator's ssh_config: jump hosts by name, routers (127.*) behind `route`."""
        path = self.tmp / "operator_ssh_config"
        path.write_text(
            "Host jump1\n    HostName 10.200.1.1\n"
            "Host jump2\n    HostName 10.200.2.2\n"
            "Host jump2-direct\n    HostName 10.200.3.1\n"
            f"Host 127.*\n    {route}\n"
            f"Host *\n    User {user}\n    IdentityFile {self.tmp / key}\n    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {self.tmp / known_hosts}\n    GlobalKnownHostsFile /dev/null\n"
            "    StrictHostKeyChecking yes\n    ConnectTimeout 5\n"
        )
        return path


def _sshd(tmp: Path, ns: str, name: str, addresses: tuple[str, ...]) -> tuple[subprocess.Popen[bytes], str]:
    key = tmp / f"{name}_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = tmp / f"{name}_sshd_config"
    config.write_text(
        "".join(f"ListenAddress {a}\n" for a in addresses)
        + f"HostKey {key}\nAuthorizedKeysFile {tmp / 'authorized_keys'}\nPidFile none\nStrictModes no\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nLogLevel VERBOSE\n"
    )
    log = (tmp / f"{name}_sshd.log").open("wb")
    process = subprocess.Popen(["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", str(config)],
                               stdout=log, stderr=subprocess.STDOUT)
    logged = tmp / f"{name}_sshd.log"
    def listening() -> bool:
        return logged.read_text().count("Server listening") >= len(addresses)

    wait_for(lambda: listening() or process.poll() is not None)
    if process.poll() is not None or not listening():
        _stop(process)
        raise RuntimeError(f"sshd {name} did not start: {logged.read_text()}")
    return process, " ".join(key.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = Path(tmp_path_factory.mktemp("jumphost"))
    tag = f"ikj{os.getpid()}"  # the pid: a later run sweeps what a killed one left (_sweep_leftovers)
    ns = {short: f"{tag}{short}" for short in ("C", "J1", "R")}
    _sweep_leftovers()
    with contextlib.ExitStack() as stack:
        for real in ns.values():
            try:
                ip("netns", "add", real)
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"cannot create network namespaces here: {exc.stderr.strip()}")
            stack.callback(subprocess.run, ["ip", "netns", "del", real], capture_output=True)
            ip("-n", real, "link", "set", "lo", "up")
        for a, if_a, addr_a, b, if_b, addr_b in LINKS:
            ip("link", "add", if_a, "netns", ns[a], "type", "veth", "peer", "name", if_b, "netns", ns[b])
            for side, name, addr in ((a, if_a, addr_a), (b, if_b, addr_b)):
                ip("-n", ns[side], "addr", "add", addr, "dev", name)
                ip("-n", ns[side], "link", "set", name, "up")
        for key in ("id_ed25519", "wrong_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / key)], check=True)
        (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        host_keys: dict[str, str] = {}
        for short, name in (("J1", "jump1"), ("R", "jump2")):
            process, public = _sshd(tmp, ns[short], name, JUMP_ADDRESSES[short])
            stack.callback(_stop, process)
            host_keys[short] = public
        known = [f"{a} {host_keys[ns_]}\n" for ns_, addresses in JUMP_ADDRESSES.items() for a in addresses]
        (tmp / "known_hosts").write_text("".join(known))
        (tmp / "empty_known_hosts").write_text("")
        lab = in_namespace(ns["R"], lambda: Lab.start(tmp / "lab", branches=2, convergence_delay=0.05,
                                                       control_socket=False))
        assert isinstance(lab, Lab)
        stack.callback(lab.stop)
        fast_keys(lab.directory)
        site = Site(tmp, ns, lab, host_keys)
        _use_ssh_config(lab.directory / "config.yaml", tmp / "operator_ssh_config")
        yield site


def _sweep_leftovers() -> None:
    """Namespaces (and their sshds) of an earlier run of this module that was killed before its cleanup."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    for name in listed:
        match = re.fullmatch(r"ikj(\d+)(C|J1|R)", name)
        if not match or Path(f"/proc/{match.group(1)}").exists():
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _snapshot_of(lab: Lab, router: str) -> str:
    """The router's stored configuration (empty menus left out: listing a menu creates it)."""
    lab.settle()
    data = lab.routers[router].config.to_json()
    data["menus"] = {path: items for path, items in data["menus"].items() if items}
    return json.dumps(data, sort_keys=True)


def _use_ssh_config(config_yaml: Path, ssh_config: Path) -> None:
    yaml = YAML()
    data = yaml.load(config_yaml.read_text())
    data["ikefleet"]["ssh_config"] = str(ssh_config)
    with config_yaml.open("w") as out:
        yaml.dump(data, out)


def _connects(site: Site, ns: str, host: str, port: int) -> bool:
    def attempt() -> bool:
        try:
            with socket.create_connection((host, port), timeout=3):
                return True
        except OSError:
            return False

    return bool(in_namespace(site.ns[ns], attempt))


def _summary(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"exit {done.returncode}\nout: {done.stdout}\nerr: {done.stderr}") from None


def _snapshot(site: Site, router: str) -> str:
    return _snapshot_of(site.lab, router)


def _items(site: Site, router: str, path: str) -> list[dict[str, str]]:
    site.lab.settle()
    return [dict(i.values) for i in site.lab.routers[router].config.items(path)]


@needs_root_sshd
def test_routers_are_reachable_only_from_the_last_jump_host(site: Site) -> None:
    for name in ("hub", "br1", "br2"):
        spec = site.lab.spec(name)
        assert _connects(site, "R", spec.host, spec.port)  # jump2's namespace reaches every router
        assert not _connects(site, "C", spec.host, spec.port)  # the client does not
        assert not _connects(site, "J1", spec.host, spec.port)  # nor does the first jump host
    assert _connects(site, "C", "10.200.1.1", 22) and _connects(site, "C", "10.200.3.1", 22)
    assert not _connects(site, "C", "10.200.2.2", 22)  # jump2's inner address: only through jump1


@needs_root_sshd
def test_a_wrong_jump_host_key_fails_every_host_with_the_fix_and_pushes_nothing(site: Site) -> None:
    site.operator_config("ProxyJump jump2-direct", key="wrong_ed25519")
    before = {n: _snapshot(site, n) for n in ("hub", "br1", "br2")}
    done = site.run("rollout", "--json", "--gate-timeout", "30")
    assert done.returncode == 1, done.stderr[-2000:]
    hosts = _summary(done)["hosts"]  # type: ignore[index]
    # every branch is reached before the hub (issue 17.6): each fails there with the fix, and the hub is
    # then not contacted at all (no --max-fail allows an unreachable branch)
    for name in ("br1", "br2"):
        assert hosts[name]["status"] == "failed", hosts[name]
        assert "jump host jump2-direct refused the login" in hosts[name]["error"]
        assert "IdentityFile" in hosts[name]["error"]
    assert hosts["hub"]["status"] == "skipped" and hosts["hub"]["error"] == "branches unreachable"
    assert {n: _snapshot(site, n) for n in before} == before
    assert _items(site, "hub", "/ip ipsec peer") == []
    assert not known_hosts_path(site.lab.directory / "config.yaml").exists()  # no router key was fetched


@needs_root_sshd
def test_a_wrong_jump_user_and_an_unknown_jump_host_key_are_said_per_host(site: Site) -> None:
    site.operator_config("ProxyJump jump1,jump2", user="nobody-ikefleet")
    done = site.run("verify", "--no-history", "--format", "json")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "jump host jump1 refused the login" in done.stdout + done.stderr
    for name in ("hub", "br1", "br2"):
        assert f"{name} (" in done.stdout + done.stderr
    site.operator_config("ProxyJump jump1,jump2", known_hosts="empty_known_hosts")
    done = site.run("verify", "--no-history", "--format", "json")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "jump host jump1's SSH host key is unknown" in done.stdout + done.stderr


@needs_root_sshd
def test_rollout_and_verify_through_one_jump_host_pin_the_routers_keys(site: Site) -> None:
    site.operator_config("ProxyJump jump2-direct")
    site.lab.settle()
    done = site.run("rollout", "--json", "--gate-timeout", "60")
    summary = _summary(done)
    assert done.returncode == 0, summary
    assert {h["status"] for h in summary["hosts"].values()} == {"changed"}  # type: ignore[union-attr]
    peers = _items(site, "hub", "/ip ipsec active-peers")
    assert len([p for p in peers if p.get("state") == "established"]) == 2
    pins = known_hosts_path(site.lab.directory / "config.yaml").read_text()
    for name in ("hub", "br1", "br2"):
        spec = site.lab.spec(name)
        assert entry_name(spec.host, spec.port) in pins
        assert f"{name}: first contact" in done.stderr
    verified = site.run("verify", "--no-history", "--format", "json")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]


@pytest.fixture
def rolled_out(site: Site) -> Site:
    """The fleet rolled out (by the one-hop test when the module runs in order; else here, the same way)."""
    if not _items(site, "hub", "/ip ipsec peer"):
        site.operator_config("ProxyJump jump2-direct")
        done = site.run("rollout", "--json", "--gate-timeout", "60")
        assert done.returncode == 0, _summary(done)
    return site


@needs_root_sshd
def test_two_jump_hosts_converge_and_verify(rolled_out: Site) -> None:
    site = rolled_out
    site.operator_config("ProxyJump jump1,jump2")
    site.lab.settle()
    done = site.run("rollout", "--json", "--gate-timeout", "60")
    summary = _summary(done)
    assert done.returncode == 0, summary
    assert {h["status"] for h in summary["hosts"].values()} == {"unchanged"}  # type: ignore[union-attr]
    assert "first contact" not in done.stderr  # the pins made through jump2 alone still match
    verified = site.run("verify", "--no-history", "--format", "json")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]


@needs_root_sshd
@pytest.mark.parametrize("path", ["proxycommand", "nested"])
def test_an_operators_proxycommand_or_nested_proxyjump_works_too(rolled_out: Site, path: str) -> None:
    site = rolled_out
    if path == "proxycommand":
        command = f"ssh -F {site.tmp / 'operator_ssh_config'} -o BatchMode=yes -W %h:%p jump2-direct"
        site.operator_config(f"ProxyCommand {command}")
    else:  # the routers name one hop; that hop's own ProxyJump adds the first (OpenSSH resolves it)
        config = site.operator_config("ProxyJump jump2")
        config.write_text("Host jump2\n    ProxyJump jump1\n" + config.read_text())
    verified = site.run("verify", "--no-history", "--format", "json")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]


@needs_root_sshd
def test_a_changed_router_key_is_refused_through_the_jump_path(site: Site) -> None:
    site.operator_config("ProxyJump jump1,jump2")
    known = known_hosts_path(site.lab.directory / "config.yaml")
    if not known.exists():  # run alone: pin the routers first
        site.run("verify", "--no-history", "--format", "json")
    before = known.read_text()
    spec = site.lab.spec("br2")
    try:
        check_key("br2", spec.host, spec.port, paramiko.RSAKey.generate(1024), known, accept_new=True)
        done = site.run("verify", "--no-history", "--format", "json")
        assert done.returncode != 0  # 2 (a host could not be checked) or 1 (also violations)
        said = done.stdout + done.stderr
        assert "br2: host key changed" in said and "--accept-new-hostkeys" in said
        assert "hub: host key changed" not in said
    finally:
        known.write_text(before)


HOPS = "Host jump1\n    HostName 10.200.1.1\nHost jump2\n    HostName {jump2}\n    User {user2}\n"


@needs_root_sshd
@pytest.mark.parametrize(
    ("jump2", "user2", "known", "router", "words"),
    [
        ("10.200.2.2", "nobody-ikefleet", "known_hosts", True,
         "jump host jump2 refused the login (nobody-ikefleet@10.200.2.2: Permission denied"),
        ("10.200.2.2", "root", "jump1_only_known_hosts", True, "jump host jump2's SSH host key is unknown"),
        ("10.200.2.99", "root", "known_hosts", True, "jump host jump1 cannot reach jump host jump2"),
        ("10.200.2.2", "root", "known_hosts", False, "jump host jump2 cannot reach the router"),
    ],
)
def test_the_failing_hop_of_two_is_named(
    site: Site, jump2: str, user2: str, known: str, router: bool, words: str
) -> None:
    (site.tmp / "jump1_only_known_hosts").write_text(f"10.200.1.1 {site.host_keys['J1']}\n")
    config = site.operator_config("ProxyJump jump1,jump2", known_hosts=known)
    config.write_text(HOPS.format(jump2=jump2, user2=user2) + config.read_text())  # first value wins
    spec = site.lab.spec("br1")
    port = spec.port if router else 1  # nothing listens on port 1 in the routers' namespace
    r = jump.route("br1", spec.host, port, config, jump.write_wrapper(config, site.tmp / "probe"))
    assert r is not None and r.hops == ("jump1", "jump2")

    def fetch() -> str:
        try:
            jump.offered_key(r)
        except jump.JumpHostError as exc:
            return str(exc)
        return "reached"

    said = in_namespace(site.ns["C"], fetch)
    assert isinstance(said, str) and said.startswith(f"br1 ({spec.host}:{port}) via jump1 -> jump2: "), said
    assert words in said, said


@needs_root_sshd
def test_netmikos_proxy_reaches_the_router_from_its_own_session(site: Site) -> None:
    """What netmiko runs per router (paramiko's ProxyCommand from the written file) gets the router's banner,
    in a session of its own: Ctrl-C at the terminal must not cut a live router session under ikefleet."""
    from ikefleet.nornir_init import init_nornir

    site.operator_config("ProxyJump jump1,jump2")
    nornir = init_nornir(site.lab.directory / "config.yaml")
    spec = site.lab.spec("br1")
    line = paramiko.SSHConfig.from_path(nornir.config.ssh.config_file).lookup(spec.host)["proxycommand"]

    def banner() -> tuple[bytes, bool]:
        proxy = paramiko.ProxyCommand(line)
        try:
            proxy.settimeout(15)
            return proxy.recv(4), os.getsid(proxy.process.pid) == proxy.process.pid
        finally:
            proxy.close()
            proxy.process.wait(10)

    got, own_session = in_namespace(site.ns["C"], banner)  # type: ignore[misc]
    assert got == b"SSH-" and own_session


def _bench() -> None:
    """`python tests/test_jumphost.py` (root): verify's wall time over 0, 1 and 2 hops, best of 3.

    Figures only, never asserted: speed belongs outside the tests."""
    import tempfile

    class Factory:
        def mktemp(self, name: str) -> Path:
            return Path(tempfile.mkdtemp(prefix=name))

    fixture = site.__wrapped__(Factory())  # type: ignore[attr-defined]
    place: Site = next(fixture)
    try:
        place.operator_config("ProxyJump jump2-direct")
        assert place.run("rollout", "--json").returncode == 0
        paths = (("0 hops (run inside jump2's namespace)", "R", "User root"),
                 ("1 hop", "C", "ProxyJump jump2-direct"), ("2 hops", "C", "ProxyJump jump1,jump2"))
        for label, ns, line in paths:
            place.operator_config(line)
            argv = ["ip", "netns", "exec", place.ns[ns], sys.executable, "-m", "ikefleet", "verify",
                    "--no-history", "--format", "json", "-c", str(place.lab.directory / "config.yaml")]
            times = []
            for _ in range(3):
                start = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
                times.append(time.perf_counter() - start)
                assert done.returncode == 0, done.stderr
            print(f"verify, hub + 2 branches, {label}: {min(times):.2f} s (best of 3)")
    finally:
        with contextlib.suppress(StopIteration):
            next(fixture)


if __name__ == "__main__":
    _bench()
