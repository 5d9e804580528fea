"""The expected state made while the routers are read (ikefleet.verify.judge.Foresight) is the verdict's only
when the reads left its inputs as they were; a router on another version or a renewed client certificate
on the hub makes the judge derive it again from what was read, and the report is the same either way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from recorded import DATA, HOSTS, state

import ikefleet.verify.judge as judge_module
from ikefleet.fleet import Fleet
from ikefleet.inventory import load_inventory
from ikefleet.plan import Plan, build_plan
from ikefleet.verify.engine import Report
from ikefleet.verify.expected import Expected, expected_state
from ikefleet.verify.gather import HostState
from ikefleet.verify.judge import Foresight, judge


def inputs() -> tuple[Fleet, Plan, dict[str, HostState]]:
    fleet = load_inventory(DATA / "config.yaml")
    states = {h: state(h) for h in HOSTS}
    for s in states.values():
        s.ros_version = "6.49.2"  # as the login reports it: the inventory's version
    return fleet, build_plan(fleet), states


def verdicts(report: Report) -> list[tuple[str, str, str, str]]:
    return [(r.check, r.host, r.status, str(r.observed)) for r in report.results]


def spy(monkeypatch: pytest.MonkeyPatch) -> list[Fleet]:
    """The fleets the judge derives an expected state from itself (not the foresight's)."""
    made: list[Fleet] = []

    def counted(fleet: Fleet, plan: Plan, hosts: list[str] | None = None) -> Expected:
        made.append(fleet)
        return expected_state(fleet, plan, hosts)

    monkeypatch.setattr(judge_module, "expected_state", counted)
    return made


def test_the_foresights_expected_state_is_used_when_the_reads_match_the_inventory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet, plan, states = inputs()
    fresh = judge(fleet, plan, states)
    foresight = Foresight(fleet, plan, reversed(HOSTS))  # the hosts' order is the run's, not the fleet's
    foresight.thread.join()  # made before the judge looks: nothing of it is left to the judge's thread
    made = spy(monkeypatch)
    report = judge(fleet, plan, states, foresight)
    assert made == []  # nothing derived again: the one made while reading was the verdict's
    assert verdicts(report) == verdicts(fresh) and report.compliant
    # taken once: a second judge of the same run derives its own
    judge(fleet, plan, states, foresight)
    assert made == [fleet]


@pytest.mark.parametrize("change", ["version", "renewed client certificate", "other hosts"])
def test_reads_that_differ_from_the_inventory_make_the_judge_derive_it_from_what_was_read(
    monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    fleet, plan, states = inputs()
    hosts: tuple[str, ...] = HOSTS
    if change == "version":
        states["br1"].ros_version = "6.48.6"
    elif change == "renewed client certificate":
        hub = states["hub"]
        certificates = [dict(c, name="br2-client-20261206183000") if c.get("name") == "br2-client" else c
                        for c in hub.get("certificate")]
        states["hub"] = replace(hub, sections={**hub.sections, "certificate": certificates})
    else:
        hosts = ("hub", "br1")
    fresh = judge(fleet, plan, states)
    foresight = Foresight(fleet, plan, hosts)
    made = spy(monkeypatch)
    report = judge(fleet, plan, states, foresight)
    assert len(made) == 1
    assert verdicts(report) == verdicts(fresh)
    if change == "version":
        assert made[0].site("br1").ros_version == "6.48.6"


def test_a_foresight_that_failed_leaves_the_judge_to_derive_it_and_raise_in_its_own_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet, plan, states = inputs()

    def broken(*args: Any, **kwargs: Any) -> Expected:
        raise ValueError("template error")

    monkeypatch.setattr(judge_module, "expected_state", broken)
    foresight = Foresight(fleet, plan, HOSTS)
    with pytest.raises(ValueError, match="template error"):
        judge(fleet, plan, states, foresight)

