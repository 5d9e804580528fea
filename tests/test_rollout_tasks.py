"""The rollout's steps as tasks a user composes with plain Nornir (tasks/reach.py, hub.py, gate.py,
put_back.py, branch.py, hub_config.py; runbooks/hub_step.py): read only where they say so, honest
results, and a `str` print_result can show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from tests_support import fast_keys

from ikefleet import diff
from ikefleet.fleet import Fleet
from ikefleet.inventory import load_inventory
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.parsers.certificate import parse_certificate
from ikefleet.plan import Plan, build_plan
from ikefleet.processors.events import Event, GateChanged, GateStarted, GateTimedOut
from ikefleet.runbooks.hub_step import converge_hub, hub_certificates
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.rundir import RunDir
from ikefleet.tasks import (
    Reached,
    detect_version,
    pki,
    put_back_branches,
    reach_branches,
    read_export,
    wait_until_converged,
)
from ikefleet.tasks.branch import HubFacts, WantsCertificate, certified_then_converge, converge_branch
from ikefleet.tasks.converge import PUT_BACK, Outcome
from ikefleet.tasks.hub import hub_clients, hub_reads
from ikefleet.verify import gather as verify_gather
from ikefleet.verify.expected import expected_state, route_reads


@pytest.fixture
def nr(lab: Lab) -> Iterator[Nornir]:
    started = InitNornir(config_file=str(lab.directory / "config.yaml"), logging={"enabled": False})
    try:
        yield started
    finally:
        started.close_connections()


def config(lab: Lab) -> Path:
    return lab.directory / "config.yaml"


def exports(lab: Lab) -> dict[str, list[str]]:
    """Every router's configuration as its export prints it (the header's time left out)."""
    lab.settle()
    return {name: [line for line in Session(router, "admin").execute("/export terse").splitlines()
                   if not line.startswith("#")] for name, router in lab.routers.items()}


def test_the_reach_reads_every_branch_and_leaves_only_the_hub_logged_in(lab: Lab, nr: Nornir) -> None:
    fleet = load_inventory(config(lab))
    plan = build_plan(fleet)
    before = exports(lab)
    routes = route_reads(fleet, plan)
    done = reach_branches(nr, ["br1", "br2"], hub="hub", fleet=fleet, plan=plan, routes=routes)
    assert done.unreachable == {}
    assert {name: r.kind for name, r in done.reached.items()} == {"br1": "new", "br2": "new"}
    assert all(isinstance(r, Reached) and str(r).startswith("new (RouterOS ") for r in done.reached.values())
    assert done.attempts == {"br1": 1, "br2": 1}
    assert not nr.inventory.hosts["br1"].connections and not nr.inventory.hosts["br2"].connections
    assert nr.inventory.hosts["hub"].connections  # the hub's phase starts with its session open
    assert exports(lab) == before


def test_the_hub_reads_print_short(lab: Lab, nr: Nornir) -> None:
    result = nr.filter(name="hub").run(task=hub_reads)["hub"][0]
    config_text, certificates, others = result.result
    assert "/ip address" in config_text and not result.changed and not result.failed
    assert str(result) == (f"configuration ({len(config_text.splitlines())} lines), {len(certificates)} "
                           "certificate(s), no other login")
    assert others is False


def test_the_gate_fails_a_branch_that_does_not_pass_verify_and_says_why(lab: Lab, nr: Nornir) -> None:
    fleet = load_inventory(config(lab))
    plan = build_plan(fleet)
    events: list[Event] = []
    gate = wait_until_converged(nr, ["br1"], expected=expected_state(fleet, plan, ["br1"]), timeout_s=1.0,
                                routes=route_reads(fleet, plan), progress=events.append)
    assert list(gate.failed) == ["br1"] and "ike" in gate.failed["br1"]  # verify's failing checks
    assert str(gate) == "gate failed: br1" and not gate.stopped and "br1" in gate.states
    assert [type(e) for e in events] == [GateStarted, GateChanged, GateTimedOut]


def test_putting_back_to_the_configuration_it_has_sends_nothing(lab: Lab, nr: Nornir) -> None:
    fleet = load_inventory(config(lab))
    snapshot = nr.filter(name="br1").run(task=read_export)["br1"][0].result
    before = exports(lab)
    assert put_back_branches(nr, {"br1": snapshot}, fleet=fleet, plan=build_plan(fleet)) == {"br1": PUT_BACK}
    assert exports(lab) == before


@pytest.fixture
def hub_done(tmp_path: Path) -> Iterator[Lab]:
    """A lab of its own whose hub alone was rolled out: it holds the branches' certificates, they do not."""
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        Rollout(RolloutOptions(config=config(lab), limit=("hub",))).run()
        yield lab


