"""The address plan: the seed's numbers for branch 1, stability when branches come and go, JSON output."""

from __future__ import annotations

import argparse
import json
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from fleet_factory import branch, hub, write_inventory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.cli import plan as plan_cli
from ikefleet.inventory import Fleet, load_inventory
from ikefleet.plan import build_plan


def fleet_with(root: Path, branch_ids: list[int]) -> Fleet:
    hosts = {"R1": hub(), **{f"b{n}": branch(n) for n in branch_ids}}
    return load_inventory(write_inventory(root, hosts=hosts, defaults_data={}))  # pools /22 and /20


def test_seed_branch_matches_the_seed_table(tmp_path: Path) -> None:
    plan = build_plan(load_inventory(write_inventory(tmp_path)))
    r2 = plan.branch("R2")
    assert plan.hub.ipsec_address == IPv4Address("10.0.0.1")
    assert r2.ipsec_address == IPv4Address("10.0.0.2")
    assert r2.hub_ipsec_address == plan.hub.ipsec_address
    assert r2.eoip_network == IPv4Network("172.16.0.0/30")
    assert r2.hub_eoip_address == IPv4Interface("172.16.0.1/30")
    assert r2.branch_eoip_address == IPv4Interface("172.16.0.2/30")
    assert r2.tunnel_id == 1
    assert r2.router_id == IPv4Address("192.168.2.1")
    assert plan.hub.router_id == IPv4Address("192.168.1.1")


def test_last_octet_trick_generalised(tmp_path: Path) -> None:
    plan = build_plan(fleet_with(tmp_path, [1, 2, 70]))
    b70 = plan.branch("b70")
    assert b70.ipsec_address == IPv4Address("10.0.0.71")
    assert b70.eoip_network == IPv4Network("172.16.1.20/30")  # the 70th /30 of 172.16.0.0/20
    assert b70.hub_eoip_address.ip + 1 == b70.branch_eoip_address.ip
    assert b70.tunnel_id == 70


def test_names_follow_the_documented_scheme(tmp_path: Path) -> None:
    plan = build_plan(fleet_with(tmp_path, [1, 2]))
    b2 = plan.branch("b2")
    assert (b2.hub_interface, b2.branch_interface) == ("eoip-b2", "eoip-hub")
    assert b2.client_certificate == "b2-client"
    assert (plan.hub.ca_certificate, plan.hub.server_certificate) == ("ca", "hub-server")
    assert len({b.hub_interface for b in plan.branches}) == len(plan.branches)


def test_plan_is_pure(tmp_path: Path) -> None:
    fleet = fleet_with(tmp_path, [3, 1, 2])
    assert build_plan(fleet) == build_plan(fleet)
    assert [b.branch_id for b in build_plan(fleet).branches] == [1, 2, 3]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.sets(st.integers(min_value=1, max_value=60), min_size=2, max_size=6), data=st.data())
def test_adding_or_removing_branches_never_moves_others(tmp_path_factory: pytest.TempPathFactory,
                                                        ids: set[int], data: st.DataObject) -> None:
    before = build_plan(fleet_with(tmp_path_factory.mktemp("before"), sorted(ids)))
    removed = data.draw(st.sampled_from(sorted(ids)))
    added = data.draw(st.integers(min_value=61, max_value=200))
    after_ids = sorted((ids - {removed}) | {added})
    after = build_plan(fleet_with(tmp_path_factory.mktemp("after"), after_ids))
    for name in (f"b{n}" for n in ids - {removed}):
        assert after.branch(name) == before.branch(name)
    assert after.hub == before.hub
    with pytest.raises(KeyError):
        after.branch(f"b{removed}")


def test_to_json_round_trips_through_json(tmp_path: Path) -> None:
    plan = build_plan(fleet_with(tmp_path, [1, 4]))
    data = json.loads(json.dumps(plan.to_json()))
    assert list(data["branches"]) == ["b1", "b4"]
    assert data["branches"]["b4"]["ipsec_address"] == str(plan.branch("b4").ipsec_address)
    assert data["branches"]["b4"]["tunnel_id"] == 4
    assert data["hub"]["ipsec_address"] == "10.0.0.1"


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_inventory(tmp_path)
    assert plan_cli.run(argparse.Namespace(config=str(config), json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == build_plan(load_inventory(config)).to_json()


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1), "R3": branch(2)}
    config = str(write_inventory(tmp_path, hosts=hosts))
    assert plan_cli.run(argparse.Namespace(config=config, json=False)) == 0
    out = capsys.readouterr().out
    for text in ("R2", "R3", "172.16.0.2/30", "172.16.0.6/30", "eoip-R3", "R3-client", "10.0.0.3"):
        assert text in out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.sets(st.integers(min_value=1, max_value=250), min_size=1, max_size=8))
