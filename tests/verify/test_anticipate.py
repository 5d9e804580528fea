"""verify works its expected state out while it still reads (processors/anticipate.py: when the run starts,
and again from the hub's state if it names other certificates), and the judge takes such a state only when
the reads give the same inputs: the verdict is the one the judge would give on its own, whatever the reads
say."""

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


@pytest.mark.parametrize("known", ["nothing read yet", "the hub read"])
def test_the_anticipated_state_is_used_when_the_reads_give_its_inputs(calls: list[str], known: str) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = recorded_states()
    alone = judge(fleet, plan, states)
    early = anticipate(fleet, plan, HOSTS, {} if known == "nothing read yet" else {"hub": states["hub"]})
    calls.clear()
    assert verdict(judge(fleet, plan, states, [early])) == verdict(alone)
    assert calls == []  # nothing worked out again


def renewed(hub: HostState) -> HostState:
    """The hub holding br1's renewed client certificate (plan.renewal_name) instead of the first one."""
    certificates = [{**c, "name": c["name"] + "-20261206183000"} if c.get("name") == "br1-client" else c
                    for c in hub.get("certificate")]
    assert certificates != hub.get("certificate")
    return replace(hub, sections={**hub.sections, "certificate": certificates})


@pytest.mark.parametrize("change", ["a branch runs another version", "the hub holds other certificates",
                                    "other hosts"])
def test_an_anticipated_state_of_other_inputs_is_worked_out_again(calls: list[str], change: str) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = recorded_states()
    hosts = HOSTS
    if change == "a branch runs another version":
        states["br2"] = replace(states["br2"], ros_version="7.16.2")
    elif change == "the hub holds other certificates":
        states["hub"] = renewed(states["hub"])
    else:
        hosts = HOSTS[:-1]
    early = anticipate(fleet, plan, hosts, {})
    alone = judge(fleet, plan, states)
    calls.clear()
    assert verdict(judge(fleet, plan, states, [early])) == verdict(alone)
    assert len(calls) == 1  # the judge worked it out itself


def completed(processor: AnticipateExpected, state: HostState) -> None:
    done = MultiResult("gather")
    done.append(Result(host=None, result=state))
    processor.task_instance_completed(None, type("Host", (), {"name": state.host})(), done)  # type: ignore[arg-type]


def test_a_hub_naming_renewed_certificates_is_anticipated_again_and_that_state_is_judged(calls: list[str]
                                                                                         ) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = recorded_states()
    states["hub"] = renewed(states["hub"])
    early = AnticipateExpected(fleet, plan, HOSTS)
    early.task_started(None)  # type: ignore[arg-type]
    completed(early, states["hub"])
    found = early.anticipated()
    assert calls == ["anticipate-expected", "anticipate-expected"] and len(found) == 2
    calls.clear()
    assert verdict(judge(fleet, plan, states, found)) == verdict(judge(fleet, plan, {**states}))
    assert len(calls) == 1  # only the judge alone worked it out: with `found` it took the hub's


@pytest.mark.parametrize("hub", ["not read", "read, naming the plan's certificates"])
def test_a_hub_that_changes_nothing_or_was_not_read_starts_nothing_more(calls: list[str], hub: str) -> None:
    fleet = load_inventory(DATA / "config.yaml")
    early = AnticipateExpected(fleet, build_plan(fleet), HOSTS)
    early.task_started(None)  # type: ignore[arg-type]
    completed(early, HostState("hub", error="connection refused") if hub == "not read" else state("hub"))
    assert len(early.anticipated()) == 1 and calls == ["anticipate-expected"]


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
    assert calls == ["anticipate-expected"]  # when the run started; the judge took it
