"""verify works its expected state out while it still reads (from the hub's state, processors/anticipate.py),
and the judge takes that state only when the reads give the same inputs: the verdict is the one the judge
would give on its own, whatever the reads say."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from nornir.core.task import MultiResult, Result
from recorded import DATA, HOSTS, state
from tests_support import rolled_out_lab

from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.plan import build_plan
from ikefleet.processors.anticipate import AnticipateExpected
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.verify import judge as judge_module
from ikefleet.verify.engine import Report
from ikefleet.verify.gather import HostState
from ikefleet.verify.judge import anticipate, judge


def verdict(report: Report) -> list[tuple[str, str, str, str, str]]:
    return [(r.check, r.host, r.subject, r.status, r.observed) for r in report.results]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that worked out an expected state (ikefleet.verify.judge.expected_state)."""
    seen: list[str] = []
    real = judge_module.expected_state

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(judge_module, "expected_state", counted)
    return seen


def recorded_states() -> dict[str, HostState]:
    return {h: state(h) for h in HOSTS}


def test_the_anticipated_state_is_used_when_the_reads_give_its_inputs(calls: list[str]) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = recorded_states()
    alone = judge(fleet, plan, states)
    early = anticipate(fleet, plan, HOSTS, states["hub"])
    calls.clear()
    assert verdict(judge(fleet, plan, states, early)) == verdict(alone)
    assert calls == []  # nothing worked out again


@pytest.mark.parametrize("change", ["a branch runs another version", "the hub holds other certificates",
                                    "other hosts"])
def test_an_anticipated_state_of_other_inputs_is_worked_out_again(calls: list[str], change: str) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = recorded_states()
    hub, hosts = states["hub"], HOSTS
    if change == "a branch runs another version":
        states["br2"] = replace(states["br2"], ros_version="7.16.2")
    elif change == "the hub holds other certificates":
        certificates = [{**c, "name": c["name"] + "-20261206183000"} if c.get("name") == "br1-client" else c
                        for c in hub.get("certificate")]  # a renewal's name (plan.renewal_name)
        hub = replace(hub, sections={**hub.sections, "certificate": certificates})
        assert certificates != states["hub"].get("certificate")
    else:
        hosts = HOSTS[:-1]
    early = anticipate(fleet, plan, hosts, hub)
    alone = judge(fleet, plan, states)
    calls.clear()
    assert verdict(judge(fleet, plan, states, early)) == verdict(alone)
    assert len(calls) == 1  # the judge worked it out itself


def test_a_hub_that_could_not_be_read_starts_nothing(calls: list[str]) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    early = AnticipateExpected(fleet, build_plan(fleet), HOSTS)

    class Run:
        host = type("Host", (), {"name": "hub"})()

    done = MultiResult("gather")
    done.append(Result(host=None, result=HostState("hub", error="connection refused")))
    early.task_instance_completed(None, Run.host, done)  # type: ignore[arg-type]
    assert early.anticipated() is None and calls == []


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with rolled_out_lab(tmp_path_factory.mktemp("anticipate"), branches=2) as lab:
        yield lab


@pytest.mark.parametrize("record", [False, True])
def test_verify_works_the_expected_state_out_while_it_reads(lab: Lab, calls: list[str], record: bool,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # (the history database of a recorded run)
    report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=record)).run()
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status == "fail"]
    assert calls == ["anticipate-expected"]
