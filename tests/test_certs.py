"""`ikefleet certs`: status, revoke (CRL + identity removed, rollouts skip the branch), renew (back in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import certificate_policy, fast_keys

from ikefleet.lab.certificates import cert_flags
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.certs import Certs, CertsError
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.rundir import LockedError, exclusive


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("certs"), branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30)).run()
        assert not summary.failed
        yield lab


def identities(lab: Lab) -> list[str]:
    lab.settle()
    items = lab.routers["hub"].config.items("/ip ipsec identity")
    return [i.values.get("remote-certificate", "") for i in items]


def test_status_shows_every_certificate_current_on_its_branch(rolled: Lab) -> None:
    rows = {r.name: r for r in Certs(rolled.directory / "config.yaml").status()}
    assert set(rows) == {"ca", "hub-server", "br1-client", "br2-client"}
    assert rows["br1-client"].on_branch == rows["br2-client"].on_branch == "current"
    assert rows["ca"].days_left is not None and rows["br1-client"].days_left >= 3600
    assert not any(r.flags for r in rows.values())


def test_revoke_then_renew(rolled: Lab) -> None:
    config = rolled.directory / "config.yaml"
    certs = Certs(config)
    summary = certs.revoke("br2").summary
    assert summary.hosts["hub"].status == "changed"
    assert "br2-client" not in identities(rolled)
    hub = rolled.routers["hub"]
    revoked = next(i for i in hub.config.items("/certificate") if i.values["name"] == "br2-client")
    assert "R" in cert_flags(revoked, hub.now())
    rows = {r.name: r for r in certs.status()}
    assert "revoked" in rows["br2-client"].flags
    skipped = Rollout(RolloutOptions(config=config, gate_timeout_s=30)).run()
    assert skipped.hosts["br2"].status == "skipped" and "renew" in skipped.hosts["br2"].error
    assert "br2-client" not in identities(rolled)  # the rollout did not bring it back
    rolled.settle()
    assert Verify(VerifyOptions(config=config, record=False)).run().compliant  # br2 is meant to be down

    message = certs.renew("br2")
    assert "renewed (br2-client -> br2-client-" in message and "restore its identity" in message
    back = Rollout(RolloutOptions(config=config, gate_timeout_s=30)).run()
    assert not back.failed and back.hosts["hub"].status == "changed"
    renewed = [n for n in identities(rolled) if n.startswith("br2-client-")]
    assert len(renewed) == 1
    rows = {r.name: r for r in Certs(config).status()}
    assert rows[renewed[0]].on_branch == "current" and not rows[renewed[0]].flags


def test_unknown_branch_is_refused(rolled: Lab) -> None:
    with pytest.raises(CertsError, match="no branch 'br9'"):
        Certs(rolled.directory / "config.yaml").renew("br9")


def test_cli_status_exit_code(rolled: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    from ikefleet.cli import main

    assert main(["certs", "status", "-c", str(rolled.directory / "config.yaml"), "--json"]) == 0
    assert '"br1-client"' in capsys.readouterr().out
    assert main(["certs", "renew", "-c", str(Path(rolled.directory / "config.yaml"))]) == 2


def test_renew_selection_that_names_no_branch_is_bad_input(rolled: Lab, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    """Issue 19.2: `certs renew` takes hosts and groups as --limit does; a name matching nothing, or only the
    hub, is exit 2 naming the fix, before any router is contacted."""
    from ikefleet.cli import main

    config = str(rolled.directory / "config.yaml")
    before = identities(rolled)
    assert main(["certs", "renew", "br1", "--limit", "br9", "-c", config]) == 2
    err = capsys.readouterr().err
    assert "no host or group named 'br9'" in err, err
    assert main(["certs", "renew", "--limit", "responder", "-c", config]) == 2
    assert "selects no branch" in capsys.readouterr().err
    assert main(["certs", "revoke", "br1", "br2", "-c", config]) == 2
    assert identities(rolled) == before


def test_rollout_renews_certificates_inside_the_renewal_window(tmp_path: Path) -> None:
    """Valid certificates are reused; once the window reaches them, the next rollout re-issues and hands
    them over, and the tunnels come back."""
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        def certificates(days: int, window: int) -> None:
            certificate_policy(lab.directory, days, window)

        def fingerprint(router: str) -> str:
            lab.settle()
            items = lab.routers[router].config.items("/certificate")
            (only,) = [i.values["fingerprint"] for i in items if i.values["name"].startswith("br1-client")]
            return only  # the renewal's new certificate, the one it replaced removed

        config = lab.directory / "config.yaml"
        certificates(100, 30)
        assert not Rollout(RolloutOptions(config=config, gate_timeout_s=30)).run().failed
        first = fingerprint("hub")
        again = Rollout(RolloutOptions(config=config, gate_timeout_s=30)).run()
        assert again.hosts["br1"].status == "unchanged"
        assert fingerprint("hub") == first  # reused while outside the window

        certificates(1000, 200)  # the certificates have 100 days left: now inside the window
        summary = Rollout(RolloutOptions(config=config, gate_timeout_s=30)).run()
        assert not summary.failed, summary.to_json()
        assert fingerprint("hub") != first
        assert fingerprint("br1") == fingerprint("hub")


@pytest.mark.parametrize("action", ["renew", "revoke"])
def test_renew_and_revoke_refuse_while_a_rollout_holds_the_lock(rolled: Lab, action: str) -> None:
    config = rolled.directory / "config.yaml"
    before = fingerprints(rolled)
    with exclusive(rolled.directory / ".ikefleet"), pytest.raises(LockedError, match="another rollout"):
        getattr(Certs(config), action)("br1")
    assert fingerprints(rolled) == before  # nothing issued, revoked or installed
    assert "br1-client" in identities(rolled)


def fingerprints(lab: Lab) -> dict[str, list[str]]:
    lab.settle()
    return {name: sorted(i.values.get("fingerprint", "") + i.values.get("revoked", "")
                         for i in router.config.items("/certificate"))
            for name, router in lab.routers.items()}
