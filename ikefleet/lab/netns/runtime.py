"""One netns lab at run time: namespaces and links per router, a charon and FRR per router, re-applied when
a router's configuration changes (`apply`). Translation is in `strongswan`/`frr`; state reading in `state`.

Layout: namespace `<prefix>u` holds the underlay bridge; router k lives in `<prefix><k>` with its WAN
interface (veth into the underlay bridge, WAN address from the spec), an empty bridge per other interface
that carries an address (stand-in for ethernet/bridge ports), and a VXLAN per `/interface eoip`
(tunnel-id as VNI, between the IPsec inner addresses, MTU 1300 under `ipsec0`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ikefleet import private

from ..fabric import wan_interface, wan_up
from ..fabric.common import enabled, host
from ..router import Router
from . import frr, state, strongswan
from .namespaces import NetnsError, Registry, alive, cleanup, require_root, run

log = logging.getLogger(__name__)

CHARON, FRR_DIR = "/usr/lib/ipsec/charon", "/usr/lib/frr"
FRR_DAEMONS = ("zebra", "bfdd", "ospfd")
FRR_QUERIES = (
    "show ip ospf neighbor json", "show bfd peers json", "show ip route ospf json", "show ip ospf route json"
)
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
        self.wan, self.wan_up = "ether1", True
        self.eoips: dict[str, tuple[str, str, str]] = {}  # the VXLANs made: name -> (VNI, local, remote)
        self.applied: dict[str, object] = {}  # what charon/FRR run now: "charon" -> (swanctl, files), "frr"
        self.snapshot: Snapshot | None = None
        self.read_at = 0.0

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

    def wanted_links(self) -> tuple[dict[str, tuple[str, str, str]], list[tuple[str, str]]]:
        """EoIP name -> (VNI, local, remote), and (interface, address) of every enabled /ip address."""
        eoips = {}
        for item in enabled(self.router.config.items(strongswan.EOIP)):
            local, remote = host(item.get("local-address")), host(item.get("remote-address"))
            eoips[linux_name(item.get("name"))] = (item.get("tunnel-id") or "0", local, remote)
        # configured addresses only: a dynamic (D) one is the fabric's verdict; charon installs its own
        addresses = [
            (linux_name(item.get("interface")), item.get("address"))
            for item in enabled(self.router.config.items("/ip address"))
            if not item.dynamic
        ]
        return eoips, addresses

    def sync_links(self) -> None:
        """Make the VXLANs (EoIP) and addresses what the configuration says; unchanged links stay up."""
        eoips, addresses = self.wanted_links()
        have = self.links()
        for dev in set(self.eoips) - set(eoips):
            run(["ip", "link", "del", dev], ns=self.ns, check=False)
            have.discard(dev)
        for dev, (vni, local, remote) in eoips.items():
            if self.eoips.get(dev) == (vni, local, remote) and dev in have:
                continue
            if dev in have:
                run(["ip", "link", "del", dev], ns=self.ns)
            args = ["ip", "link", "add", dev, "type", "vxlan", "id", vni]
            args += ["local", local, "remote", remote, "dstport", str(VXLAN_PORT)]
            run(args, ns=self.ns)
            run(["ip", "link", "set", dev, "mtu", str(VXLAN_MTU), "up"], ns=self.ns)
            have.add(dev)
        self.eoips = eoips
        for dev, address in addresses:
            if dev not in have:
                run(["ip", "link", "add", dev, "type", "bridge"], ns=self.ns)
                run(["ip", "link", "set", dev, "up"], ns=self.ns)
                have.add(dev)
            if host(address) == host(self.router.spec.wan_address):
                continue
            run(
                ["ip", "addr", "replace", address if "/" in address else f"{address}/32", "dev", dev],
                ns=self.ns,
            )

    def set_wan(self, up: bool) -> None:
        """The WAN cable: the `wan-down` fault (or a disabled WAN interface) takes the veth down for real."""
        if up != self.wan_up:
            run(["ip", "link", "set", self.wan, "up" if up else "down"], ns=self.ns)
            self.wan_up = up

    # --- daemons ------------------------------------------------------------------------------------
    def start_charon(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("charon.vici", "charon.pid", "charon.log"):  # a previous run's: not this charon's
            (self.run_dir / stale).unlink(missing_ok=True)
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

    def load_charon(self, charon: strongswan.Charon | None = None) -> None:
        """Load the translated connections. A changed (or removed) connection renegotiates, as RouterOS
        does: its running IKE SAs are dropped first; SAs of unchanged connections stay up."""
        charon = charon or strongswan.translate(self.router)
        before = self.applied.get("charon")
        if before == (charon.swanctl, charon.files):
            return
        old_blocks = self.applied.get("blocks", {})
        assert isinstance(old_blocks, dict)
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
        for sa in state.parse_list_sas(self.swanctl("--list-sas")):
            if old_blocks.get(sa.connection) != charon.blocks.get(sa.connection) or not old_blocks:
                self.swanctl("--terminate", "--ike", sa.connection, "--force", "--timeout", "2")
        self.swanctl("--load-all", "--clear")
        self.applied |= {"charon": (charon.swanctl, charon.files), "blocks": dict(charon.blocks)}

    def start_frr(self, text: str | None = None) -> None:
        """Bring zebra, bfdd, ospfd to the translated configuration when it changed: in place (`frr.delta`),
        as RouterOS adds or changes one interface without resetting the other interfaces' adjacencies and
        BFD sessions; a restart only when nothing runs yet or FRR refuses a line of the change."""
        text = frr.translate(self.router) if text is None else text
        before = self.applied.get("frr")
        if before == text:
            return
        if isinstance(before, str) and self.change_frr(frr.delta(before, text)):
            self.applied["frr"] = text
            return
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
        self.applied["frr"] = text

    def change_frr(self, commands: str) -> bool:
        """Apply `commands` to the running daemons; False when vtysh refused one (the caller restarts)."""
        path = self.frr_dir / "change.conf"
        try:
            private.write_text(path, commands)  # owner-only: vtysh runs as root too
            run(["vtysh", "--vty_socket", str(self.frr_dir), "-f", str(path)], ns=self.ns)
        except (NetnsError, OSError) as exc:
            log.warning("%s: FRR refused a change in place, restarting it: %s", self.router.spec.name, exc)
            return False
        return True

    def read(self) -> Snapshot:
        """What charon, zebra/ospfd/bfdd and the kernel's links report now."""
        sas = state.parse_list_sas(self.swanctl("--list-sas"))
        docs = state.parse_vtysh_json(
            run(["vtysh", "--vty_socket", str(self.frr_dir), *(x for c in FRR_QUERIES for x in ("-c", c))],
                ns=self.ns, check=False)
        ) if (self.frr_dir / "ospfd.vty").exists() else []
        docs += [None] * (len(FRR_QUERIES) - len(docs))
        neighbors = state.parse_ospf_neighbors(json.dumps(docs[0] or {}))
        links = state.parse_links(json.loads(run(["ip", "-j", "link", "show"], ns=self.ns) or "[]"))
        failures = state.ike_failures(self.new_log())
        self.snapshot = Snapshot(
            sas, neighbors, state.parse_bfd_peers(docs[1]),
            state.parse_ospf_routes(docs[2], state.parse_ospf_types(docs[3])), links, failures,
        )
        self.read_at = time.monotonic()
        return self.snapshot

    def new_log(self) -> str:
        """What charon logged since the last call (the file only grows: read from where we stopped)."""
        path = self.run_dir / "charon.log"
        if not path.exists():
            return ""
        with path.open("rb") as fh:
            fh.seek(self.log_offset)
            data = fh.read()
        self.log_offset += len(data)
        return data.decode(errors="replace")

    def fill(self) -> None:
        """Write the last snapshot into the router's dynamic items (after the fabric wrote its own)."""
        snap = self.snapshot
        if snap is None:
            return
        state.fill(self.router, snap.sas, snap.neighbors, snap.bfd, snap.routes, snap.links)
        for message in snap.failures:
            self.router.log("ipsec,error", message)
        snap.failures = []

    def read_state(self) -> None:
        """Fill the router's dynamic items from what the daemons report now."""
        self.read()
        self.fill()

    def stop_frr(self) -> None:
        for daemon in FRR_DAEMONS:
            pidfile = self.frr_dir / f"{daemon}.pid"
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, 15)
                _wait_gone(pid)
            with contextlib.suppress(OSError):
                (self.frr_dir / f"{daemon}.vty").unlink()


