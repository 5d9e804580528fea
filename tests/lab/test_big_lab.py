"""A 1000-branch lab's address plan and inventory: WAN addresses past the documentation ranges come from
the RFC 2544 benchmarking range, LANs past 192.168.0.0/16 are advertised, it validates and plans."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_interface, ip_network
from pathlib import Path

from ruamel.yaml import YAML

from ikefleet.inventory import load_inventory
from ikefleet.lab import manager
from ikefleet.lab.inventory_writer import write_inventory
from ikefleet.plan import build_plan

BRANCHES = 1000


def _write(tmp_path: Path, branches: int) -> Path:
    plan = manager.LabPlan.new(branches, manager.DEFAULT_VERSION, manager.DEFAULT_MODEL)
    specs = [replace(s, port=20000 + i) for i, s in enumerate(plan.specs())]
    write_inventory(tmp_path, specs, {s.name: i for i, s in enumerate(specs) if i})
    return tmp_path / "config.yaml"


def test_thousand_branch_lab_inventory_validates_and_plans(tmp_path: Path) -> None:
    fleet = load_inventory(_write(tmp_path, BRANCHES))
    plan = build_plan(fleet)
    assert len(plan.branches) == BRANCHES
    wans = {b.name: b.wan_address for b in plan.branches}
    assert wans["br759"] in ip_network("203.0.113.0/24")
    assert wans["br760"] in ip_network("198.18.0.0/15") and wans["br1000"] in ip_network("198.18.0.0/15")
    assert len(set(wans.values())) == BRANCHES
    exported = {str(p) for p in fleet.defaults.ospf.export_prefixes}
    assert exported == {"192.168.0.0/16", "10.128.0.0/9"}  # br254 and later have 10.128.0.0/9 LANs


def test_small_lab_keeps_the_schema_default_exports(tmp_path: Path) -> None:
    _write(tmp_path, 3)
    defaults = YAML(typ="safe").load((tmp_path / "inventory" / "defaults.yaml").read_text())
    assert "ospf" not in defaults["data"]


def test_benchmark_range_only_past_the_documentation_ranges() -> None:
    doc = [ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    first_big = manager.DOCUMENTATION_BRANCHES + 1
    assert all(any(ip_interface(manager.wan_address(i)).ip in n for n in doc) for i in range(first_big))
    assert ip_interface(manager.wan_address(first_big)).ip in ip_network("198.18.0.0/15")