def hub_facts(lab: Lab) -> tuple[Fleet, Plan, Nornir, HubFacts]:
    """The lab's fleet and plan, a Nornir object on it, and what the hub holds for the branches."""
    fleet = load_inventory(config(lab))
    plan = build_plan(fleet)
    nr = InitNornir(config_file=str(config(lab)), logging={"enabled": False})
    clients = nr.filter(name="hub").run(task=hub_clients, plan=plan)["hub"][0].result
    nr.filter(name="hub").close_connections()
    return fleet, plan, nr, HubFacts({c.name: c.fingerprint for c in clients.values()})


def test_a_branch_lacking_its_certificate_says_which_and_nothing_changes(hub_done: Lab,
                                                                         tmp_path: Path) -> None:
    fleet, plan, nr, hub = hub_facts(hub_done)
    before = exports(hub_done)["br1"]
    run = RunDir(tmp_path / "runs", "test")
    try:
        result = nr.filter(name="br1").run(task=certified_then_converge, fleet=fleet, plan=plan, hub=hub,
                                           routes=route_reads(fleet, plan), reached={}, made={}, run=run)
    finally:
        nr.close_connections()
    first = result["br1"][0]
    wants = plan.branch("br1").client_certificate
    assert first.result == WantsCertificate(wants) and str(first) == f"wants certificate {wants}"
    assert not first.changed and not first.failed
    assert exports(hub_done)["br1"] == before


def test_a_branch_converged_on_a_dry_run_says_its_certificate_work_in_its_diff(hub_done: Lab,
                                                                               tmp_path: Path) -> None:
    fleet, plan, nr, hub = hub_facts(hub_done)
    before = exports(hub_done)["br1"]
    run = RunDir(tmp_path / "runs", "test")
    try:
        result = nr.filter(name="br1").run(task=converge_branch, fleet=fleet, plan=plan, hub=hub, reached={},
                                           made={}, run=run, dry_run=True)
    finally:
        nr.close_connections()
    done = result["br1"][0]
    client = plan.branch("br1").client_certificate
    transfer = f"would transfer certificate {client} from the hub to br1 (the branch lacks it)"
    assert isinstance(done.result, Outcome) and done.result.status == "would-change"
    assert done.diff.split("\n")[0] == transfer and done.diff == "\n".join(done.result.changes)
    assert str(done) == f"would-change, {len(done.result.changes)} changes" and not done.failed
    assert exports(hub_done)["br1"] == before


