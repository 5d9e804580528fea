"""RouterOS 7 scripts: the same design as v6 in the v7 menus, chosen per host by `ros_version`."""

from __future__ import annotations

import copy
import ipaddress
import re
from pathlib import Path

import pytest
from fleet_factory import SEED_DEFAULTS, branch, hub, write_inventory

from ikefleet.intent import host_major, intended_config, intended_lines, render_host, ros_major
from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan
from ikefleet.routeros.schema import load_schema

V6_ONLY = {"/routing ospf network", "/routing ospf interface", "/routing filter", "/routing bfd interface"}
V7_ROUTING = {"/routing ospf instance", "/routing ospf area", "/routing ospf interface-template",
              "/routing filter rule", "/routing bfd configuration"}


@pytest.fixture
def mixed(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Hub and R2 on v7, R3 on v6 (no ros_version: the v6 default)."""
    hosts = {"R1": hub(ros_version="7.16.1"), "R2": branch(1, ros_version="7.16.1"), "R3": branch(2)}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    return fleet, build_plan(fleet)


def paths(lines) -> set[str]:  # type: ignore[no-untyped-def]
    return {line.path for line in lines}


def test_ros_major() -> None:
    assert (ros_major(None), ros_major("6.49.2"), ros_major("7.16.1"), ros_major("7")) == (6, 6, 7, 7)


def test_versions_pick_the_dialect(mixed) -> None:  # type: ignore[no-untyped-def]
    fleet, plan = mixed
    assert [host_major(fleet, h) for h in ("R1", "R2", "R3")] == [7, 7, 6]
    for host in ("R1", "R2"):
        used = paths(intended_lines(fleet, plan, host))
        assert used >= V7_ROUTING and not used & V6_ONLY
        assert "RouterOS 7" in render_host(fleet, plan, host).splitlines()[0]
    v6 = paths(intended_lines(fleet, plan, "R3"))
    assert {"/routing ospf network", "/routing filter"} <= v6
    assert not v6 & (V7_ROUTING - {"/routing ospf instance"})


@pytest.mark.parametrize("host", ["R1", "R2"])
def test_every_v7_line_is_valid_in_the_v7_schema(mixed, host: str) -> None:  # type: ignore[no-untyped-def]
    fleet, plan = mixed
    schema = load_schema(7)
    for line in intended_lines(*mixed, host):
        menu = schema.menu(line.path)
        assert set(line.args) - {"comment"} <= set(menu.writable_fields), line
        assert all(menu.field(k).required is False or k in line.args for k in menu.writable_fields), line
    config = intended_config(fleet, plan, host)  # normalises every value through the v7 schema
    assert config.items("/routing bfd configuration")


def test_hub_has_a_ptp_bfd_template_per_branch(mixed) -> None:  # type: ignore[no-untyped-def]
    fleet, plan = mixed
    lines = intended_lines(fleet, plan, "R1")
    tunnels = {b.hub_interface for b in plan.branches}
    templates = [ln for ln in lines if ln.path == "/routing ospf interface-template"]
    ptp = [ln for ln in templates if ln.args.get("type") == "ptp"]
    assert {ln.args["interfaces"] for ln in ptp} == tunnels
    assert all(ln.args["use-bfd"] == "yes" and ln.args["area"] == "backbone-v2" for ln in ptp)
    bfd = [ln.args["interfaces"] for ln in lines if ln.path == "/routing bfd configuration"]
    assert sorted(bfd) == sorted(tunnels)
    lan = [ln for ln in lines if ln.path == "/routing ospf interface-template" and ln.args.get("passive")]
    assert [ln.args["networks"] for ln in lan] == ["192.168.1.0/24"]
    instance = next(ln.args for ln in lines if ln.path == "/routing ospf instance")
    assert (instance["in-filter-chain"], instance["out-filter-chain"]) == ("ospf-in", "ospf-out")
    assert instance["router-id"] == str(fleet.site("R1").effective_router_id)


RULE = re.compile(r"^if \(dst in (\S+) && dst-len (in|==) (\d+)(?:-(\d+))?\) "
                  r"\{ (?:set ospf-ext-type (type1|type2); )?(accept|reject) \}$")


def decide(rules: list[str], route: str, ext_type: list[str] | None = None) -> str:
    """What a v7 chain does with `route` (first matching rule; a chain without a verdict rejects);
    `ext_type` receives the OSPF external type the matching rule sets (type2, RouterOS's default, if none)."""
    net = ipaddress.ip_network(route)
    for rule in rules:
        if rule in ("accept", "reject"):
            return rule
        found = RULE.match(rule)
        assert found, rule
        prefix, _op, lo, hi, sets, verdict = found.groups()
        hi = hi or lo
        if net.subnet_of(ipaddress.ip_network(prefix)) and int(lo) <= net.prefixlen <= int(hi):
            if ext_type is not None:
                ext_type.append(sets or "type2")
            return verdict
    return "reject"


@pytest.mark.parametrize(("redistribute", "expected"), [("as-type-1", "type1"), ("as-type-2", "type2")])
def test_v7_exports_lans_with_the_inventorys_external_type(tmp_path: Path, redistribute: str, expected: str
                                                           ) -> None:  # fmt: skip
    """Issue 18.6: v7 has no `redistribute-connected=as-type-1`; the ospf-out rule that accepts a LAN sets
    its type (`set ospf-ext-type type1`), else every external would be type 2."""
    defaults = copy.deepcopy(SEED_DEFAULTS)
    defaults["ospf"]["redistribute_connected"] = redistribute
    hosts = {"R1": hub(ros_version="7.16.1"), "R2": branch(1, ros_version="7.16.1")}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts, defaults_data=defaults))
    for host in ("R1", "R2"):
        lines = intended_lines(fleet, build_plan(fleet), host)
        rules = [ln.args["rule"] for ln in lines
                 if ln.path == "/routing filter rule" and ln.args["chain"] == "ospf-out"]
        found: list[str] = []
        assert decide(rules, "192.168.2.0/24", found) == "accept" and found == [expected]


