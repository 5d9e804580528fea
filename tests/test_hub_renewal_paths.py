"""The hub's own certificate due for renewal on the paths other than a plain rollout: `ikefleet certs revoke`
(whose hub-only run keeps it for the branches holding a copy, said in the rollout's words, exit 1), a run
that leaves out only branches the hub never issued a certificate for (they hold no copy: it is renewed, and
their first rollout brings the new one), and `ikefleet certs renew BRANCH` (a branch's renewal, which leaves
the hub's certificate alone). On every path each router is left working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tests_support import HELD, assert_working, certificate_policy, certificates_of
from tests_support import settled_rollout as rollout

from ikefleet.lab.certificates import cert_flags
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.certs import Certs
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.waves import Amount


def hub_identities(lab: Lab) -> list[str]:
    """The certificates the hub's IPsec identities name."""
    lab.settle()
    items = lab.routers["hub"].config.items("/ip ipsec identity")
    return [i.values.get("remote-certificate", "") for i in items]


def hub_due(lab: Lab, branches: list[str]) -> None:
    """`lab` rolled out (`branches` with the hub), then only the hub's own certificate inside the renewal
    window: everything issued for 100 days, the branches' renewed for 1000, then the window is 200 days."""
    certificate_policy(lab.directory, 100, 30)
    first = rollout(lab, "hub", *branches)
    assert not first.failed, first.to_json()
    certificate_policy(lab.directory, 1000, 30)
    renewed = Certs(lab.directory / "config.yaml").renew_many(branches)
    assert not renewed.failed, renewed.failed
    certificate_policy(lab.directory, 1000, 200)


@pytest.fixture
def three_branches(tmp_path: Path) -> Iterator[Lab]:
    """A converged hub and three branches (the hub makes every key), the hub's certificate due."""
    with Lab.start(tmp_path / "lab", branches=3, version="6.49.2", convergence_delay=0.05) as lab:
        hub_due(lab, ["br1", "br2", "br3"])
        assert_working(lab)
        yield lab


