"""Issue 19: branch-made keys where the hub and the branch run RouterOS 7.9+ (`sign-certificate-request`),
the hub-made PKCS#12 flow elsewhere, both in one run of a mixed fleet. The branch's key never leaves it (the
hub holds its certificate without a key); a failure at any step of the branch flow leaves the certificate in
use and the tunnel up; renewal and revocation work in each flow."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests_support import (
    assert_working,
    certificate_policy,
    console_lines,
    fast_keys,
    kill_9_when,
    kill_rollout_once_the_hub_renewed,
)

from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab
from ikefleet.plan import client_versions
from ikefleet.runbooks.certs import Certs, CertsError
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.tasks import pki

# hub and br1 on 7.16.1 (branch-made), br2 on 6.49.2 (hub-made)
VERSIONS = "7.16.1,7.16.1,6.49.2"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("branch-keys"), branches=2, version=VERSIONS,
                   convergence_delay=0.05) as started:
        fast_keys(started.directory)
        started.settle()
        yield started


def rollout(lab: Lab) -> Summary:
    lab.settle()
    return Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30)).run()


def clients(lab: Lab, router: str, branch: str) -> dict[str, bool]:
    """`branch`'s client certificates on `router`: name -> whether the router holds its private key."""
    lab.settle()
    return {i.values["name"]: "key" in i.private for i in certificates.certificates(lab.routers[router])
            if i.values["name"].startswith(f"{branch}-client")}


def identities(lab: Lab, router: str, field: str) -> list[str]:
    return sorted(i.values.get(field, "") for i in lab.routers[router].config.items("/ip ipsec identity"))


def leftovers(lab: Lab, router: str) -> list[str]:
    """Hand-over and request files, and request templates, left on `router`."""
    names = [n for n in lab.routers[router].files.names()
             if n.startswith(("ikefleet-", "certificate-request")) and not n.endswith(".backup")]
    return names + [i.values["name"] for i in certificates.certificates(lab.routers[router])
                    if i.values["name"] == pki.REQUEST_TEMPLATE]


def test_a_mixed_fleet_uses_both_flows_in_one_run(lab: Lab) -> None:
    first = rollout(lab)
    assert not first.failed, first.to_json()
    hub_work = first.hosts["hub"].changes
    assert "certificate br1-client signed for br1 (key made on br1: missing)" in hub_work
    assert "certificate br2-client issued (missing)" in hub_work
    br1, br2 = first.hosts["br1"].changes, first.hosts["br2"].changes
    assert br1[0] == "key made on br1 and certificate br1-client signed by the hub (missing)"
    assert "certificate br1-client imported" in br1
    assert not any("key made" in c for c in br2) and "certificate br2-client imported" in br2
    # the branch-made key never left br1: the hub holds br1's certificate without it
    assert clients(lab, "hub", "br1") == {"br1-client": False}
    assert clients(lab, "br1", "br1") == {"br1-client": True}
    assert clients(lab, "hub", "br2") == {"br2-client": True}  # hub-made: the hub made the key
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert_working(lab)
    again = rollout(lab)
    assert {h: o.status for h, o in again.hosts.items()} == dict.fromkeys(again.hosts, "unchanged")


def test_dry_run_says_who_would_make_which_key(converged: Lab) -> None:
    lab = converged
    branch = lab.routers["br1"]
    items = branch.config.items("/certificate")
    items[:] = [i for i in items if not i.values["name"].startswith("br1-client")]
    branch.changed()
    try:
        dry = Rollout(RolloutOptions(config=lab.directory / "config.yaml", dry_run=True)).run()
        assert any("would make a key on br1 and have the hub sign it" in c for c in dry.hosts["br1"].changes)
        assert clients(lab, "br1", "br1") == {}  # nothing done
    finally:
        rollout(lab)


def test_renewal_in_the_branch_flow_keeps_the_key_on_the_branch(converged: Lab) -> None:
    lab = converged
    (old,) = clients(lab, "br1", "br1")
    message = Certs(lab.directory / "config.yaml").renew("br1")
    on_branch, on_hub = clients(lab, "br1", "br1"), clients(lab, "hub", "br1")
    (new,) = on_branch
    assert new != old and on_branch == {new: True} and on_hub == {new: False}
    assert f"({old} -> {new})" in message
    assert identities(lab, "br1", "certificate").count(new) == 1
    assert new in identities(lab, "hub", "remote-certificate")
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert_working(lab)


def _fault(router: str, pattern: str) -> tuple[str, str]:
    return router, pattern