def test_the_hubs_certificate_step_says_what_it_did_and_a_second_one_does_nothing(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        fleet = load_inventory(config(lab))
        plan = build_plan(fleet)
        policy = pki.CertPolicy(**vars(fleet.defaults.certificates))
        nr = InitNornir(config_file=str(config(lab)), logging={"enabled": False})
        try:
            hub = nr.filter(name="hub")
            certs = hub.run(task=pki.certificates)["hub"][0].result
            version = hub.run(task=detect_version)["hub"][0].result.version
            done = hub_certificates(hub, nr, plan=plan, certs=certs, policy=policy, version=version,
                                    reached={}, branches=["br1"])
            again = hub_certificates(hub, nr, plan=plan, certs=done.certs or {}, policy=policy,
                                     version=version, reached={}, branches=["br1"])
        finally:
            nr.close_connections()
    client = plan.branch("br1").client_certificate
    assert not done.error and done.clients is not None and done.certs is not None
    assert done.clients[client].fingerprint == done.certs[client]["fingerprint"]
    assert f"certificate {client} issued (missing)" in done.work
    assert not again.error and again.work == [] and again.certs is done.certs
    assert again.branches == {} and again.failed == {}


def test_the_hubs_phase_on_a_dry_run_says_what_it_would_do_and_changes_nothing(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        fleet = load_inventory(config(lab))
        plan = build_plan(fleet)
        before = exports(lab)
        nr = InitNornir(config_file=str(config(lab)), logging={"enabled": False})
        try:
            done = converge_hub(nr.filter(name="hub"), nr, fleet=fleet, plan=plan,
                                policy=pki.CertPolicy(**vars(fleet.defaults.certificates)), reached={},
                                run=RunDir(tmp_path / "runs", "test"), revoked=(), dry_run=True,
                                branches=["br1"])
        finally:
            nr.close_connections()
        after = exports(lab)
    assert done.outcome.status == "would-change" and done.version and done.background is None
    assert f"would create CA {plan.hub.ca_certificate}" in done.outcome.certificates
    assert list(done.to_issue) == [plan.branch("br1").client_certificate] and done.clients == {}
    assert str(done.outcome) == f"would-change, {len(done.outcome.changes)} changes"
    assert after == before


def test_the_hubs_phase_issues_the_certificates_its_identities_name(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        fleet = load_inventory(config(lab))
        plan = build_plan(fleet)
        nr = InitNornir(config_file=str(config(lab)), logging={"enabled": False})
        try:
            done = converge_hub(nr.filter(name="hub"), nr, fleet=fleet, plan=plan,
                                policy=pki.CertPolicy(**vars(fleet.defaults.certificates)), reached={},
                                run=RunDir(tmp_path / "runs", "test"), revoked=(), branches=["br1"])
        finally:
            nr.close_connections()
        lab.settle()
        identities = [dict(i.values) for i in lab.routers["hub"].config.items("/ip ipsec identity")]
    client = plan.branch("br1").client_certificate
    assert done.outcome.status == "changed" and not done.outcome.error and done.background is None
    assert done.clients is not None and list(done.clients) == [client] and done.in_use == {}
    assert f"certificate {client} issued (missing)" in done.outcome.certificates
    assert [i.get("remote-certificate") for i in identities] == [done.clients[client].name]


@pytest.fixture(scope="module")
def rolled_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab of its own, two branches, rolled out (the module's `lab` stays as the tests above want it)."""
    with Lab.start(tmp_path_factory.mktemp("rolled"), branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        assert not Rollout(RolloutOptions(config=config(lab))).run().failed
        yield lab


def test_the_reachs_diffs_work_out_a_menu_alike_on_many_branches_once(
        rolled_out: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reach diffs every branch against its intent with one memo for the run (as verify's config.drift
    does): the second branch's menus alike on both (the proposal, the firewall rules) are not worked out
    again, and both are still judged converged and passing."""
    nr = InitNornir(config_file=str(config(rolled_out)), logging={"enabled": False})
    fleet = load_inventory(config(rolled_out))
    plan = build_plan(fleet)
    worked: list[str] = []
    steps = diff._menu_steps

    def counted(menu: Any, *args: Any) -> Any:
        worked.append(menu.path)
        return steps(menu, *args)

    monkeypatch.setattr(diff, "_menu_steps", counted)
    expected = expected_state(fleet, plan, [])
    reach = {}
    for branches in (["br1"], ["br1", "br2"]):
        worked.clear()
        done = reach_branches(nr, branches, hub="hub", fleet=fleet, plan=plan,
                              routes=route_reads(fleet, plan), expected=expected)
        nr.close_connections()
        assert {n: (r.kind, r.passes) for n, r in done.reached.items()} == {b: ("unchanged", True)
                                                                             for b in branches}
        reach[len(branches)] = list(worked)
    alone = reach[1]
    assert "/ip ipsec proposal" in alone and reach[2].count("/ip ipsec proposal") == 1
    assert len(reach[2]) < 2 * len(alone)


def test_the_reach_parses_a_branchs_certificates_once_and_judges_them_as_verify(
        rolled_out: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reach reads a branch's certificates once and parses them once: its fingerprints, its
    superseded versions and verify's state of it (the gate's first poll, the checks) come from the one
    parse, and that state holds what verify's own parse of the same reply gives."""
    nr = InitNornir(config_file=str(config(rolled_out)), logging={"enabled": False})
    fleet = load_inventory(config(rolled_out))
    plan = build_plan(fleet)
    replies: list[str] = []
    parse = parse_certificate

    def counted(text: str) -> Any:
        replies.append(text)
        return parse(text)

    monkeypatch.setattr(pki, "parse_certificate", counted)
    monkeypatch.setitem(verify_gather.PARSERS, "certificate", counted)
    done = reach_branches(nr, ["br1"], hub="hub", fleet=fleet, plan=plan, routes=route_reads(fleet, plan),
                          expected=expected_state(fleet, plan, []))
    nr.close_connections()
    reached = done.reached["br1"]
    assert (reached.kind, reached.passes) == ("unchanged", True) and reached.state is not None
    mine = [r for r in replies if "br2-client" not in r]  # the hub's reads (it holds every client's) aside
    assert len(mine) == 1
    assert reached.state.sections["certificate"] == parse(mine[0])
    assert "certificate" not in reached.state.problems
    assert reached.fingerprint == pki.certificates_by_name(mine[0])["br1-client"]["fingerprint"]