def test_certs_revoke_while_the_hubs_certificate_is_due_revokes_and_keeps_it_for_the_others(
    three_branches: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """The revocation is done and said so; the hub-only run that follows keeps the hub's certificate for
    br1 and br2 (they hold a copy), said in the words a `--limit hub` rollout uses, and exits 1 as that
    rollout does. br3's identity is gone, br1's and br2's tunnels stay up on the certificate they hold."""
    from ikefleet.cli import main

    lab = three_branches
    config = str(lab.directory / "config.yaml")
    before = certificates_of(lab)
    untouched = {r: json.dumps(lab.routers[r].config.to_json(), sort_keys=True) for r in ("br1", "br2")}
    (br3,) = [name for name in before["br3"] if name.startswith("br3-client")]  # renewed: a dated name
    capsys.readouterr()
    assert main(["certs", "revoke", "br3", "-c", config]) == 1
    printed = capsys.readouterr()
    assert f"hub: certificate {br3} revoked (`ikefleet certs revoke br3`)" in printed.out, printed
    assert "br3: certificate revoked on the hub (CRL), its identity removed" in printed.out, printed
    assert "did not converge" not in printed.out + printed.err, printed
    (said,) = [line for line in printed.err.splitlines() if "not renewed" in line]
    prefix = "ikefleet certs revoke: hub: "
    assert said.startswith(prefix + HELD[0]) and said.endswith(HELD[1]), said
    line = said.removeprefix(prefix)
    # the rollout's words: a dry run of the hub alone says the same line, word for word
    dry = rollout(lab, "hub", dry_run=True)
    assert dry.hosts["hub"].warnings == [line], dry.to_json()
    # on the record as the rollout records it: the hub failed with that line, the revocation its work
    record = Path(printed.out.rsplit("record: ", 1)[1].split()[0])
    hub = json.loads((record / "summary.json").read_text())["hosts"]["hub"]
    assert (hub["status"], hub["error"]) == ("failed", line), hub
    assert f"certificate {br3} revoked (`ikefleet certs revoke br3`)" in hub["certificates"], hub
    # the revocation: br3's certificate revoked on the hub (CRL), no identity names it any more
    after = certificates_of(lab)
    revoked = next(i for i in lab.routers["hub"].config.items("/certificate")
                   if i.values["name"] == br3)
    assert "R" in cert_flags(revoked, lab.routers["hub"].now())
    named = hub_identities(lab)
    assert not any(n.startswith("br3-") for n in named), named
    assert {n.split("-")[0] for n in named} == {"br1", "br2"}, named
    # the hub's certificate and every copy of it as they were; br1's and br2's tunnels up (verify leaves
    # the revoked branch out: it is meant to be down)
    assert {r: after[r]["hub-server"] for r in after} == {r: before[r]["hub-server"] for r in before}
    assert {r: json.dumps(lab.routers[r].config.to_json(), sort_keys=True) for r in untouched} == untouched
    assert_working(lab)
    # the fix the line names: a run without --limit renews it and hands it to br1 and br2 (br3 skipped)
    full = rollout(lab)
    assert not full.failed and full.hosts["br3"].status == "skipped", full.to_json()
    new = certificates_of(lab)
    assert new["hub"]["hub-server"] not in (before["hub"]["hub-server"], None)
    assert new["br1"]["hub-server"] == new["br2"]["hub-server"] == new["hub"]["hub-server"]
    assert new["br3"]["hub-server"] == before["br3"]["hub-server"]  # revoked: left alone
    assert_working(lab)


def test_certs_renew_of_a_branch_while_the_hubs_certificate_is_due_leaves_the_hubs_alone(
    three_branches: Lab,
) -> None:
    """A branch's renewal hands it the hub's certificate as it is: renewing that too would take the
    tunnels of the branches not renewed down. The hub's certificate stays for the next rollout."""
    lab = three_branches
    before = certificates_of(lab)
    message = Certs(lab.directory / "config.yaml").renew("br1")
    assert "br1: certificate br1-client renewed (br1-client" in message, message
    after = certificates_of(lab)
    assert {r: after[r]["hub-server"] for r in after} == {r: before[r]["hub-server"] for r in before}
    assert after["br2"] == before["br2"] and after["br3"] == before["br3"]
    assert_working(lab)


def inventory_without(lab: Lab, branch: str) -> str:
    """Takes `branch` out of the lab's inventory (as if it were added to it later); the hosts file as it
    was, to put back."""
    path = lab.directory / "inventory" / "hosts.yaml"
    text = path.read_text()
    yaml = YAML()
    hosts = yaml.load(text)
    del hosts[branch]
    with path.open("w") as out:
        yaml.dump(hosts, out)
    return text


@pytest.mark.parametrize(("version", "left_out"), [("6.49.2", "limit"), ("7.16.1", "unreachable")],
                         ids=["hub-made-limit", "branch-made-unreachable"])
def test_a_branch_never_rolled_out_does_not_hold_the_hubs_renewal_back(tmp_path: Path, version: str,
                                                                      left_out: str) -> None:
    """br3 joined the inventory after the hub's last run: the hub holds no certificate for it, so it holds
    no copy of the hub's. Left out (by --limit, or unreachable) of a run with every branch that does hold
    one, it does not keep the hub's certificate from being renewed; its first rollout brings the new one."""
    with Lab.start(tmp_path / "lab", branches=3, version=version, convergence_delay=0.05) as lab:
        hosts = inventory_without(lab, "br3")
        hub_due(lab, ["br1", "br2"])
        (lab.directory / "inventory" / "hosts.yaml").write_text(hosts)  # br3 added to the inventory
        before = certificates_of(lab)
        assert "br3-client" not in before["hub"] and "hub-server" not in before["br3"]
        if left_out == "limit":
            dry = rollout(lab, "hub", "br1", "br2", dry_run=True)
            assert not dry.hosts["hub"].warnings, dry.to_json()
            work = dry.hosts["hub"].certificates
            assert any(w.startswith("would issue hub-server (expires in ") for w in work), work
            run = rollout(lab, "hub", "br1", "br2")
            assert not run.failed and "br3" not in run.hosts, run.to_json()
        else:
            lab.fault("br3", "bad-password")
            lab.settle()
            run = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30,
                                         max_fail=Amount(1, False))).run()
            assert run.failed == ["br3"], run.to_json()
            assert "unreachable before the hub was changed" in run.hosts["br3"].error
            lab.clear_faults("br3")
        assert not any("not renewed" in w for o in run.hosts.values() for w in [o.error, *o.warnings])
        renewed = certificates_of(lab)
        new = renewed["hub"]["hub-server"]
        assert new not in (before["hub"]["hub-server"], None)
        assert renewed["br1"]["hub-server"] == renewed["br2"]["hub-server"] == new  # handed over
        assert renewed["br3"] == before["br3"]  # not contacted, or not reached: nothing changed on it
        first = rollout(lab, "br3")  # its first rollout: the hub's renewed certificate comes with it
        assert not first.failed, first.to_json()
        assert certificates_of(lab)["br3"]["hub-server"] == new
        assert_working(lab)


