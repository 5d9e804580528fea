"""The netns backend for real (root, strongSwan and FRR installed): a hub and 3 branches from the seed's
configuration. Module-scoped: built once, torn down even when a test fails; the destructive tests run last
and each touches its own branch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ikefleet.lab.netns import Untranslatable, namespaces
from ikefleet.lab.netns.runtime import CHARON, NetnsLab

from .test_fabric_seed import Lab, build

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path(CHARON).exists() or shutil.which("vtysh") is None,
    reason="needs root, strongSwan and FRR (.ci/run installs them)",
)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll until `condition` holds; the deadline only bounds the wait, nothing asserts on time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, NetnsLab]]:
    tmp = Path(tmp_path_factory.mktemp("netns"))
    seed = build(tmp, 3)
    netns = NetnsLab(seed.routers, tmp / "state", prefix=f"ikt{os.getpid() % 100000}")
    try:
        netns.up()
        yield seed, netns
    finally:
        netns.down()


def full_neighbors(netns: NetnsLab, name: str) -> set[str]:
    netns.refresh()
    router = netns.nodes[name].router
    return {
        i.get("interface") for i in router.config.items("/routing ospf neighbor") if i.get("state") == "Full"
    }


def bfd_up(netns: NetnsLab, name: str) -> int:
    peers = json.loads(netns.nodes[name].vtysh("show bfd peers json") or "[]")
    return sum(1 for p in peers if p.get("status") == "up")


def ping(netns: NetnsLab, name: str, source: str, target: str) -> subprocess.CompletedProcess[str]:
    args = ["ip", "netns", "exec", netns.nodes[name].ns, "ping", "-c", "3", "-i", "0.2", "-W", "1"]
    return subprocess.run([*args, "-I", source, target], capture_output=True, text=True)


def test_every_branch_establishes_ike_and_ospf_with_the_hub(lab: tuple[Lab, NetnsLab]) -> None:
    seed, netns = lab
    assert wait_for(lambda: len(full_neighbors(netns, "R1")) == 3)
    hub = seed.hub
    peers = hub.config.items("/ip ipsec active-peers")
    assert sorted(p.get("dynamic-address") for p in peers) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert all(p.status["responder"] == "yes" for p in peers)
    sas = hub.config.items("/ip ipsec installed-sa")
    assert len(sas) == 6 and {sa.get("enc-algorithm") for sa in sas} == {"aes-cbc"}
    for branch in seed.branches:
        (peer,) = branch.config.items("/ip ipsec active-peers")
        assert peer.get("remote-address") == "203.0.113.1" and peer.get("id") == "CN=server"


def test_lan_to_lan_goes_through_the_hub_inside_esp_in_udp(lab: tuple[Lab, NetnsLab]) -> None:
    _, netns = lab
    assert wait_for(lambda: ping(netns, "R2", "192.168.2.1", "192.168.4.1").returncode == 0)
    dump = subprocess.Popen(
        ["ip", "netns", "exec", netns.underlay, "tcpdump", "-i", "underlay", "-nn", "-l", "-c", "20", "ip"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(1)  # tcpdump attaches
        result = ping(netns, "R2", "192.168.2.1", "192.168.4.1")
    finally:
        out, _ = dump.communicate(timeout=20) if dump.poll() is not None else (None, None)
        if out is None:
            dump.terminate()
            out, _ = dump.communicate()
    assert result.returncode == 0 and "ttl=63" in result.stdout  # one router (the hub) in between
    lines = [line for line in out.splitlines() if " IP " in line]
    assert lines, "tcpdump saw no IP traffic on the underlay"
    assert all(".4500 > " in line and "UDP-encap" in line for line in lines), "\n".join(lines)


def frr_pids(netns: NetnsLab, name: str) -> list[int]:
    frr_dir = netns.nodes[name].frr_dir
    return [int((frr_dir / f"{daemon}.pid").read_text().split()[0]) for daemon in ("zebra", "bfdd", "ospfd")]


def bfd_sessions(netns: NetnsLab, name: str) -> dict[str, dict[str, object]]:
    """interface -> bfdd's record of its session (`id` is the local discriminator: a new one per session)."""
    peers = json.loads(netns.nodes[name].vtysh("show bfd peers json") or "[]")
    return {str(p.get("interface")): p for p in peers}


