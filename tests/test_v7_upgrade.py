"""Upgrade scenario: a branch moved from RouterOS 6 to 7 between runs converges on the next rollout, and no
v6-era item is left behind (the items the upgrade converted are replaced by the v7 design's)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Router
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.runbooks.verify import Verify, VerifyOptions

V6_ONLY = ("/routing ospf network", "/routing ospf interface", "/routing filter", "/routing bfd interface")


def rollout(lab: Lab) -> Summary:
    lab.settle()
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()


def upgrade(router: Router) -> None:
    """What the RouterOS 7 upgrade does to the OSPF part (roughly): the default instance becomes
    `default-v2`, each `/routing ospf network` an interface-template (comment kept); v6-only menus go."""
    config = router.config
    old = next(i for i in config.items("/routing ospf instance") if i.default)
    networks = config.items("/routing ospf network")
    for path in (*V6_ONLY, "/routing ospf instance", "/routing ospf area"):
        config.menus.pop(path, None)
    config.add("/routing ospf instance", {"name": "default-v2", "router-id": old.get("router-id"),
                                          "redistribute": "connected"})
    config.add("/routing ospf area", {"name": "backbone", "instance": "default-v2"})
    for net in networks:
        config.add("/routing ospf interface-template", {"area": "backbone", "networks": net.get("network")},
                   comment=net.comment)
    for item in config.items("/system ntp client"):
        for name in ("primary-ntp", "secondary-ntp", "server-dns-names"):
            item.values.pop(name, None)
    router.spec = replace(router.spec, version="7.16.1")
    router.changed()


def test_branch_upgraded_to_v7_converges(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=2, version="7.16.1,6.49.2", convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        assert not rollout(lab).failed
        branch = lab.routers["br1"]
        assert branch.major_version == 6
        lab.settle()
        upgrade(branch)
        converted = [i.get("networks") for i in branch.config.items("/routing ospf interface-template")]
        assert converted  # the leftovers the next rollout must clear
        hosts = lab.directory / "inventory" / "hosts.yaml"
        yaml = YAML()
        data = yaml.load(hosts.read_text())
        data["br1"]["data"]["ros_version"] = "7.16.1"
        yaml.dump(data, hosts)

        summary = rollout(lab)
        assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
        assert summary.hosts["br1"].status == "changed" and summary.hosts["br2"].status == "unchanged"
        lab.settle()
        templates = branch.config.items("/routing ospf interface-template")
        assert all(t.get("interfaces") for t in templates)  # every converted networks-only template is gone
        assert {t.get("interfaces") for t in templates} == {"eoip-hub", "bridge"}
        assert [i.get("name") for i in branch.config.items("/routing ospf instance")] == ["default-v2"]
        assert branch.config.items("/routing filter rule")
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
        assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]
        assert rollout(lab).hosts["br1"].status == "unchanged"
