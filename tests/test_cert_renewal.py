"""`ikefleet certs renew` never leaves a branch without a working certificate: the new one is imported under
a new name next to the old, the identities move to it in safe mode, and the old one goes last. A failure at
any step, or a kill, leaves the old one in use (or what the next rollout converges); certificate work is a
reported change; what a killed run leaves behind (key material on the jump host, hand-over files on the
routers) is removed by the next run."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests_support import assert_working, certificate_policy, console_lines, fast_keys, kill_9_when

from ikefleet.lab.manager import Lab
from ikefleet.runbooks.certs import Certs, CertsError
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.tasks import pki


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("renewal"), branches=2, convergence_delay=0.05) as started:
        fast_keys(started.directory)
        started.settle()
        yield started


def rollout(lab: Lab) -> Summary:
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30)).run()


def clients(lab: Lab, router: str) -> dict[str, str]:
    """The router's client certificates of br2: name -> fingerprint."""
    lab.settle()
    items = lab.routers[router].config.items("/certificate")
    return {i.values["name"]: i.values.get("fingerprint", "") for i in items
            if i.values["name"].startswith("br2-client")}


def identity_certificates(lab: Lab, router: str, field: str) -> list[str]:
    return [i.values.get(field, "") for i in lab.routers[router].config.items("/ip ipsec identity")]


def assert_converges(lab: Lab) -> Summary:
    """The next rollout repairs what is left, and the one after it has nothing to do."""
    first = rollout(lab)
    assert not first.failed, first.to_json()
    again = rollout(lab)
    assert {h: (o.status, o.commands) for h, o in again.hosts.items()} == {
        h: ("unchanged", 0) for h in again.hosts}
    assert_working(lab)
    return first


def test_a_refused_import_leaves_the_old_certificate_in_use_and_the_tunnel_up(converged: Lab) -> None:
    lab = converged
    before_branch, before_hub = clients(lab, "br2"), clients(lab, "hub")
    lab.fault("br2", "fail-command", r"certificate import.*client", "failure: no space left on device")
    with pytest.raises(CertsError, match=r"no space left on device.*is still in use"):
        Certs(lab.directory / "config.yaml").renew("br2")
    lab.clear_faults("br2")
    assert clients(lab, "br2") == before_branch and clients(lab, "hub") == before_hub
    assert_working(lab)
    assert not [n for n in lab.routers["br2"].files.names() if n.startswith("ikefleet-br2")]


def test_renewal_moves_both_identities_then_removes_the_old_certificate(converged: Lab) -> None:
    lab = converged
    old = clients(lab, "br2")
    message = Certs(lab.directory / "config.yaml").renew("br2")
    new = clients(lab, "br2")
    assert len(new) == 1 and not set(new) & set(old) and set(new.values()) != set(old.values())
    assert clients(lab, "hub") == new
    (name,) = new
    assert f"-> {name}" in message and "serial" in message
    assert name in identity_certificates(lab, "br2", "certificate")
    assert name in identity_certificates(lab, "hub", "remote-certificate")
    assert_working(lab)
    assert_converges(lab)
    config = lab.directory / "config.yaml"
    for options in (RolloutOptions(config=config, dry_run=True),
                    RolloutOptions(config=config, limit=("br2",))):
        quiet = Rollout(options).run()  # the renewed names resolve from the hub in every kind of run
        assert {h: (o.status, o.changes) for h, o in quiet.hosts.items()} == {
            h: ("unchanged", []) for h in quiet.hosts}


def _upload_fails(monkeypatch: pytest.MonkeyPatch, lab: Lab) -> None:
    def refuse(sftp: Any, local: Path, remote: str) -> None:
        raise OSError(f"put {remote}: no space left on device")

    monkeypatch.setattr(pki, "_put", refuse)


def _old_hub_identity_removal_fails(monkeypatch: pytest.MonkeyPatch, lab: Lab) -> None:
    """After the branch moved: the hub refuses to remove its identity for the old certificate (only that
    one: the undo removes the identity for the new certificate)."""
    (old,) = hub_identities(lab)
    lab.fault("hub", "fail-command", rf'ipsec identity remove .*"{re.escape(old)}"', "failure: busy")