def test_the_hub_losing_and_gaining_a_branch_leaves_the_other_branches_sessions(
    lab: tuple[Lab, NetnsLab],
) -> None:
    """Issue (rollout then verify, flaky): the hub's FRR restarted whenever its configuration changed, e.g.
    when the next wave's branch was added to the hub, so the branches an earlier wave's gate had passed lost
    OSPF and BFD afterwards. RouterOS changes one interface in place: the other branches keep the same BFD
    sessions, up throughout, with RouterOS's timers (200 ms x 5); the changed one goes and comes back."""
    seed, netns = lab
    assert wait_for(lambda: bfd_up(netns, "R1") == 3 and len(full_neighbors(netns, "R1")) == 3, timeout=60)
    pids, before = frr_pids(netns, "R1"), bfd_sessions(netns, "R1")
    timers = {(p["transmit-interval"], p["receive-interval"], p["detect-multiplier"]) for p in
              before.values()}
    assert timers == {(200, 200, 5)}
    items = seed.hub.config.items("/routing ospf interface")
    r4 = next(i for i in items if i.get("interface") == "EoIP-R4")
    items.remove(r4)
    try:
        netns.apply(seed.hub)
        assert wait_for(lambda: "EoIP-R4" not in bfd_sessions(netns, "R1"))
    finally:
        items.append(r4)
        netns.apply(seed.hub)
    assert wait_for(lambda: bfd_up(netns, "R1") == 3 and len(full_neighbors(netns, "R1")) == 3, timeout=60)
    after = bfd_sessions(netns, "R1")
    for interface in ("EoIP-Tunnel", "EoIP-R3"):  # the same sessions, never down
        assert (after[interface]["id"], after[interface]["status"]) == (before[interface]["id"], "up")
        assert int(str(after[interface]["uptime"])) >= int(str(before[interface]["uptime"]))
    assert after["EoIP-R4"]["id"] != before["EoIP-R4"]["id"]  # R4's went with its interface, and is back
    assert frr_pids(netns, "R1") == pids  # changed in place, never restarted


def test_a_cut_wan_loses_that_branch_only(lab: tuple[Lab, NetnsLab]) -> None:
    _, netns = lab
    assert wait_for(lambda: len(full_neighbors(netns, "R1")) == 3)
    assert wait_for(lambda: bfd_up(netns, "R1") == 3)
    before = full_neighbors(netns, "R1")
    namespaces.run(["ip", "link", "set", "ether1", "down"], ns=netns.nodes["R3"].ns)
    # BFD (200 ms x 5) withdraws the adjacency; OSPF's own dead interval alone would take 40 s.
    assert wait_for(lambda: len(full_neighbors(netns, "R1")) == 2, timeout=5)
    assert full_neighbors(netns, "R1") == before - {"EoIP-R3"}
    assert len(full_neighbors(netns, "R2")) == 1 and len(full_neighbors(netns, "R4")) == 1


def test_a_proposal_mismatch_fails_ike_and_logs_why(lab: tuple[Lab, NetnsLab]) -> None:
    seed, netns = lab
    branch = seed.branches[2]  # R4
    for proposal in branch.config.items("/ip ipsec proposal"):
        proposal.values["enc-algorithms"] = "aes-128-cbc"
    netns.apply(branch)

    def failed() -> bool:
        netns.refresh()
        return any("NO_PROPOSAL_CHOSEN" in message for _, _, message in branch.logs)

    assert wait_for(failed, timeout=15)
    assert not branch.config.items("/ip ipsec installed-sa")
    # BFD (200 ms x 5) ends the adjacency once the tunnel is gone: poll, the SA went first.
    assert wait_for(lambda: "EoIP-R4" not in full_neighbors(netns, "R1"), timeout=5)


def test_down_leaves_no_namespace_or_daemon(tmp_path: Path) -> None:
    seed = build(tmp_path, 1)
    prefix = f"ikd{os.getpid() % 100000}"
    netns = NetnsLab(seed.routers, tmp_path / "state", prefix=prefix)
    netns.up()
    pids = [int(p.read_text().split()[0]) for p in (tmp_path / "state").rglob("charon.pid")]
    assert pids
    removed = netns.down()
    assert sorted(removed) == sorted([f"{prefix}u", f"{prefix}0", f"{prefix}1"])
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in listed
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not (Path("/run/ikefleet-netns") / prefix).exists()


def test_an_untranslatable_setting_stops_up_and_leaves_nothing(tmp_path: Path) -> None:
    seed = build(tmp_path, 1)
    profile = next(seed.branches[0].config.find("/ip ipsec profile", name="SHA256"))
    profile.values["dh-group"] = "modp9999"
    prefix = f"iku{os.getpid() % 100000}"
    netns = NetnsLab(seed.routers, tmp_path / "state", prefix=prefix)
    with pytest.raises(Untranslatable) as err:
        netns.up()
    assert err.value.setting == "/ip ipsec profile dh-group" and err.value.router == "R2"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in listed
    assert not (Path("/run/ikefleet-netns") / prefix).exists()


def test_cleanup_from_the_record_alone_after_a_lost_process(tmp_path: Path) -> None:
    """A crashed lab leaves only its record: a fresh `cleanup` (what `lab down` runs) removes everything."""
    seed = build(tmp_path, 1)
    prefix = f"ikc{os.getpid() % 100000}"
    NetnsLab(seed.routers, tmp_path / "state", prefix=prefix).up()  # the object is dropped: no down()
    assert prefix in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    removed = namespaces.cleanup(tmp_path / "state")
    assert len(removed) == 3
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
