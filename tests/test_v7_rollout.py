"""Rollout + verify on an all-v7 lab and on a mixed lab (hub v7, branches v6 and v7 in turn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.verify.engine import Report


def rollout(lab: Lab) -> Summary:
    lab.settle()
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()


def verify(lab: Lab) -> Report:
    lab.settle()
    return Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()


@pytest.fixture(scope="module", params=["7.16.1", "7.16.1,6.49.2"], ids=["all-v7", "mixed"])
def rolled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Lab, Summary, Summary, Report]]:
    directory: Path = tmp_path_factory.mktemp("v7")
    with Lab.start(directory / "lab", branches=2, version=request.param, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        first = rollout(lab)
        second = rollout(lab)
        yield lab, first, second, verify(lab)


def test_rollout_converges_and_is_idempotent(rolled) -> None:  # type: ignore[no-untyped-def]
    lab, first, second, _ = rolled
    assert not first.failed, {h: o.error for h, o in first.hosts.items() if o.error}
    assert {o.status for o in first.hosts.values()} == {"changed"}
    assert {o.status for o in second.hosts.values()} == {"unchanged"}
    assert lab.routers["hub"].major_version == 7


def test_v7_routers_hold_v7_items_only(rolled) -> None:  # type: ignore[no-untyped-def]
    lab, *_ = rolled
    lab.settle()
    for router in lab.routers.values():
        config = router.config
        if router.major_version >= 7:
            assert config.items("/routing ospf interface-template")
            assert [i.get("rule") for i in config.items("/routing filter rule")][-1] == "accept"
            assert not config.menus.get("/routing ospf network") and not config.menus.get("/routing filter")
        else:
            assert config.items("/routing ospf network") and config.items("/routing filter")


def test_verify_is_compliant(rolled) -> None:  # type: ignore[no-untyped-def]
    *_, report = rolled
    failing = [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]
    assert report.compliant, failing
    checks = {(r.host, r.check) for r in report.results if r.status == "pass"}
    assert {("br1", "ospf.neighbor"), ("br1", "bfd.neighbor"), ("hub", "hub.ospf")} <= checks


def test_v7_neighbours_and_bfd_sessions_in_v7_form(rolled) -> None:  # type: ignore[no-untyped-def]
    lab, *_ = rolled
    lab.settle()
    hub = lab.routers["hub"]
    sessions = [i for i in hub.config.items("/routing bfd session") if i.get("state") == "up"]
    assert {i.get("remote-address").split("%")[1] for i in sessions} == {"eoip-br1", "eoip-br2"}
    assert all(not i.get("interface") for i in sessions)  # v7 has no interface= (helpmt-bfd capture)
    assert not hub.config.items("/routing bfd neighbor")
