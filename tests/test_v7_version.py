"""Version detection: the RouterOS a router reports decides its dialect; a wrong inventory `ros_version` is
reported (rollout outcome, --json, verify warning), never trusted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.fleet import with_versions
from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.tasks.version import Detected, remember, running_version
from ikefleet.verify.engine import Report

SAMPLES = Path(__file__).resolve().parent / "parsers" / "golden"  # copies of shared/routeros-samples


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text().split("\n", 1)[1]


def test_running_version_from_the_captures() -> None:
    assert running_version(_sample("v7__system_resource_print__mt-docs.txt")) == "7.14.3"
    assert running_version(_sample("v6__system_resource_print__ntc-doc.txt")) == "6.48.6"
    with pytest.raises(ValueError):
        running_version("bad command name resource (line 1 column 9)")


@pytest.mark.parametrize(
    ("running", "inventory", "says"),
    [("7.16.1", "6.49.2", "inventory says ros_version 6.49.2"),
     ("6.49.2", "7.16.1", "says ros_version 7.16.1"),
     ("7.16.1", None, "gives no ros_version"), ("6.49.2", None, ""), ("7.15", "7.16.1", "")],
)
def test_warning_words(running: str, inventory: str | None, says: str) -> None:
    warning = Detected("br1", running, inventory).warning
    assert (says in warning) if says else warning == ""
    if says:
        assert warning.startswith("br1: runs RouterOS " + running) and "ros_version" in warning


def test_unsupported_running_version_is_said() -> None:
    assert "does not support" in Detected("br1", "7.8", "7.16.1").warning
    assert "does not support" in Detected("br1", "6.40.1", None).warning


def test_unreadable_reply_falls_back_to_the_inventory_and_says_so() -> None:
    task = SimpleNamespace(host=SimpleNamespace(name="br1", data={"ros_version": "7.16.1"}))
    found = remember(task, "garbage that is no resource print")  # type: ignore[arg-type]
    assert (found.version, found.major, found.read) == ("7.16.1", 7, False)
    assert "could not read the RouterOS version" in found.warning
    assert remember(task, _sample("v6__system_resource_print__ntc-doc.txt")).major == 6  # type: ignore[arg-type]


def rollout(lab: Lab) -> Summary:
    lab.settle()
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()


@pytest.fixture(scope="module")
def wrong_inventory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Lab, Summary, Summary, Report]]:
    """hub 7 (inventory: no ros_version), br1 6 (inventory: 7), br2 7 (inventory: 6)."""
    directory: Path = tmp_path_factory.mktemp("detect")
    with Lab.start(directory / "lab", branches=2, version="7.16.1,6.49.2", convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        hosts = lab.directory / "inventory" / "hosts.yaml"
        yaml = YAML()
        data = yaml.load(hosts.read_text())
        del data["hub"]["data"]["ros_version"]
        data["br1"]["data"]["ros_version"] = "7.16.1"
        data["br2"]["data"]["ros_version"] = "6.49.2"
        yaml.dump(data, hosts)
        first, second = rollout(lab), rollout(lab)
        lab.settle()
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
        yield lab, first, second, report


def test_rollout_follows_the_detected_dialect(wrong_inventory) -> None:  # type: ignore[no-untyped-def]
    lab, first, second, _ = wrong_inventory
    assert not first.failed, {h: o.error for h, o in first.hosts.items() if o.error}
    assert {o.status for o in first.hosts.values()} == {"changed"}
    assert {o.status for o in second.hosts.values()} == {"unchanged"}
    assert lab.routers["br1"].config.items("/routing ospf network")  # v6 items on the v6 router
    assert not lab.routers["br1"].config.menus.get("/routing ospf interface-template")
    assert lab.routers["br2"].config.items("/routing ospf interface-template")  # v7 items on the v7 router
    assert not lab.routers["br2"].config.menus.get("/routing ospf network")


def test_rollout_reports_the_mismatch(wrong_inventory) -> None:  # type: ignore[no-untyped-def]
    _, first, second, _ = wrong_inventory
    for summary in (first, second):
        warnings = {h: o["warnings"] for h, o in summary.to_json()["hosts"].items()}
        assert "runs RouterOS 6.49.2 but the inventory says ros_version 7.16.1" in warnings["br1"][0]
        assert "runs RouterOS 7.16.1 but the inventory says ros_version 6.49.2" in warnings["br2"][0]
        assert "gives no ros_version" in warnings["hub"][0]


def test_verify_uses_the_detected_dialect_and_warns(wrong_inventory) -> None:  # type: ignore[no-untyped-def]
    *_, report = wrong_inventory
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]
    warned = {r.host: r for r in report.results if r.check == "host.ros_version"}
    assert set(warned) == {"hub", "br1", "br2"} and {r.status for r in warned.values()} == {"warn"}
    assert warned["br2"].observed == "7.16.1" and "correct ros_version" in warned["br2"].hint
    as_json = report.to_json()["results"]
    assert any(r["check"] == "host.ros_version" and r["host"] == "br1" for r in as_json)


def test_with_versions_changes_only_the_named_sites(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parents[1] / "config.yaml"
    fleet = load_inventory(config)
    name = fleet.branches[0].name
    view = with_versions(fleet, {name: "7.16.1"})
    assert view.site(name).ros_version == "7.16.1"
    assert view.hub == fleet.hub and view.branches[1:] == fleet.branches[1:]
    # what the inventory says already, or a host it does not know: the same fleet, not a copy
    same = {name: fleet.site(name).ros_version, "not-in-the-inventory": "7.16.1"}
    assert with_versions(fleet, same) is fleet
    assert with_versions(view, {name: "7.16.1"}) is view
