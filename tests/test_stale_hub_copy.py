"""A branch holding a stale copy of the hub's certificate (a run killed after the hub renewed its own)
when the run does not converge the hub (`--limit br1`): the hub's certificate is still read, so the branch
is handed its certificates again rather than reported unchanged with a tunnel that cannot authenticate; a
dry run says it would be, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import assert_working, certificate_policy, kill_rollout_once_the_hub_renewed
from tests_support import settled_rollout as rollout

from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab


def fingerprint(lab: Lab, router: str, name: str) -> str | None:
    """Certificate `name`'s fingerprint on `router` once signed (None: missing, or its key still being
    made)."""
    lab.settle()
    r = lab.routers[router]
    cert = certificates.find_cert(r, name)
    if cert is None or not certificates.is_signed(cert) or certificates.busy(r, cert):
        return None
    return cert.get("fingerprint")


def as_is(lab: Lab, router: str) -> tuple[str, list[str]]:
    """`router`'s configuration (certificates included) and files, to compare before and after."""
    lab.settle()
    r = lab.routers[router]
    return json.dumps(r.config.to_json(), sort_keys=True), sorted(r.files.names())


@pytest.fixture(params=["7.16.1", "6.49.2"], ids=["branch-made", "hub-made"])
def stale(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Lab, str]]:
    """A converged hub and br1, then a rollout in the renewal window killed (SIGKILL) right after the hub
    re-issued its own certificate: br1 keeps the old copy (as tests/test_branch_keys.py builds it). Yields
    the lab (renewal window back to normal) and the old fingerprint."""
    with Lab.start(tmp_path / "lab", branches=1, version=request.param, convergence_delay=0.05) as lab:
        certificate_policy(lab.directory, 100, 30)
        assert not rollout(lab).failed
        old = fingerprint(lab, "hub", "hub-server")
        certificate_policy(lab.directory, 119, 118)  # the hub's 100 days are inside the window
        assert old is not None
        kill_rollout_once_the_hub_renewed(lab, old, fingerprint)
        assert fingerprint(lab, "br1", "hub-server") == old  # br1 has the old copy
        assert fingerprint(lab, "hub", "hub-server") not in (old, None)
        certificate_policy(lab.directory, 100, 30)
        yield lab, old


def test_a_branch_only_run_hands_a_stale_copy_of_the_hubs_certificate_over(stale: tuple[Lab, str]) -> None:
    lab, old = stale
    run = rollout(lab, "br1")
    assert not run.failed, json.dumps(run.to_json(), default=str)[:3000]
    assert "hub" not in run.hosts and run.hosts["br1"].status == "changed", run.to_json()
    assert any("hub-server" in line for line in run.hosts["br1"].certificates), run.to_json()
    current = fingerprint(lab, "hub", "hub-server")
    assert fingerprint(lab, "br1", "hub-server") == current != old
    assert_working(lab)


def test_a_branch_only_dry_run_lists_the_hand_over_and_changes_nothing(stale: tuple[Lab, str]) -> None:
    lab, old = stale
    before = as_is(lab, "br1")
    names = sorted(i.values["name"] for i in certificates.certificates(lab.routers["hub"]))
    dry = rollout(lab, "br1", dry_run=True)
    said = dry.hosts["br1"].certificates
    assert dry.hosts["br1"].status == "would-change", dry.to_json()
    assert any(line.startswith("would ") and "copy of the hub's certificate" in line and "stale" in line
               for line in said), said
    assert as_is(lab, "br1") == before
    # the hub: read only (a key the killed run's sign started may be finished meanwhile: the lab's doing)
    assert sorted(i.values["name"] for i in certificates.certificates(lab.routers["hub"])) == names
    assert fingerprint(lab, "br1", "hub-server") == old