def test_a_branch_the_hub_issued_a_certificate_for_holds_the_renewal_back_until_it_is_run_or_removed(
    tmp_path: Path,
) -> None:
    """br3 was in the inventory when the hub was rolled out but never was itself (not racked yet): every
    hub run issues each branch's certificate, so the hub holds one for br3, and the hub cannot tell without
    contacting br3 that it was never handed over. It counts as holding a copy: the hub's certificate is kept
    and br3 named. The documented way out while br3 cannot be reached: take it out of the inventory (its
    certificate is revoked), the hub's certificate is then renewed; back in, br3 is issued a new one and
    its first rollout brings both."""
    with Lab.start(tmp_path / "lab", branches=3, version="6.49.2", convergence_delay=0.05) as lab:
        hub_due(lab, ["br1", "br2"])
        before = certificates_of(lab)
        assert "br3-client" in before["hub"] and "hub-server" not in before["br3"]
        kept = rollout(lab, "hub", "br1", "br2")
        line = kept.hosts["hub"].error
        assert kept.failed == ["hub"] and line.startswith(HELD[0]), kept.to_json()
        assert "): 1 branch(es) not in this run hold a copy of it, " in line and line.count(": br3; ") == 1
        kept_now = certificates_of(lab)  # (br3's own, due too, is renewed on the hub: it is not handed over)
        assert {r: kept_now[r].get("hub-server") for r in kept_now} == {r: before[r].get("hub-server")
                                                                         for r in before}
        hosts = inventory_without(lab, "br3")  # out of the inventory while it cannot be reached
        renewed = rollout(lab, "hub", "br1", "br2")
        assert not renewed.failed, renewed.to_json()
        gone = [w for w in renewed.hosts["hub"].certificates if w.startswith("certificate br3-client")]
        assert gone and all(w.endswith(" revoked (its branch is no longer in the inventory)") for w in gone)
        now = certificates_of(lab)
        new = now["hub"]["hub-server"]
        assert new not in (before["hub"]["hub-server"], None)
        assert now["br1"]["hub-server"] == now["br2"]["hub-server"] == new
        (lab.directory / "inventory" / "hosts.yaml").write_text(hosts)  # racked: back in the inventory
        first = rollout(lab)
        assert not first.failed, first.to_json()
        assert certificates_of(lab)["br3"]["hub-server"] == new
        assert_working(lab)


@pytest.mark.parametrize(("status", "error", "held", "converged"), [
    ("changed", "", "", True),
    ("failed", "HELD", "HELD", True),  # failed only because the run kept the hub's certificate
    ("failed", "hub: session dropped", "HELD", False),  # failed for another reason: held or not
    ("failed", "hub: session dropped", "", False),
])
def test_a_revocation_converged_the_hub_unless_it_failed_for_anything_but_the_held_renewal(
    tmp_path: Path, status: str, error: str, held: str, converged: bool
) -> None:
    from ikefleet.processors.ledger import Summary
    from ikefleet.runbooks.certs import Revocation
    from ikefleet.tasks.converge import Outcome

    summary = Summary(tmp_path, False, hosts={"hub": Outcome("hub", status, error=error)})
    assert Revocation("hub", ["br3-client"], summary, held).converged is converged
    assert not Revocation("hub", ["br3-client"], Summary(tmp_path, False), held).converged  # never reached