def hub_identities(lab: Lab) -> list[str]:
    """The client certificates the hub's identities for br2 name."""
    return [n for n in identity_certificates(lab, "hub", "remote-certificate") if n.startswith("br2")]


STEPS: dict[str, Callable[[pytest.MonkeyPatch, Lab], None]] = {
    "upload": _upload_fails,
    "import": lambda _, lab: lab.fault("br2", "fail-command", r"certificate import", "failure: bad file"),
    "hub identity added": lambda _, lab: lab.fault("hub", "fail-command", "ipsec identity add",
                                                   "failure: busy"),
    "branch identity": lambda _, lab: lab.fault("br2", "fail-command", "ipsec identity set", "failure: busy"),
    "hub old identity removed": _old_hub_identity_removal_fails,
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_failure_at_any_step_leaves_the_old_certificate_working(
    converged: Lab, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    lab = converged
    before_branch, before_hub = clients(lab, "br2"), clients(lab, "hub")
    identities = (identity_certificates(lab, "br2", "certificate"),
                  identity_certificates(lab, "hub", "remote-certificate"))
    STEPS[step](monkeypatch, lab)
    with pytest.raises(CertsError, match=r"nothing changed: .* is still in use"):
        Certs(lab.directory / "config.yaml").renew("br2")
    monkeypatch.undo()
    for name in lab.routers:
        lab.clear_faults(name)
    assert clients(lab, "br2") == before_branch and clients(lab, "hub") == before_hub
    assert (identity_certificates(lab, "br2", "certificate"),
            identity_certificates(lab, "hub", "remote-certificate")) == identities
    assert_working(lab)
    assert_converges(lab)


def test_a_failed_removal_keeps_the_new_certificate_and_the_next_rollout_removes_the_old(
    converged: Lab,
) -> None:
    lab = converged
    old = clients(lab, "br2")
    lab.fault("br2", "fail-command", r"certificate remove", "failure: busy")
    message = Certs(lab.directory / "config.yaml").renew("br2")
    lab.clear_faults("br2")
    assert "could not be removed everywhere" in message
    left = clients(lab, "br2")
    assert set(old) < set(left) and len(left) == 2  # the old one is still there, unused
    assert_working(lab)
    repair = assert_converges(lab)
    assert repair.hosts["br2"].status == "changed"
    assert any(f"certificate {o} removed (superseded" in c for o in old for c in repair.hosts["br2"].changes)
    assert len(clients(lab, "br2")) == 1


def test_the_repairing_rollout_reports_the_certificate_work(converged: Lab) -> None:
    """A branch that lost its client certificate (what the old renewal did on a failed import) is repaired
    by the rollout, and the rollout says so: changed, in the summary, results.jsonl and the diff."""
    lab = converged
    branch = lab.routers["br2"]
    items = branch.config.items("/certificate")
    items[:] = [i for i in items if not i.values["name"].startswith("br2-client")]
    branch.changed()
    summary = rollout(lab)
    outcome = summary.hosts["br2"]
    assert outcome.status == "changed", summary.to_json()
    work = [c for c in outcome.changes if c.startswith("certificate br2-client") and "imported" in c]
    assert work, outcome.changes
    run = summary.run_dir
    assert json.loads((run / "summary.json").read_text())["hosts"]["br2"]["changes"][: len(work)] == work
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert any(r["host"] == "br2" and r["status"] == "changed" and work[0] in r["changes"] for r in lines)
    assert work[0] in (run / "diffs" / "br2.diff").read_text()
    assert_converges(lab)


def test_files_a_killed_run_left_on_the_routers_go_at_the_next_rollout(converged: Lab) -> None:
    lab = converged
    hub, branch = lab.routers["hub"].files, lab.routers["br2"].files
    hub.write("ikefleet-br2-client.p12", b"key material")
    hub.write("ikefleet-ca.crt", b"pem")
    branch.write("ikefleet-br2-server.crt", b"pem")
    branch.write("ikefleet-br2-client.p12", b"key material")
    branch.write("ikefleet-20261206-101010.backup", b"a backup ikefleet keeps")
    branch.write("operator.crt", b"not ikefleet's")
    summary = rollout(lab)
    assert not summary.failed
    assert not [n for n in hub.names() if n.endswith((".p12", ".crt"))]
    assert sorted(n for n in branch.names() if n.endswith((".p12", ".crt", "101010.backup"))) == [
        "ikefleet-20261206-101010.backup", "operator.crt"]
    assert any("hand-over file" in c for c in summary.hosts["br2"].changes)
    assert_converges(lab)
    branch.remove("operator.crt")
    branch.remove("ikefleet-20261206-101010.backup")


MOMENTS: dict[str, Callable[[Lab, set[str]], bool]] = {
    # the new certificate issued on the hub, nothing on the branch yet
    "issued": lambda lab, old: len(set(clients(lab, "hub")) - old) > 0,
    # imported on the branch, its identity still on the old one
    "imported": lambda lab, old: len(set(clients(lab, "br2")) - old) > 0,
    # the hub accepts both certificates (two identities), the branch still presents the old one
    "hub accepts both": lambda lab, old: len(identity_certificates(lab, "hub", "remote-certificate")) == 3,
    # the branch's identity switched (its safe mode released: kept), the hub's for the old certificate not
    # removed yet
    "switched": lambda lab, old: (not set(identity_certificates(lab, "br2", "certificate")) & old
                                  and not in_safe_mode(lab, "br2")),
}


def in_safe_mode(lab: Lab, router: str) -> bool:
    """Whether a session holds safe mode on the router (its changes would be undone by a kill)."""
    holder = lab.routers[router].safe_mode_holder
    return holder is not None and bool(getattr(holder, "safe_mode", False))


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_9_during_renew_is_repaired_by_the_next_run(
    converged: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    lab = converged
    old = set(clients(lab, "br2"))
    for name in ("hub", "br2"):
        lab.fault(name, "latency", 150)  # every command 150 ms: each step lasts long enough to be caught
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    kill_9_when(lab, ["certs", "renew", "br2"], lambda: MOMENTS[moment](lab, old), "the moment came", env)
    for name in ("hub", "br2"):
        lab.clear_faults(name)
    if moment != "switched":  # the branch has not moved yet
        assert set(identity_certificates(lab, "br2", "certificate")) & old
    assert_working(lab, drift=True)  # whichever certificate the branch presents, the hub accepts it
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert_converges(lab)
    assert not list(tmp_path.glob(f"{pki.TEMP_PREFIX}*"))  # the killed run's key material swept
    assert not [n for name in ("hub", "br2") for n in lab.routers[name].files.names()
                if n.startswith("ikefleet-") and n.endswith((".p12", ".crt"))]
    assert len(clients(lab, "br2")) == 1 and len(clients(lab, "hub")) == 1


def test_a_rollout_renewal_keeps_the_hub_on_the_old_certificate_until_the_branch_has_the_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the renewal window the rollout renews; the hub accepts both certificates (two identities)
    until the branch has moved. A branch that cannot import the new certificate keeps its tunnel on the old
    one; a run stopped after the branch moved, before the hub's identity for the old certificate went,
    leaves the tunnel up on the new one; the next rollout finishes the hand-over."""
    from ikefleet.runbooks import rollout as rollout_module

    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        def certificates(days: int, window: int) -> None:
            certificate_policy(lab.directory, days, window)

        def versions(router: str) -> list[str]:
            lab.settle()
            return sorted(i.values["name"] for i in lab.routers[router].config.items("/certificate")
                          if i.values["name"].startswith("br1-client"))

        certificates(100, 30)
        assert not rollout(lab).failed
        (old,) = versions("hub")
        certificates(1000, 200)  # 100 days left: inside the window now
        lab.fault("br1", "fail-command", r"certificate import.*client", "failure: no space left on device")
        broken = rollout(lab)
        lab.clear_faults("br1")
        assert broken.hosts["br1"].status == "failed" and "no space" in broken.hosts["br1"].error
        assert any("issued" in c for c in broken.hosts["hub"].changes)
        (new,) = set(versions("hub")) - {old}
        assert identity_certificates(lab, "hub", "remote-certificate") == [old, new]
        assert versions("br1") == [old]
        assert_working(lab, drift=True)  # the tunnel is up on the old certificate

        def stopped(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("stopped before the hub's old identity went")

        with monkeypatch.context() as m:  # a run stopped right after the branch moved
            m.setattr(rollout_module, "move_hub_identities", stopped)
            moved = rollout(lab)
        assert moved.hosts["br1"].status == "failed" and "stopped before" in moved.hosts["br1"].error
        # the branch keeps its old certificate until the hub's identity for it is gone
        assert set(versions("br1")) == {old, new}
        assert identity_certificates(lab, "br1", "certificate") == [new]
        assert identity_certificates(lab, "hub", "remote-certificate") == [old, new]
        assert_working(lab, drift=True)  # the tunnel is up on the new certificate

        # the hand-over's tasks, composed by a user under a dry run: they say what they would do, send nothing
        from nornir import InitNornir

        from ikefleet.inventory import load_inventory
        from ikefleet.plan import build_plan, resolve_clients
        from ikefleet.tasks import move_hub_identities, retire_old_certificates

        nr = InitNornir(config_file=str(lab.directory / "config.yaml"), dry_run=True,
                        logging={"enabled": False})
        try:
            plan = resolve_clients(build_plan(load_inventory(lab.directory / "config.yaml")), [old, new])
            hub = nr.filter(name="hub").run(task=move_hub_identities, moves={"br1": (old, new)})["hub"][0]
            branch = nr.filter(name="br1").run(task=retire_old_certificates, plan=plan)["br1"][0]
        finally:
            nr.close_connections()
        assert not hub.failed and hub.changed
        assert hub.diff == f"would move the hub identity from certificate {old} to {new}"
        assert not branch.failed and branch.changed
        assert branch.diff == f"would remove certificate {old} (superseded by {new})"
        assert identity_certificates(lab, "hub", "remote-certificate") == [old, new]
        assert set(versions("br1")) == {old, new} and versions("hub") == sorted([old, new])

        repair = assert_converges(lab)
        assert versions("hub") == [new] and versions("br1") == [new]
        assert f"hub identity moved from certificate {old} to {new}" in repair.hosts["br1"].changes
        assert identity_certificates(lab, "hub", "remote-certificate") == [new]


def test_a_renewed_branch_that_fails_its_gate_is_put_back_with_its_old_certificate_working(
    tmp_path: Path,
) -> None:
    """A rollout renews br1, br1 moves to the new certificate, and its gate fails (BFD down): it is put back
    to the configuration before the run, which names the old certificate. That certificate, and the hub's
    identity for it, must still be there: both are removed only after the gate has seen the tunnel up on
    the new one."""
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        def certificates(days: int, window: int) -> None:
            certificate_policy(lab.directory, days, window)

        certificates(100, 30)
        assert not rollout(lab).failed
        (old,) = identity_certificates(lab, "br1", "certificate")
        certificates(1000, 200)  # 100 days left: inside the window now
        lab.fault("br1", "bfd-drop")
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=3)).run()
        br1 = summary.hosts["br1"]
        assert br1.status == "failed" and "gate failed" in br1.error and br1.put_back, br1
        assert "put back to before this run" in br1.error, br1.error
        lab.settle()
        assert identity_certificates(lab, "br1", "certificate") == [old]  # put back: the old one in use
        lab.settle()
        names = [i.values["name"] for i in lab.routers["br1"].config.items("/certificate")]
        assert old in names  # still there
        assert old in identity_certificates(lab, "hub", "remote-certificate")  # the hub still accepts it
        lab.clear_faults("br1")
        assert_working(lab, drift=True)  # the tunnel is up on the old certificate, as before the run
        assert_converges(lab)  # the next rollout renews


def test_revoke_after_a_renewal_revokes_the_certificate_in_use(converged: Lab) -> None:
    lab = converged
    config = lab.directory / "config.yaml"
    certs = Certs(config)
    certs.renew("br2")
    (current,) = clients(lab, "hub")
    assert current != "br2-client"
    try:
        assert certs.revoke("br2").summary.hosts["hub"].status == "changed"
        rows = {r.name: r for r in certs.status()}
        assert "revoked" in rows[current].flags
        assert not [n for n in identity_certificates(lab, "hub", "remote-certificate") if n.startswith("br2")]
    finally:
        certs.renew("br2")  # back in the fleet for the tests after this one


def test_revoke_during_a_renewal_revokes_both_certificates_and_removes_both_hub_identities(
    converged: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renewal stopped after the branch moved (the hub still accepts both certificates): revoking the
    branch revokes both and removes both of its hub identities."""
    from ikefleet.runbooks import certs as certs_module

    lab = converged
    (old,) = hub_identities(lab)
    _old_hub_identity_removal_fails(monkeypatch, lab)
    monkeypatch.setattr(certs_module._Undo, "run", lambda self: "killed: nothing undone")  # as a kill -9
    certs = Certs(lab.directory / "config.yaml")
    with pytest.raises(CertsError, match="killed"):
        certs.renew("br2")
    monkeypatch.undo()
    lab.clear_faults("hub")
    (new,) = set(hub_identities(lab)) - {old}
    assert new > old and new in clients(lab, "br2")
    assert identity_certificates(lab, "br2", "certificate") == [new]
    assert_working(lab, drift=True)
    try:
        assert certs.revoke("br2").summary.hosts["hub"].status == "changed"
        rows = {r.name: r for r in certs.status()}
        assert "revoked" in rows[new].flags
        lab.settle()
        gone = {i.values["name"] for i in lab.routers["hub"].config.items("/certificate")
                if "revoked" in i.private}
        assert {old, new} <= gone
        assert not [n for n in identity_certificates(lab, "hub", "remote-certificate") if n.startswith("br2")]
    finally:
        certs.renew("br2")  # back in the fleet for the tests after this one


# Issue 19.2: many branches renewed in one run. Hub-made (6.49.2: the hub makes each key, in the background
# while the branches done are handed over) and branch-made (7.16.1 on both ends: every branch makes its key
# at the same time).
FLOWS = {"hub-made": "6.49.2", "branch-made": "7.16.1"}


@pytest.fixture(scope="module", params=list(FLOWS))
def three(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("renew-many"), branches=3, version=FLOWS[request.param],
                   convergence_delay=0.05) as started:
        fast_keys(started.directory)
        started.settle()
        yield started


@pytest.fixture
def three_converged(three: Lab) -> Lab:
    for name in three.routers:
        three.clear_faults(name)
    three.clock.time_scale = 0.001
    summary = rollout(three)
    assert not summary.failed, summary.to_json()
    assert_working(three)
    return three


def client_names(lab: Lab, router: str, branch: str) -> set[str]:
    lab.settle()
    return {i.values["name"] for i in lab.routers[router].config.items("/certificate")
            if i.values["name"].startswith(f"{branch}-client")}


BRANCHES3 = ("br1", "br2", "br3")


def test_renew_takes_many_branches_and_renews_them_in_one_run(
        three_converged: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    from ikefleet.cli import main

    lab = three_converged
    before = {b: client_names(lab, b, b) for b in BRANCHES3}
    code = main(["certs", "renew", "br1", "br2", "--limit", "br3", "-c", str(lab.directory / "config.yaml")])
    out = capsys.readouterr().out
    assert code == 0, out
    runs = sorted((lab.directory / ".ikefleet" / "runs").glob("*-certs-renew"))
    summary = json.loads((runs[-1] / "summary.json").read_text())
    assert {h: o["status"] for h, o in summary["hosts"].items()} == dict.fromkeys(BRANCHES3, "changed")
    for b in BRANCHES3:
        (new,) = client_names(lab, b, b)
        assert new not in before[b] and client_names(lab, "hub", b) == {new}, b
        assert new in identity_certificates(lab, b, "certificate")
        assert new in identity_certificates(lab, "hub", "remote-certificate")
        assert f"{b}: certificate {b}-client renewed" in out
    assert_working(lab)


def test_a_failure_on_one_branch_leaves_the_others_renewed_and_it_on_its_old_certificate(
        three_converged: Lab) -> None:
    lab = three_converged
    before = {b: client_names(lab, b, b) for b in BRANCHES3}
    hub_before = client_names(lab, "hub", "br2")
    lab.fault("br2", "fail-command", r"certificate import", "failure: no space left on device")
    done = Certs(lab.directory / "config.yaml").renew_many(list(BRANCHES3))
    lab.clear_faults("br2")
    assert set(done.failed) == {"br2"} and set(done.renewed) == {"br1", "br3"}, done
    assert "no space left on device" in done.failed["br2"] and "still in use" in done.failed["br2"]
    assert client_names(lab, "br2", "br2") == before["br2"] and client_names(lab, "hub", "br2") == hub_before
    for b in ("br1", "br3"):
        (new,) = client_names(lab, b, b)
        assert new not in before[b], b
    results = [json.loads(line) for line in (done.record / "results.jsonl").read_text().splitlines()]
    assert {r["host"]: r["status"] for r in results} == {"br1": "changed", "br2": "failed", "br3": "changed"}
    assert_working(lab)


@pytest.mark.parametrize("three", ["hub-made"], indirect=True)  # the flow where the hub makes keys
def test_hub_made_renewal_hands_over_while_the_hub_makes_the_next_keys(
        three_converged: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub makes each key in the background: br1's certificate is imported on br1 before the hub has
    even been asked to make br3's (a sign takes 2 s here: 10 s real at 2048 bits, scaled by 0.2)."""

    lab = three_converged
    assert lab.routers["hub"].spec.version == FLOWS["hub-made"]
    seen = console_lines(monkeypatch)
    lab.clock.time_scale = 0.2
    done = Certs(lab.directory / "config.yaml").renew_many(list(BRANCHES3))
    assert not done.failed, done
    imported = min(t for t, router, line in seen if router == "br1" and "/certificate import" in line)
    signs = [t for t, router, line in seen if router == "hub" and "/certificate sign" in line]
    assert len(signs) == 3 and imported < signs[2], (imported, signs)


def test_a_session_dropped_right_after_the_import_leaves_no_certificate_the_hub_lacks(
    converged: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import went through on br2, then its session dropped and br2 cannot be reached for the undo:
    the renewal fails with the old certificate in use, the hub keeps the new one (br2 may hold it), and the
    next rollout moves both ends to it: br2 is never left holding a certificate the hub removed."""
    from ikefleet.tasks.device import close

    lab = converged
    (old,) = clients(lab, "br2")
    installed = pki.install_branch

    def import_then_drop(task: Any, **params: Any) -> Any:
        installed(task, **params)
        lab.fault("br2", "refuse")
        close(task.host)
        raise ConnectionResetError("the SSH session dropped")

    monkeypatch.setattr(pki, "install_branch", import_then_drop)
    try:
        with pytest.raises(CertsError, match="session dropped"):
            Certs(lab.directory / "config.yaml").renew("br2")
    finally:
        lab.clear_faults("br2")
    monkeypatch.undo()
    assert identity_certificates(lab, "br2", "certificate") == [old]  # still the one in use
    on_branch = set(clients(lab, "br2"))
    assert on_branch - {old} and on_branch - {old} <= set(clients(lab, "hub"))
    assert_converges(lab)
    (new,) = clients(lab, "br2")
    assert new != old and new in clients(lab, "hub")
    assert identity_certificates(lab, "br2", "certificate") == [new]
    assert new in identity_certificates(lab, "hub", "remote-certificate")
