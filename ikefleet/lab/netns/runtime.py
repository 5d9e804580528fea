"""One netns lab at run time: namespaces and links per router, a charon and FRR per router, re-applied when
a router's configuration changes (`apply`). Translation is in `strongswan`/`frr`; state reading in `state`.

Layout: namespace `<prefix>u` holds the underlay bridge; router k lives in `<prefix><k>` with its WAN
interface (veth into the underlay bridge, WAN address from the spec), an empty bridge per other interface
that carries an address (stand-in for ethernet/bridge ports), and a VXLAN per `/interface eoip`
(tunnel-id as VNI, between the IPsec inner addresses, MTU 1300 under `ipsec0`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from ..fabric import wan_interface
from ..fabric.common import enabled, host
from ..router import Router
from . import frr, state, strongswan
from .namespaces import NetnsError, Registry, cleanup, require_root, run

CHARON, FRR_DIR = "/usr/lib/ipsec/charon", "/usr/lib/frr"
FRR_DAEMONS = ("zebra", "bfdd", "ospfd")
FRR_BASE = Path("/run/ikefleet-netns")  # the frr user must reach its sockets: not under a 0700 temp dir
VXLAN_MTU, VXLAN_PORT = 1300, 4789
UNDERLAY_NETS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


def linux_name(name: str) -> str:
    """RouterOS interface names as Linux accepts them (<=15 chars, no spaces or slashes), else refused."""
    if not name or len(name) > 15 or any(c in name for c in " /:"):
        raise NetnsError(f"interface name {name!r} cannot be a Linux interface name")
    return name


class Node:
    """One router's namespace, directories and daemons."""

    def __init__(self, lab: NetnsLab, router: Router, index: int) -> None:
        self.lab, self.router, self.index = lab, router, index
        self.ns = f"{lab.prefix}{index}"
        self.dir = lab.state_dir / router.spec.name
        self.run_dir, self.swanctl_dir = self.dir / "run", self.dir / "swanctl"
        self.frr_dir = FRR_BASE / lab.prefix / router.spec.name
        self.log_offset = 0  # charon.log already turned into /log lines

    def vtysh(self, command: str) -> str:
        return run(["vtysh", "--vty_socket", str(self.frr_dir), "-c", command], ns=self.ns)

    def swanctl(self, *args: str) -> str:
        uri = f"unix://{self.run_dir}/charon.vici"
        return run(["swanctl", *args, "--uri", uri], ns=self.ns, env={"SWANCTL_DIR": str(self.swanctl_dir)})

    # --- links --------------------------------------------------------------------------------------
    def links(self) -> set[str]:
        out = run(["ip", "-o", "link", "show"], ns=self.ns)
        return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}

    def build_links(self) -> None:
        """WAN veth into the underlay, bridges for addressed interfaces, VXLAN per EoIP; addresses."""
        wan = linux_name(wan_interface(self.router))
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], ns=self.ns)  # a router forwards
        peer = f"u{self.index}"
        run(
            ["ip", "link", "add", wan, "type", "veth", "peer", "name", peer, "netns", self.lab.underlay],
            ns=self.ns,
        )
        run(["ip", "link", "set", peer, "master", "underlay", "up"], ns=self.lab.underlay)
        run(["ip", "addr", "add", self.router.spec.wan_address, "dev", wan], ns=self.ns)
        run(["ip", "link", "set", wan, "up"], ns=self.ns)
        # One shared L2 underlay: the documentation ranges are on-link (only they), as behind one provider.
        for net in UNDERLAY_NETS:
            run(["ip", "route", "replace", net, "dev", wan], ns=self.ns)
        self.wan = wan
        self.sync_links()

    def sync_links(self) -> None:
        have = self.links()
        eoips = {e.get("name"): e for e in enabled(self.router.config.items(strongswan.EOIP))}
        for name, item in eoips.items():
            dev = linux_name(name)
            if dev in have:
                run(["ip", "link", "del", dev], ns=self.ns)
            local, remote = host(item.get("local-address")), host(item.get("remote-address"))
            args = ["ip", "link", "add", dev, "type", "vxlan", "id", item.get("tunnel-id") or "0"]
            args += ["local", local, "remote", remote, "dstport", str(VXLAN_PORT)]
            run(args, ns=self.ns)
            run(["ip", "link", "set", dev, "mtu", str(VXLAN_MTU), "up"], ns=self.ns)
            have.add(dev)
        for item in enabled(self.router.config.items("/ip address")):
            dev = linux_name(item.get("interface"))
            if dev not in have:
                run(["ip", "link", "add", dev, "type", "bridge"], ns=self.ns)
                run(["ip", "link", "set", dev, "up"], ns=self.ns)
                have.add(dev)
            address = item.get("address")
            if host(address) == host(self.router.spec.wan_address):
                continue
            run(
                ["ip", "addr", "replace", address if "/" in address else f"{address}/32", "dev", dev],
                ns=self.ns,
            )

    # --- daemons ------------------------------------------------------------------------------------
    def start_charon(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "strongswan.conf"
        conf.write_text(strongswan.strongswan_conf(str(self.run_dir)))
        self.lab.registry.pidfile(self.run_dir / "charon.pid")
        script = f'mount --bind "{self.run_dir}" /run && exec {CHARON}'
        env = {**os.environ, "STRONGSWAN_CONF": str(conf)}
        subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "sh", "-c", script],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for(self.run_dir / "charon.vici", f"{self.router.spec.name}: charon did not start")

    def load_charon(self) -> None:
        charon = strongswan.translate(self.router)
        if self.swanctl_dir.exists():
            shutil.rmtree(self.swanctl_dir)
        for sub in ("x509", "x509ca", "private"):
            (self.swanctl_dir / sub).mkdir(parents=True, exist_ok=True)
        for rel, text in charon.files.items():
            path = self.swanctl_dir / rel
            path.write_text(text)
            if rel.startswith("private/"):
                path.chmod(0o600)
        (self.swanctl_dir / "swanctl.conf").write_text(charon.swanctl)
        # A changed configuration renegotiates, as RouterOS does: drop the running IKE SAs first.
        for sa in state.parse_list_sas(self.swanctl("--list-sas")):
            self.swanctl("--terminate", "--ike", sa.connection, "--force", "--timeout", "2")
        self.swanctl("--load-all", "--clear")

    def start_frr(self) -> None:
        """(Re)start zebra, bfdd, ospfd with the translated configuration (FRR has no faithful partial
        reload of removed settings, and a restart takes about a second)."""
        text = frr.translate(self.router)
        self.stop_frr()
        self.lab.registry.directory(self.frr_dir.parent)
        self.frr_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.frr_dir, "frr", "frr")
        d = str(self.frr_dir)
        for daemon in FRR_DAEMONS:
            conf = self.frr_dir / f"{daemon}.conf"
            conf.write_text("")
            shutil.chown(conf, "frr", "frr")
            pid = self.lab.registry.pidfile(self.frr_dir / f"{daemon}.pid")
            args = [f"{FRR_DIR}/{daemon}", "-d", "-u", "frr", "-g", "frr", "--vty_socket", d]
            args += ["-z", f"{d}/zserv.api", "-f", str(conf), "-i", str(pid)]
            if daemon == "bfdd":
                args += ["--bfdctl", f"{d}/bfdd.sock"]
            run(args, ns=self.ns)
            _wait_for(self.frr_dir / f"{daemon}.vty", f"{self.router.spec.name}: {daemon} did not start")
        if text:
            conf = self.frr_dir / "frr.conf"
            conf.write_text(text)
            run(["vtysh", "--vty_socket", d, "-f", str(conf)], ns=self.ns, check=False)

    def read_state(self) -> None:
        """Fill the router's dynamic items from what charon and ospfd report now."""
        sas = state.parse_list_sas(self.swanctl("--list-sas"))
        neighbors = state.parse_ospf_neighbors(self.vtysh("show ip ospf neighbor json"))
        state.fill(self.router, sas, neighbors)
        log = self.run_dir / "charon.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        for message in state.ike_failures(text[self.log_offset :]):
            self.router.log("ipsec,error", message)
        self.log_offset = len(text)

    def stop_frr(self) -> None:
        for daemon in FRR_DAEMONS:
            pidfile = self.frr_dir / f"{daemon}.pid"
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, 15)
                _wait_gone(pid)
            with contextlib.suppress(OSError):
                (self.frr_dir / f"{daemon}.vty").unlink()