def test_planned_addresses_never_collide(tmp_path_factory: pytest.TempPathFactory, ids: set[int]) -> None:
    fleet = fleet_with(tmp_path_factory.mktemp("fleet"), sorted(ids))
    plan = build_plan(fleet)
    inner = [plan.hub.ipsec_address, *(b.ipsec_address for b in plan.branches)]
    assert len(set(inner)) == len(inner)
    assert all(ip in fleet.defaults.pools.ipsec for ip in inner)
    nets = [b.eoip_network for b in plan.branches]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    for b in plan.branches:
        assert b.eoip_network.subnet_of(fleet.defaults.pools.eoip)
        assert b.hub_eoip_address.network == b.branch_eoip_address.network == b.eoip_network
        assert b.hub_eoip_address.ip != b.branch_eoip_address.ip


def test_plan_carries_each_sites_lans_for_route_checks(tmp_path: Path) -> None:
    plan = build_plan(fleet_with(tmp_path, [1, 2]))
    assert plan.hub.lan_prefixes == (IPv4Network("192.168.1.0/24"),)
    assert plan.branch("b2").lan_prefixes == (IPv4Network("192.168.3.0/24"),)
    assert plan.to_json()["branches"]["b2"]["lan_prefixes"] == ["192.168.3.0/24"]
    assert plan.to_json()["branches"]["b2"]["wan_address"] == "198.51.100.3"


def test_client_certificate_versions_and_renewal_names() -> None:
    from datetime import UTC, datetime

    from ikefleet.plan import client_base, client_versions, renewal_name

    names = ["br11-client", "br1-client-20261206183000", "br1-client", "br1-client-old", "hub-server",
             "br1-client-20251206183000"]
    assert client_versions(names, "br1-client") == [
        "br1-client", "br1-client-20251206183000", "br1-client-20261206183000"]
    assert client_base("br1-client-20261206183000") == "br1-client" == client_base("br1-client")
    now = datetime(2026, 12, 6, 18, 30, 0, tzinfo=UTC)
    assert renewal_name("br2-client", names, now) == "br2-client-20261206183000"
    # a renewal in the same second as the newest version still sorts after it
    assert renewal_name("br1-client", names, now) == "br1-client-20261206183001"


def test_resolve_clients_names_each_branch_by_its_newest_version(tmp_path: Path) -> None:
    from ikefleet.plan import resolve_clients

    plan = build_plan(fleet_with(tmp_path, [1, 2]))
    first, second = plan.branches[0], plan.branches[1]
    renewed = f"{first.client_certificate}-20261206183000"
    held = [first.client_certificate, renewed, "unrelated", second.client_certificate]
    resolved = resolve_clients(plan, held)
    assert resolved.branch(first.name).client_certificate == renewed
    assert resolved.branch(second.name).client_certificate == second.client_certificate
    assert resolve_clients(plan, []).branches == plan.branches


def test_resolve_client_names_one_branch_as_resolve_clients_does(tmp_path: Path) -> None:
    from ikefleet.plan import resolve_client, resolve_clients

    plan = build_plan(fleet_with(tmp_path, [1, 2, 3]))
    first, second = plan.branches[0], plan.branches[1]
    held = [first.client_certificate, f"{first.client_certificate}-20261206183000",
            f"{second.client_certificate}-20261207000000", "unrelated"]
    for site in plan.branches:
        one = resolve_client(plan, site.name, held)
        assert one.branch(site.name) == resolve_clients(plan, held).branch(site.name)
        assert [b for b in one.branches if b.name != site.name] == [
            b for b in plan.branches if b.name != site.name]
    assert resolve_client(plan, first.name, []) is plan