@dataclass
class Snapshot:
    """One reading of a router's daemons (parsed), and the IKE failures its charon logged since the last."""

    sas: list[state.IkeSa]
    neighbors: list[dict[str, str]]
    bfd: list[dict[str, str]]
    routes: list[dict[str, object]]
    links: dict[str, bool]
    failures: list[str]


def _wait_for(path: Path, message: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise NetnsError(message)
        time.sleep(0.02)


def _wait_gone(pid: int, timeout: float = 5) -> None:
    """Until `pid` has exited (a zombie nobody reaps counts as gone: daemonised FRR has no parent here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
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
        """Bring the router's namespace and daemons to its configuration: translate first (raises
        `Untranslatable` before anything changes), then links, WAN, charon, FRR, each only if changed."""
        node = self.nodes[router.spec.name]
        charon, text = strongswan.translate(router), frr.translate(router)
        node.wanted_links()  # refuses interface names Linux cannot carry, before anything changes
        node.sync_links()
        node.set_wan(wan_up(router, node.wan))
        node.load_charon(charon)
        node.start_frr(text)

    def refresh(self) -> None:
        """Every router's dynamic items from its daemons (called before the lab answers a print)."""
        for node in self.nodes.values():
            node.read_state()

    def down(self) -> list[str]:
        return cleanup(self.state_dir)
