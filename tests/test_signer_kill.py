"""SIGKILL of the rollout process while the HubSigner (tasks/signer.py, the hub-made flow of RouterOS before
7.9) makes a later wave's key on the hub in the background: every router is as before the run or converged,
and the next rollout finishes with nothing failed, no template or unsigned certificate left on the hub."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from tests_support import assert_working, hub_keys_lab

from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab
from ikefleet.lab.sshd import Terminal
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.waves import Amount


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with hub_keys_lab(tmp_path_factory.mktemp("signer-kill")) as started:
        yield started


def as_is(lab: Lab, router: str) -> str:
    """`router`'s configuration, certificates included (a menu emptied again is as one never used)."""
    lab.settle()
    menus = lab.routers[router].config.to_json()["menus"]
    return json.dumps({path: items for path, items in menus.items() if items}, sort_keys=True)


def unsigned(lab: Lab) -> list[str]:
    """Certificates on the hub without a fingerprint (a template, or one being signed)."""
    lab.settle()
    return [i.values["name"] for i in certificates.certificates(lab.routers["hub"])
            if not i.values.get("fingerprint")]


def failing(lab: Lab) -> set[str]:
    """Hosts with a verify check that fails."""
    lab.settle()
    report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
    return {r.host for r in report.results if r.status not in ("pass", "skip", "warn")}


def test_sigkill_while_the_hub_makes_a_later_waves_key_in_the_background(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {name: as_is(lab, name) for name in lab.routers}
    real_run_line = Terminal._run_line
    run: list[subprocess.Popen[bytes]] = []
    killed_at: list[bool] = []  # whether br3's key was being made when the run was killed

    async def kill_while_signing_br3(self: Terminal, line: str) -> str:
        out = await real_run_line(self, line)
        if (self.router.name == "hub" and '/certificate sign [find where name="br3-client"]' in line
                and run and not killed_at):
            os.kill(run[0].pid, signal.SIGKILL)  # the sign returned at once: the key is being made
            cert = certificates.find_cert(self.router, "br3-client")
            killed_at.append(cert is not None and certificates.busy(self.router, cert))
        return out

    monkeypatch.setattr(Terminal, "_run_line", kill_while_signing_br3)
    lab.settle()
    run.append(subprocess.Popen(
        [sys.executable, "-m", "ikefleet", "rollout", "-c", str(lab.directory / "config.yaml"),
         "--canary", "1", "--wave-size", "1", "--gate-timeout", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)))
    try:
        run[0].wait(timeout=120)
    finally:
        if run[0].poll() is None:
            run[0].kill()
            run[0].wait()
        monkeypatch.undo()
    assert run[0].returncode == -signal.SIGKILL, "the run ended before the hub signed br3's key"
    assert killed_at == [True], "br3's key was not being made when the run was killed"
    # every branch as before the run, or converged and passing verify's checks
    bad = failing(lab)
    for name in ("br1", "br2", "br3"):
        assert as_is(lab, name) == before[name] or name not in bad, (name, bad)
    # no identity on the hub names a certificate the hub does not hold signed
    hub = lab.routers["hub"]
    signed = {i.values["name"] for i in certificates.certificates(hub) if i.values.get("fingerprint")}
    named = {i.values.get("remote-certificate", "") for i in hub.config.items("/ip ipsec identity")}
    assert named - {""} <= signed, (named, signed)
    lab.settle()
    again = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30, canary=1,
                                   wave_size=Amount(1, False))).run()
    assert not again.failed and not again.interrupted, again.to_json()
    assert unsigned(lab) == []
    assert_working(lab)
