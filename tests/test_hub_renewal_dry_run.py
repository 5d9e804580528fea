"""A dry run of a fleet whose hub would renew its own certificate lists, per branch, the hand-over the real
run then makes (every branch's copy of the hub's certificate is stale once the hub renewed it): a dry run
that shows a branch unchanged is never followed by a real run that changes it. Read only: every router is
as it was before the dry run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import HELD, assert_working, certificate_policy, certificates_of
from tests_support import settled_rollout as rollout

from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.certs import Certs
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.waves import Amount

BRANCHES = ("br1", "br2")



def fingerprint(lab: Lab, router: str, name: str) -> str | None:
    """Certificate `name`'s fingerprint on `router` (None: missing)."""
    lab.settle()
    cert = certificates.find_cert(lab.routers[router], name)
    return None if cert is None else cert.get("fingerprint")


def as_is(lab: Lab) -> dict[str, tuple[str, list[str]]]:
    """Every router's configuration (certificates included) and files, to compare before and after."""
    lab.settle()
    return {name: (json.dumps(r.config.to_json(), sort_keys=True), sorted(r.files.names()))
            for name, r in lab.routers.items()}


def results(summary: Summary) -> dict[str, dict[str, object]]:
    """host -> its line of the run directory's results.jsonl."""
    lines = (summary.run_dir / "results.jsonl").read_text().splitlines()
    return {line["host"]: line for line in map(json.loads, lines)}


def renewing_hub(tmp_path: Path, version: str) -> Iterator[Lab]:
    """A converged hub and two branches where only the hub's own certificate is inside the renewal window:
    the first rollout issues every certificate for 100 days, the branches' are renewed for 1000, then the
    window is 200 days."""
    with Lab.start(tmp_path / "lab", branches=len(BRANCHES), version=version, convergence_delay=0.05) as lab:
        certificate_policy(lab.directory, 100, 30)
        assert not rollout(lab).failed
        certificate_policy(lab.directory, 1000, 30)
        renewed = Certs(lab.directory / "config.yaml").renew_many(list(BRANCHES))
        assert not renewed.failed, renewed.failed
        certificate_policy(lab.directory, 1000, 200)
        assert_working(lab)
        yield lab