@pytest.mark.parametrize(
    ("chain", "route", "verdict"),
    [
        ("ospf-out", "192.168.5.0/24", "accept"),  # seed rule 1: LANs are exported
        ("ospf-out", "10.0.0.0/24", "reject"),  # seed rule 2: nothing else
        ("ospf-out", "0.0.0.0/0", "reject"),
        ("ospf-in", "172.16.0.4/30", "reject"),  # seed rule 3: tunnel /30s are not learnt
        ("ospf-in", "192.168.7.0/24", "accept"),  # v6 passed the rest through: v7 needs the explicit accept
        ("ospf-in", "172.16.0.0/24", "accept"),
    ],
)
def test_filter_rules_decide_as_the_seed(mixed, chain: str, route: str, verdict: str) -> None:  # type: ignore[no-untyped-def]
    lines = intended_lines(*mixed, "R2")
    rules = [ln.args["rule"] for ln in lines
             if ln.path == "/routing filter rule" and ln.args["chain"] == chain]
    assert decide(rules, route) == verdict


def test_ntp_servers_are_items_in_v7(mixed) -> None:  # type: ignore[no-untyped-def]
    fleet, plan = mixed
    lines = intended_lines(fleet, plan, "R2")
    servers = [ln.args["address"] for ln in lines if ln.path == "/system ntp client servers"]
    assert servers == list(fleet.defaults.ntp_servers)
    client = next(ln.args for ln in lines if ln.path == "/system ntp client")
    assert client == {"enabled": "yes"}


def test_v7_hosts_pass_validation_from_7_11(tmp_path: Path) -> None:
    hosts = {"R1": hub(ros_version="7.11"), "R2": branch(1, ros_version="7.20.4")}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    assert fleet.site("R2").ros_version == "7.20.4"



def test_jinjas_optimizer_would_change_no_template() -> None:
    """intent.environment() leaves Jinja's constant folding out: it folds nothing in these templates (the
    code Jinja generates is the same with it) and running it cost every verify ~2.5 ms of compiling."""
    from ikefleet import intent

    env = intent.environment()
    optimised = env.overlay(optimized=True, cache_size=0)
    assert not env.optimized and optimised.optimized
    names = env.list_templates(filter_func=lambda name: name.endswith(".j2"))
    assert {"initiator.rsc.j2", "v7/initiator.rsc.j2", "v7/responder.rsc.j2", "_common.j2"} <= set(names)
    for name in names:
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        assert env.compile(source, name, raw=True) == optimised.compile(source, name, raw=True), name