STEPS: dict[str, tuple[str, str]] = {
    "template": _fault("br1", r"certificate add name=ikefleet-request"),
    "request": _fault("br1", r"create-certificate-request"),
    "sign": _fault("hub", r"sign-certificate-request"),
    "rename": _fault("hub", r"certificate set .*name=br1-client"),
    "export": _fault("hub", r"export-certificate .*br1-signed"),
    "import": _fault("br1", r"certificate import file-name=ikefleet-br1-client"),
    "key import": _fault("br1", r"certificate import file-name=certificate-request_key"),
    "branch identity": _fault("br1", r"ipsec identity set"),
    "hub identity added": _fault("hub", r"ipsec identity add"),
    # only the identity for the old certificate (`{old}`): the undo removes the one for the new certificate
    "hub old identity removed": _fault("hub", r'ipsec identity remove .*"{old}"'),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_failure_at_each_step_of_the_branch_flow_leaves_the_old_certificate_working(
    converged: Lab, step: str
) -> None:
    lab = converged
    before = clients(lab, "br1", "br1"), clients(lab, "hub", "br1")
    named = identities(lab, "br1", "certificate"), identities(lab, "hub", "remote-certificate")
    router, pattern = STEPS[step]
    (old,) = [n for n in named[1] if n.startswith("br1-client")]
    pattern = pattern.replace("{old}", re.escape(old))
    lab.fault(router, "fail-command", pattern, "failure: simulated fault")
    try:
        with pytest.raises(CertsError, match=r"simulated fault.*nothing changed: .* is still in use"):
            Certs(lab.directory / "config.yaml").renew("br1")
    finally:
        lab.clear_faults(router)
    assert (clients(lab, "br1", "br1"), clients(lab, "hub", "br1")) == before
    assert (identities(lab, "br1", "certificate"), identities(lab, "hub", "remote-certificate")) == named
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert_working(lab)


def _window(lab: Lab, days: int, window: int) -> None:
    certificate_policy(lab.directory, days, window)


@pytest.mark.parametrize("step", ["request", "sign", "key import"])
def test_a_rollout_renewal_that_fails_in_the_branch_flow_keeps_the_tunnel_then_repairs(
    tmp_path: Path, step: str
) -> None:
    """Inside the renewal window both flows renew in one rollout; a failure in br1's branch flow fails br1
    (the certificate in use stays, on both ends), the others go on, and the next rollout finishes."""
    with Lab.start(tmp_path / "lab", branches=2, version=VERSIONS, convergence_delay=0.05) as lab:
        _window(lab, 1000, 30)
        assert not rollout(lab).failed
        _window(lab, 100, 30)  # the client certificates for 100 days, the hub's server one keeps 1000
        certs = Certs(lab.directory / "config.yaml")
        for branch in ("br1", "br2"):
            certs.renew(branch)
        (old,) = clients(lab, "hub", "br1")
        _window(lab, 1000, 200)  # the clients' 100 days left are inside the window now
        router, pattern = STEPS[step]
        lab.fault(router, "fail-command", pattern, "failure: simulated fault")
        broken = rollout(lab)
        lab.clear_faults(router)
        assert broken.hosts["br1"].status == "failed" and "simulated fault" in broken.hosts["br1"].error
        assert broken.hosts["br2"].status == "changed"  # hub-made renewal of the v6 branch went on
        assert any("br2-client-" in c and "issued" in c for c in broken.hosts["hub"].changes)
        assert clients(lab, "hub", "br1") == {old: False} and clients(lab, "br1", "br1") == {old: True}
        assert old in identities(lab, "hub", "remote-certificate")
        assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
        assert_working(lab, drift=True)

        repair = rollout(lab)
        assert not repair.failed, repair.to_json()
        (new,) = clients(lab, "br1", "br1")
        assert new != old and clients(lab, "hub", "br1") == {new: False}
        assert any(c.startswith("key made on br1") for c in repair.hosts["br1"].changes)
        assert f"hub identity moved from certificate {old} to {new}" in repair.hosts["br1"].changes
        assert_working(lab)


@pytest.mark.parametrize("branch", ["br1", "br2"], ids=["branch-made", "hub-made"])
def test_revocation_and_renewal_back_in_each_flow(converged: Lab, branch: str) -> None:
    lab = converged
    certs = Certs(lab.directory / "config.yaml")
    (current,) = clients(lab, "hub", branch)
    try:
        assert certs.revoke(branch).summary.hosts["hub"].status == "changed"
        rows = {r.name: r for r in certs.status()}
        assert "revoked" in rows[current].flags
        assert not [n for n in identities(lab, "hub", "remote-certificate") if n.startswith(branch)]
    finally:
        message = certs.renew(branch)  # back in the fleet
    assert "renewed" in message
    assert rollout(lab).hosts[branch].status != "failed"
    on_hub = clients(lab, "hub", branch)  # the revoked one stays there: the CA's record
    renewed = client_versions(on_hub, f"{branch}-client")[-1]
    assert renewed != current and clients(lab, branch, branch) == {renewed: True}
    assert on_hub[renewed] is (branch == "br2")  # the hub holds only the keys it made
    assert_working(lab)


def test_a_hub_only_run_leaves_branch_made_certificates_alone(converged: Lab) -> None:
    """The hub holds a branch-made certificate without its key: a run without the branch (`--limit
    responder`, as `certs revoke` runs) must not take that for a reason to make it a new one on the hub."""
    lab = converged
    before = clients(lab, "hub", "br1")
    hub_only = Rollout(RolloutOptions(config=lab.directory / "config.yaml", limit=("responder",))).run()
    assert not hub_only.failed, hub_only.to_json()
    assert not [c for c in hub_only.hosts["hub"].changes if "br1-client" in c]
    assert clients(lab, "hub", "br1") == before


def test_a_rerun_of_a_mixed_fleet_reads_the_hubs_certificates_once(
        converged: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19.1: with branch-made keys too (the hub's planning of requests), a converged re-run reads the
    hub's certificates once, with its configuration."""
    seen = console_lines(monkeypatch)
    again = rollout(converged)
    assert {o.status for o in again.hosts.values()} == {"unchanged"}, again.to_json()
    ran = [c.line for c in seen if c.router == "hub"]
    assert sum(line.count(pki.CERTIFICATE_READ) for line in ran) == 1, ran


def stray(lab: Lab, router: str, branch: str) -> list[str]:
    """Certificates for `branch` (its common name) on `router` under another name than its own."""
    lab.settle()
    return [i.values["name"] for i in certificates.certificates(lab.routers[router])
            if i.values.get("common-name") == f"{branch}-client"
            and not i.values["name"].startswith(f"{branch}-client")]


KILLED: dict[str, Callable[[Lab, set[str]], bool]] = {
    # br1 wrote its request and key files
    "request made": lambda lab, old: lab.routers["br1"].files.exists(pki.REQUEST_FILE),
    # the hub signed the request, the new certificate not named yet (RouterOS's own name for it)
    "signed, not named": lambda lab, old: bool(stray(lab, "hub", "br1")),
    # the certificate imported on br1 beside the one in use
    "imported": lambda lab, old: bool(set(clients(lab, "br1", "br1")) - old),
}


@pytest.mark.parametrize("moment", list(KILLED))
def test_kill_9_inside_the_branch_key_work_is_repaired_by_the_next_rollout(
    converged: Lab, moment: str
) -> None:
    """`certs renew` killed with SIGKILL inside the key work: the certificate in use stays, and the next
    rollout leaves no request, key file, template or certificate the killed run made on either router."""
    lab = converged
    old = set(clients(lab, "br1", "br1"))
    for name in ("hub", "br1"):
        lab.fault(name, "latency", 150)  # every command 150 ms: each step lasts long enough to be caught
    try:
        kill_9_when(lab, ["certs", "renew", "br1"], lambda: KILLED[moment](lab, old), "the moment came")
    finally:
        for name in ("hub", "br1"):
            lab.clear_faults(name)
    assert set(identities(lab, "br1", "certificate")) & old  # br1 still presents the one in use
    assert_working(lab, drift=True)
    repair = rollout(lab)
    assert not repair.failed, repair.to_json()
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert not stray(lab, "hub", "br1")
    (held,) = clients(lab, "br1", "br1")  # one: the hub's current (revoked ones stay there: the CA's record)
    assert held in identities(lab, "hub", "remote-certificate")
    assert_working(lab)


def _fingerprint(lab: Lab, router: str, name: str) -> str | None:
    lab.settle()
    cert = certificates.find_cert(lab.routers[router], name)
    return cert.get("fingerprint") if cert is not None else None


@pytest.mark.parametrize("versions", ["7.16.1", "6.49.2"], ids=["branch-made", "hub-made"])
def test_a_rollout_killed_after_the_hub_renewed_its_certificate_is_repaired_by_the_next(
    tmp_path: Path, versions: str
) -> None:
    """Inside the renewal window the hub re-issues its own certificate (`hub-server`, same name, new key)
    before the branches get theirs. A rollout killed there leaves the branches with the old copy of the
    hub's certificate, their tunnels down; the next rollout (the window back to normal: no renewal) must
    give them the hub's current one, whichever flow makes their keys."""
    with Lab.start(tmp_path / "lab", branches=2, version=versions, convergence_delay=0.05) as lab:
        _window(lab, 100, 30)
        assert not rollout(lab).failed
        old = _fingerprint(lab, "hub", "hub-server")
        _window(lab, 119, 118)  # the hub's and the clients' 100 days are inside the window
        assert old is not None
        kill_rollout_once_the_hub_renewed(lab, old, _fingerprint)
        assert _fingerprint(lab, "br1", "hub-server") == old  # br1 still has the old copy
        _window(lab, 100, 30)
        repair = rollout(lab)
        assert not repair.failed, repair.to_json()
        new = _fingerprint(lab, "hub", "hub-server")
        assert new != old and {_fingerprint(lab, b, "hub-server") for b in ("br1", "br2")} == {new}
        assert_working(lab)


# The killed run's key is done right after the line (on br1) that first matches: the moments of the next
# run's start when RouterOS writing the killed request's files (fixed names) could be taken for the new one's.
# "late write": a router that goes on making a removed template's key (unverified either way; the lab drops
# it) writes the killed request's files while the new request's key is being made.
LATE_KEY: dict[str, str] = {
    "after the files' sweep": r"^/file remove",
    "after the template's removal": r"^/certificate remove",
    "late write": r"create-certificate-request",
}


@pytest.mark.parametrize("moment", list(LATE_KEY))
def test_a_killed_runs_key_done_while_the_next_run_starts_its_request_is_never_taken_for_it(
    converged: Lab, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """A run killed while br1 made its key leaves the template with its key still being made; that key is
    done at some moment of the next run's start, and the router then writes its request and key files under
    the names the new request's will have. The new request must never be mixed with them: the renewal
    brings a certificate matching br1's key, and nothing is left on either router."""
    from ikefleet.lab.engine import Session
    from ikefleet.lab.sshd import Terminal

    lab = converged
    br1 = lab.routers["br1"]
    (old,) = clients(lab, "br1", "br1")
    console = Session(br1, "admin")  # the killed run's request: its template, its key being made
    console.execute(f"/certificate add name={pki.REQUEST_TEMPLATE} common-name=br1-client key-size=2048 "
                    f"key-usage={pki.TUNNEL_KEY_USAGE} days-valid=365")
    console.execute(f"/certificate create-certificate-request template={pki.REQUEST_TEMPLATE} "
                    "key-passphrase=the-killed-runs-passphrase once do={}")
    (killed,) = br1.work
    late: dict[str, bytes] = {}
    if moment == "late write":  # the killed request's files as RouterOS writes them, kept for the moment
        br1.work = [replace(killed, deadline=0.0)]
        br1.finish_due()
        late = {name: br1.files.read(name) for name in (pki.REQUEST_FILE, pki.REQUEST_KEY_FILE)}
        for name in late:
            br1.files.remove(name)
    else:
        br1.work = [replace(killed, deadline=time.monotonic() + 3600)]  # a slow router: done at the moment
    done: list[str] = []
    real_run_line = Terminal._run_line

    async def key_done_after(self: Terminal, line: str) -> str:
        out = await real_run_line(self, line)
        if self.router is br1 and done and "create-certificate-request" in line:  # the new key takes 1.5 s
            br1.work = [replace(w, deadline=time.monotonic() + 1.5) for w in br1.work]
        if self.router is br1 and not done and re.search(LATE_KEY[moment], line):
            done.append(line)
            if late:
                br1.work = [replace(w, deadline=time.monotonic() + 1.5) for w in br1.work]
                for name, data in late.items():
                    br1.files.write(name, data)
            else:
                br1.work = [replace(w, deadline=0.0) if w.finish is killed.finish else w for w in br1.work]
                br1.finish_due()
        return out

    monkeypatch.setattr(Terminal, "_run_line", key_done_after)
    Certs(lab.directory / "config.yaml").renew("br1")
    monkeypatch.undo()
    assert done, "the moment did not come"
    on_branch = clients(lab, "br1", "br1")
    (new,) = on_branch
    assert new != old and on_branch == {new: True}
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert_working(lab)


def test_a_run_dead_right_after_the_template_leaves_nothing_the_next_rollout_does_not_remove(
    converged: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session drops (the run killed) right after br1 added the request's template: a template with no
    request on its way stays for good (the next rollout wants no key from br1, so it never makes a request
    there to sweep it). The template and its request go in one console line, so what a dead run leaves is
    a request RouterOS finishes (files the next rollout sweeps), never a bare template."""
    from ikefleet.lab.sshd import Terminal

    lab = converged
    br1 = lab.routers["br1"]
    (old,) = clients(lab, "br1", "br1")
    real_run_line = Terminal._run_line

    async def dead_after_the_template(self: Terminal, line: str) -> str:
        out = await real_run_line(self, line)
        if self.router is br1 and f"certificate add name={pki.REQUEST_TEMPLATE}" in line:
            br1.faults.drop_after = 0  # every later line on br1 drops its session
        return out

    monkeypatch.setattr(Terminal, "_run_line", dead_after_the_template)
    try:
        with pytest.raises(CertsError):
            Certs(lab.directory / "config.yaml").renew("br1")
    finally:
        monkeypatch.undo()
        lab.clear_faults("br1")
    assert set(clients(lab, "br1", "br1")) == {old}
    assert not rollout(lab).failed
    assert not leftovers(lab, "br1") and not leftovers(lab, "hub")
    assert_working(lab)
