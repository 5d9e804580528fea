"""Upgrade scenario: a branch moved from RouterOS 6 to 7 between runs (`Lab.upgrade`, the lab's imitation
of RouterOS's own upgrade) converges on the next rollout with no v6-era item left behind, and verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.lab.upgrade import UpgradeError
from ikefleet.routeros.schema import load_schema
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.runbooks.verify import Verify, VerifyOptions

V6_ONLY = ("/routing ospf network", "/routing ospf interface", "/routing filter", "/routing bfd interface")


def rollout(lab: Lab) -> Summary:
    lab.settle()
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    directory: Path = tmp_path_factory.mktemp("upgrade")
    with Lab.start(directory / "lab", branches=2, version="7.16.1,6.49.2", convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        first = rollout(lab)
        lab.settle()
        branch = lab.routers["br1"]
        before = {p: [dict(i.values) for i in branch.config.items(p)] for p in V6_ONLY}
        notes = lab.upgrade("br1", "7.16.1")
        lab.settle()
        converted = {p: [dict(i.values) for i in branch.config.items(p)] for p in
                     ("/routing ospf instance", "/routing ospf area", "/routing ospf interface-template",
                      "/routing filter rule", "/routing bfd configuration", "/system ntp client servers")}
        second = rollout(lab)  # the inventory still says 6.49.2: detection picks v7
        lab.settle()
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
        third = rollout(lab)
        yield {"lab": lab, "first": first, "before": before, "notes": notes, "converted": converted,
               "second": second, "report": report, "third": third}


def test_upgrade_converts_the_v6_configuration(upgraded: dict[str, Any]) -> None:
    assert not upgraded["first"].failed
    before, converted = upgraded["before"], upgraded["converted"]
    assert before["/routing ospf network"] and before["/routing filter"]  # there was something to convert
    assert [i["name"] for i in converted["/routing ospf instance"]] == ["default-v2"]
    assert converted["/routing ospf instance"][0]["router-id"]  # the v6 router id carried over
    assert [(a["name"], a["instance"]) for a in converted["/routing ospf area"]] == [("backbone-v2",
                                                                                     "default-v2")]
    networks = {t.get("networks") for t in converted["/routing ospf interface-template"]}
    assert {n["network"] for n in before["/routing ospf network"]} <= networks
    templates = converted["/routing ospf interface-template"]
    assert any(t.get("interfaces") and t.get("type") == "ptp" for t in templates)
    rules = [(r["chain"], r["rule"]) for r in converted["/routing filter rule"]]
    assert len(rules) == len([f for f in before["/routing filter"] if f.get("action") != "passthrough"])
    assert any(rule.startswith("if (dst in ") and rule.endswith("{ accept }") for _, rule in rules)
    assert converted["/system ntp client servers"]
    assert any("default-v2" in n for n in upgraded["notes"])
    assert not any(n.startswith("/certificate") for n in upgraded["notes"])  # certificates carried whole
    keys = [c.get("private-key") for c in upgraded["lab"].routers["br1"].config.items("/certificate")]
    assert "yes" in keys  # the branch's own certificate still has its key (K flag)


def test_upgraded_router_speaks_v7(upgraded: dict[str, Any]) -> None:
    lab: Lab = upgraded["lab"]
    branch = lab.routers["br1"]
    assert branch.major_version == 7 and lab.spec("br1").version == "7.16.1"
    assert lab.plan.upgraded == {"br1": "7.16.1"}  # kept in lab.json: a restarted lab stays upgraded
    schema = load_schema(7)
    assert all(schema.has_menu(p) for p in branch.config.menus if branch.config.menus[p])


def test_next_rollout_converges_with_no_leftovers(upgraded: dict[str, Any]) -> None:
    second, lab = upgraded["second"], upgraded["lab"]
    assert not second.failed, {h: o.error for h, o in second.hosts.items() if o.error}
    assert second.hosts["br1"].status == "changed" and second.hosts["br2"].status == "unchanged"
    assert "runs RouterOS 7.16.1 but the inventory says ros_version 6.49.2" in second.hosts["br1"].warnings[0]
    config = lab.routers["br1"].config
    for path in V6_ONLY:  # v7 `/routing ospf interface` is state: the dynamic rows its templates make
        assert not [i for i in config.menus.get(path, []) if not i.dynamic], path
    assert all(i.get("address") for i in config.items("/routing ospf interface"))
    templates = config.items("/routing ospf interface-template")
    assert {t.get("interfaces") for t in templates} == {"eoip-hub", "bridge"}  # converted ones replaced
    assert [i.get("name") for i in config.items("/routing ospf instance")] == ["default-v2"]
    # The upgrade's area `backbone-v2` is the one ikefleet's v7 templates name: kept, not doubled.
    assert [a.get("name") for a in config.items("/routing ospf area")] == ["backbone-v2"]
    assert {t.get("area") for t in templates} == {"backbone-v2"}
    assert [r.get("rule") for r in config.items("/routing filter rule")][-1] == "accept"
    assert upgraded["third"].hosts["br1"].status == "unchanged"


def test_upgraded_branch_verifies_compliant(upgraded: dict[str, Any]) -> None:
    report = upgraded["report"]
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]


def test_refused_upgrades(upgraded: dict[str, Any]) -> None:
    lab: Lab = upgraded["lab"]
    for version, words in (("8.1", "7.11 or later"), ("7.9", "7.11 or later"), ("seven", "not a RouterOS"),
                           ("7.12", "downgrade")):
        with pytest.raises(UpgradeError, match=words):
            lab.upgrade("br1", version)
    with pytest.raises(KeyError):
        lab.upgrade("nope", "7.16.1")


def test_upgrade_survives_a_lab_restart(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    with Lab.start(directory, branches=1, version="6.49.2", control_socket=False) as lab:
        lab.upgrade("br1", "7.16.1")
        lab.settle()
    with Lab.start(directory, control_socket=False) as again:
        assert again.routers["br1"].major_version == 7 and again.routers["hub"].major_version == 6
        assert not again.routers["br1"].config.menus.get("/routing bfd interface")
        assert again.status()[1]["version"] == "7.16.1"
