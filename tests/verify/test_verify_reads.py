"""What verify reads and how long it holds a session, on a mixed v6/v7 lab (text and JSON reads alike).

The route read follows what the checks look at: the hub reads every OSPF route (each branch's LANs), a
branch reads only the hub's LANs and the EoIP pool, so a verify no longer parses every branch's LAN on
every branch (the fleet squared). Each router's session is closed once it is read, so a run holds at most
its workers' sessions, not the fleet's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML
from tests_support import console_lines, rolled_out_lab

import ikefleet.runbooks.verify as verify_runbook
from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import build_plan
from ikefleet.routeros.console import MAX_V7_LINE, pack, pack_reads
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.tasks.gather import gather, read_raw
from ikefleet.tasks.reach import FILES_READ, LOGINS_READ
from ikefleet.verify.expected import route_reads
from ikefleet.verify.gather import HostState, batch_lines, commands, route_filter

BRANCHES = ("br1", "br2", "br3")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory: Path = tmp_path_factory.mktemp("routes")
    # hub 6.49.2, br1 7.16.1, br2 6.49.2, br3 7.16.1
    options = {"branches": 3, "version": "6.49.2,7.16.1", "convergence_delay": 0.05}
    with rolled_out_lab(directory / "lab", **options) as lab:
        yield lab


def ospf_prefixes(state: HostState) -> set[str]:
    return {str(r.get("dst_address")) for r in state.get("route") if r.get("ospf")}


def lan(lab: Lab, name: str) -> str:
    return str(lab.spec(name).lan_prefix)


def test_each_host_reads_the_routes_its_checks_need(lab: Lab) -> None:
    verify = Verify(VerifyOptions(lab.directory / "config.yaml", record=False))
    states = verify.gather()
    assert {h: s.ros_version for h, s in states.items()} == {
        "hub": "6.49.2", "br1": "7.16.1", "br2": "6.49.2", "br3": "7.16.1"}
    assert {lan(lab, b) for b in BRANCHES} <= ospf_prefixes(states["hub"])
    for branch in BRANCHES:
        seen = ospf_prefixes(states[branch])
        assert lan(lab, "hub") in seen, (branch, seen)
        # without the filter every branch learns the other branches' LANs from the hub
        assert not seen & {lan(lab, other) for other in BRANCHES}, (branch, seen)


def test_unfiltered_read_still_holds_every_branch_lan(lab: Lab) -> None:
    """The filter is what keeps the other LANs out: the plain `where ospf` read on a branch has them."""
    nr = init_nornir(lab.directory / "config.yaml")
    try:
        result = nr.filter(name="br1").run(task=gather, on_failed=True)
    finally:
        nr.close_connections(on_failed=True)
    assert {lan(lab, "br2"), lan(lab, "br3")} <= ospf_prefixes(result["br1"][0].result)


def test_the_filtered_fleet_is_compliant(lab: Lab) -> None:
    report = Verify(VerifyOptions(lab.directory / "config.yaml", record=False)).run()
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]


def test_route_reads_name_the_hub_lans_and_the_pool(lab: Lab) -> None:
    fleet = load_inventory(lab.directory / "config.yaml")
    reads = route_reads(fleet, build_plan(fleet))
    assert reads["hub"] == "ospf"
    pool = fleet.defaults.pools.eoip
    assert reads["br1"] == f"ospf and (dst-address in {lan(lab, 'hub')} or dst-address in {pool})"
    assert set(reads) == {"hub", *BRANCHES}


def test_the_filter_fits_a_v7_console_line() -> None:
    many = [ip_network(f"10.{n}.0.0/16") for n in range(8)]
    for line in batch_lines(major=7, routes=route_filter(many)):
        assert len(line) <= MAX_V7_LINE
    assert route_filter([]) == "ospf"
    assert route_filter([*many, ip_network("10.9.0.0/16")]) == "ospf"  # too long for a v7 line: read all
    assert commands(6, routes="ospf")["route"].endswith("where ospf")
    v7_read = commands(7, routes=route_filter(many[:1]))["route"]
    assert v7_read.startswith(":put [:serialize to=json options=json.no-string-conversion "
                              "[/ip route print as-value where ospf and (")


@given(st.lists(st.text(alphabet="ab;", min_size=1, max_size=60), max_size=30), st.integers(20, 120))
def test_reads_pack_into_no_more_lines_than_in_order(reads: list[str], limit: int) -> None:
    """Every read once, no line over the limit unless one read alone is, and never more lines (round
    trips) than packing them in order."""
    lines = pack_reads(reads, limit)
    assert sorted(r for line in lines for r in line) == sorted(reads)
    assert all(len("; ".join(line)) <= limit or len(line) == 1 for line in lines)
    assert len(lines) <= len(pack(reads, limit))


@pytest.mark.parametrize("host", ["br1", "br2"])  # RouterOS 7.16.1 (text reads), 6.49.2
def test_a_reachs_own_reads_take_no_line_of_their_own(lab: Lab, host: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run's reach reads what verify reads and its own two counts (hand-over files, other logins) in
    as many console lines, round trips, as verify: on v7 the counts took a line of their own."""
    lines = console_lines(monkeypatch)
    fleet = load_inventory(lab.directory / "config.yaml")
    routes = route_reads(fleet, build_plan(fleet))[host]
    run: dict[str, list[str]] = {}
    for name, extra in (("verify", None), ("reach", {"files": FILES_READ, "logins": LOGINS_READ})):
        nr = init_nornir(lab.directory / "config.yaml")
        lines.clear()
        try:
            result = nr.filter(name=host).run(task=read_raw, routes=routes, extra=extra, on_failed=True)
        finally:
            nr.close_connections(on_failed=True)
        raw, _ = result[host][0].result
        run[name] = [line.line for line in lines if line.router == host and "<<ikefleet:" in line.line]
    assert raw["files"].strip().isdigit() and raw["logins"].strip().isdigit()
    assert len(run["reach"]) == len(run["verify"])
    if host == "br2":
        assert len(run["reach"]) == 1  # v6: one line, as long as it takes
    else:
        assert len(run["reach"]) > 1 and all(len(line) <= MAX_V7_LINE for line in run["reach"])


def live_sessions() -> int:
    """paramiko transports still open in this process (one thread each; a closed one's thread may take up
    to its 0.1 s socket poll to end, so closed is what `is_active` says)."""
    transports = [t for t in threading.enumerate() if type(t).__name__ == "Transport" and t.is_alive()]
    return sum(1 for t in transports if t.is_active())  # type: ignore[attr-defined]


def test_a_session_is_closed_once_its_router_is_read(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    config = lab.directory / "one-worker.yaml"  # the lab's config, one router at a time
    yaml = YAML()
    data = yaml.load((lab.directory / "config.yaml").read_text())
    data["runner"] = {"plugin": "threaded", "options": {"num_workers": 1}}
    with config.open("w") as out:
        yaml.dump(data, out)
    seen: list[int] = []
    original = verify_runbook.gather

    def counting(task, routes=None):  # type: ignore[no-untyped-def]
        seen.append(live_sessions())  # before this router's session opens: the earlier ones' are closed
        return original(task, routes=routes)

    monkeypatch.setattr(verify_runbook, "gather", counting)
    before = live_sessions()
    states = Verify(VerifyOptions(config, record=False)).gather()
    assert all(s.reachable for s in states.values()) and len(seen) == 4
    assert max(seen) <= before, seen  # kept to the end of the run: [0, 1, 2, 3]