@pytest.fixture(params=["7.16.1", "6.49.2"], ids=["branch-made", "hub-made"])
def hub_due(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    yield from renewing_hub(tmp_path, request.param)


def hand_over_lines(summary: Summary, branch: str) -> list[str]:
    """The certificate lines of `branch` that are about the hub's renewed certificate."""
    return [line for line in summary.hosts[branch].certificates if "hub-server" in line]


def dry_then_real(lab: Lab, *limit: str) -> tuple[Summary, Summary]:
    """A dry run (every router as it was after it), then the real run of the same selection: each host the
    real run changes is one the dry run said would change, and no other."""
    before = as_is(lab)
    dry = rollout(lab, *limit, dry_run=True)
    assert not dry.failed, dry.to_json()
    assert as_is(lab) == before  # read only, every router
    real = rollout(lab, *limit)
    assert not real.failed, json.dumps(real.to_json(), default=str)[:3000]
    said = {h: o.status == "would-change" for h, o in dry.hosts.items()}
    assert said == {h: o.status == "changed" for h, o in real.hosts.items()}, (dry.to_json(), real.to_json())
    return dry, real


def test_a_dry_run_that_renews_the_hubs_certificate_lists_every_branchs_hand_over(hub_due: Lab) -> None:
    lab = hub_due
    old = fingerprint(lab, "hub", "hub-server")
    dry, real = dry_then_real(lab)
    (renewal,) = [line for line in dry.hosts["hub"].certificates if "hub-server" in line]
    assert renewal.startswith("would issue hub-server ("), dry.to_json()
    recorded = results(dry)
    for branch in BRANCHES:
        said = hand_over_lines(dry, branch)
        assert dry.hosts[branch].status == "would-change", dry.to_json()
        assert said and all(line.startswith("would ") for line in said), dry.hosts[branch].certificates
        assert "the hub would issue its certificate hub-server anew" in said[0]
        assert recorded[branch]["status"] == "would-change"
        assert recorded[branch]["certificates"] == dry.hosts[branch].certificates
    new = fingerprint(lab, "hub", "hub-server")
    assert new not in (old, None)
    # the hub's own renewal is on its record, as the dry run said it would be
    assert renewal.replace("would issue", "issued", 1) in real.hosts["hub"].certificates, real.to_json()
    for branch in BRANCHES:  # what the dry run listed is what the real run did
        assert real.hosts[branch].certificates, real.to_json()
        assert fingerprint(lab, branch, "hub-server") == new
    assert_working(lab)


def test_a_branch_only_dry_run_lists_no_hand_over_the_hub_is_not_renewed(hub_due: Lab) -> None:
    """The hub is not in the run: its certificate is not renewed, and the branches have nothing to get."""
    lab = hub_due
    old = fingerprint(lab, "hub", "hub-server")
    dry, _ = dry_then_real(lab, *BRANCHES)
    assert {h: o.status for h, o in dry.hosts.items()} == dict.fromkeys(BRANCHES, "unchanged")
    assert fingerprint(lab, "hub", "hub-server") == old
    assert_working(lab)


def test_a_hub_only_run_keeps_the_hubs_certificate_for_the_branches_left_out(
    hub_due: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """The branches are not in the run but hold a copy of the hub's certificate: renewing it would take their
    tunnels down until a run with them. It is kept, the hub's result says which, why, who and the fix, the
    run exits 1 (as a CA held back does), and the dry run's line is the real run's, word for word."""
    from ikefleet.cli import main

    lab = hub_due
    before, certs_before = as_is(lab), certificates_of(lab)
    dry = rollout(lab, "hub", dry_run=True)
    assert not dry.failed and set(dry.hosts) == {"hub"}, dry.to_json()
    (line,) = dry.hosts["hub"].warnings
    assert line.startswith(HELD[0]) and line.endswith(HELD[1]), line
    assert not any("hub-server" in work for work in dry.hosts["hub"].certificates), dry.to_json()
    capsys.readouterr()
    assert main(["rollout", "-c", str(lab.directory / "config.yaml"), "--limit", "hub", "--json"]) == 1
    real = json.loads(capsys.readouterr().out)
    hub = real["hosts"]["hub"]
    assert (hub["status"], hub["error"]) == ("failed", line), hub
    assert set(real["hosts"]) == {"hub"}, real
    assert certificates_of(lab) == certs_before  # the hub's certificate and every copy of it as they were
    assert as_is(lab) == before  # a converged hub: its configuration's convergence changes nothing either
    assert_working(lab)  # the branches' tunnels stay up
    full = rollout(lab)  # with the branches: renewed, and handed over
    assert not full.failed, full.to_json()
    new = fingerprint(lab, "hub", "hub-server")
    assert new != certs_before["hub"]["hub-server"]
    assert all(fingerprint(lab, b, "hub-server") == new for b in BRANCHES)
    assert_working(lab)


def test_a_run_with_one_branch_left_out_converges_the_other_and_keeps_the_hubs_certificate(
    hub_due: Lab
) -> None:
    """The branch of the run is converged as ever (the hub's certificate it holds stays the hub's); the one
    left out keeps its tunnel; the hub fails with the held-back line once the waves are done."""
    lab = hub_due
    old = certificates_of(lab)
    dry = rollout(lab, "hub", "br1", dry_run=True)
    real = rollout(lab, "hub", "br1")
    assert real.failed == ["hub"] and real.hosts["br1"].status != "failed", real.to_json()
    (line,) = dry.hosts["hub"].warnings
    assert real.hosts["hub"].error == line and "1 branch(es) not in this run" in line, line
    assert line.count("br2") == 1 and "br1" not in line, line
    assert not any("hub-server" in work for work in dry.hosts["br1"].certificates), dry.to_json()
    assert all(certificates_of(lab)[r]["hub-server"] == old[r]["hub-server"] for r in ("hub", "br1", "br2"))
    assert_working(lab)


def test_a_branch_unreachable_before_the_hub_holds_its_renewal_back_too(hub_due: Lab) -> None:
    """A full run with --max-fail letting it go on without an unreachable branch: that branch would keep
    the old copy as surely as one left out by --limit, so the hub's certificate is kept for it too."""
    lab = hub_due
    old = certificates_of(lab)
    lab.fault("br2", "bad-password")
    options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30,
                             max_fail=Amount(1, False))
    lab.settle()
    summary = Rollout(options).run()
    assert sorted(summary.failed) == ["br2", "hub"], summary.to_json()
    assert "unreachable before the hub was changed" in summary.hosts["br2"].error
    line = summary.hosts["hub"].error
    assert line.startswith(HELD[0]) and "1 branch(es) not in this run" in line and line.count(": br2; ") == 1
    assert summary.hosts["br1"].status != "failed", summary.to_json()
    assert all(certificates_of(lab)[r]["hub-server"] == old[r]["hub-server"] for r in ("hub", "br1", "br2"))
    lab.clear_faults("br2")
    assert_working(lab)


def test_a_hub_without_branches_renews_its_certificate_as_before(tmp_path: Path) -> None:
    """No branch in the fleet yet: nobody holds a copy, so `--limit hub` renews the hub's certificate."""
    with Lab.start(tmp_path / "lab", branches=0, convergence_delay=0.05) as lab:
        certificate_policy(lab.directory, 100, 30)
        assert not rollout(lab, "hub").failed
        old = fingerprint(lab, "hub", "hub-server")
        certificate_policy(lab.directory, 1000, 200)
        again = rollout(lab, "hub")
        assert not again.failed and not again.hosts["hub"].warnings, again.to_json()
        assert fingerprint(lab, "hub", "hub-server") not in (old, None)
        done = again.hosts["hub"].certificates
        assert any(line.startswith("issued hub-server (expires in ") for line in done), done


@pytest.mark.parametrize("version", ["7.16.1", "6.49.2"], ids=["branch-made", "hub-made"])
def test_a_hub_renewal_with_the_branches_renewals_lists_both(tmp_path: Path, version: str) -> None:
    """Every certificate inside the renewal window: each branch's line says it gets a new certificate and the
    hub's renewed one with it; the real run hands both over."""
    with Lab.start(tmp_path / "lab", branches=len(BRANCHES), version=version, convergence_delay=0.05) as lab:
        certificate_policy(lab.directory, 100, 30)
        assert not rollout(lab).failed
        certificate_policy(lab.directory, 119, 118)  # 100 days left on every certificate: all renewed
        dry, real = dry_then_real(lab)
        for branch in BRANCHES:
            (line,) = dry.hosts[branch].certificates
            assert line.startswith("would ") and ("(issued by this run; the hub would issue its certificate "
                                                  "hub-server anew: expires in ") in line, line
            assert fingerprint(lab, branch, "hub-server") == fingerprint(lab, "hub", "hub-server")
            assert any("imported" in done for done in real.hosts[branch].certificates), real.to_json()
        assert_working(lab)


def test_a_dry_run_of_a_converged_branch_made_fleet_renews_nothing(tmp_path: Path) -> None:
    """The hub holds a branch-made certificate without its key: the step leaves it alone, and so does the
    dry run's account of the step (it said 'would issue ... (no private key)' on every 7.9+ fleet)."""
    with Lab.start(tmp_path / "lab", branches=1, version="7.16.1", convergence_delay=0.05) as lab:
        certificate_policy(lab.directory, 100, 30)
        assert not rollout(lab).failed
        for dry_run in (True, False):
            quiet = rollout(lab, dry_run=dry_run)
            assert {h: (o.status, o.changes) for h, o in quiet.hosts.items()} == {
                h: ("unchanged", []) for h in ("hub", "br1")}, quiet.to_json()


def test_ikefleet_rollout_dry_run_prints_each_branchs_hand_over_and_the_hub_only_held_back_line(
    hub_due: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the operator reads: under each branch its hand-over; the hub alone: its certificate kept for the
    branches it leaves out."""
    from ikefleet.cli import main

    config = str(hub_due.directory / "config.yaml")
    assert main(["rollout", "--dry-run", "-c", config]) == 0
    out = capsys.readouterr().out
    for branch in BRANCHES:
        assert f"--- {branch}: " in out, out
        why = "(the hub would issue its certificate hub-server anew: expires in "
        said = (f"from the hub to {branch} {why}", f"a key on {branch} and have the hub sign it {why}")
        assert any(line in out for line in said), out
    assert main(["rollout", "--dry-run", "-c", config, "--limit", "hub"]) == 0
    printed = capsys.readouterr()
    said = printed.out + printed.err
    assert HELD[0] in said and HELD[1] in said, said


def test_the_held_back_line_names_the_first_ten_branches_left_out_then_how_many_more() -> None:
    from ikefleet.tasks.handover import held_back

    left = [f"br{n}" for n in range(1, 14)]
    line = held_back("hub-server", "expires in 12 days", left)
    assert line.startswith("certificate hub-server not renewed (expires in 12 days): 13 branch(es) "), line
    assert ": br1, br2, br3, br4, br5, br6, br7, br8, br9, br10 and 3 more; " in line, line
    assert line.endswith("to renew it, run without --limit, or with those branches (one not in service yet: "
                         "take it out of the inventory until it is)"), line
    assert held_back("hub-server", "expires in 12 days", []) == ""  # nobody left out: renewed as ever


@pytest.mark.parametrize(("reason", "kept"), [
    ("expires in 12 days", True), ("subject-alt-name is 'IP:192.0.2.9', want 'IP:192.0.2.1'", True),
    ("missing", False), ("expired", False), ("revoked", False), ("no private key", False), (None, False),
])
def test_only_a_hub_certificate_that_still_authenticates_is_kept_for_the_copies(reason: str | None,
                                                                              kept: bool) -> None:
    """A copy of a missing, expired, revoked or keyless certificate authenticates nothing: renewing it
    takes no tunnel down, so the branches left out do not hold it back."""
    from ikefleet.tasks.pki import kept_for_copies

    assert kept_for_copies(reason) is kept