def _wait_for(path: Path, message: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise NetnsError(message)
        time.sleep(0.02)


def _wait_gone(pid: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


class NetnsLab:
    """The namespaces and daemons behind a set of lab routers. `up()` builds, `apply(router)` re-applies a
    router's configuration, `down()` removes everything (also what an earlier crashed run left)."""

    def __init__(self, routers: list[Router], state_dir: Path, prefix: str = "ikf") -> None:
        self.routers, self.state_dir, self.prefix = routers, state_dir, prefix
        self.underlay = f"{prefix}u"
        self.registry = Registry(state_dir)
        self.nodes = {r.spec.name: Node(self, r, k) for k, r in enumerate(routers)}

    def up(self) -> None:
        require_root()
        cleanup(self.state_dir)
        try:
            self.registry.namespace(self.underlay)
            run(["ip", "link", "add", "underlay", "type", "bridge"], ns=self.underlay)
            run(["ip", "link", "set", "underlay", "up"], ns=self.underlay)
            for node in self.nodes.values():
                self.registry.namespace(node.ns)
                node.build_links()
                node.start_charon()
                node.load_charon()
                node.start_frr()
        except BaseException:
            self.down()
            raise

    def apply(self, router: Router) -> None:
        node = self.nodes[router.spec.name]
        node.sync_links()
        node.load_charon()
        node.start_frr()

    def refresh(self) -> None:
        """Every router's dynamic items from its daemons (called before the lab answers a print)."""
        for node in self.nodes.values():
            node.read_state()

    def down(self) -> list[str]:
        return cleanup(self.state_dir)
