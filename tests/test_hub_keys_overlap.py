"""Issue 19.3: where the hub makes the branches' keys (RouterOS before 7.9: the seed's PKCS#12 flow), it makes
the first wave's before the hub converges and the later waves' in the background, on its own session, while
the earlier waves push and gate: the hub is never idle waiting for a branch. A branch whose key fails is
failed alone; an interrupt during the background signing leaves every router working and the next run
finishes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import ConsoleLine, assert_working, console_lines, hub_keys_lab

from ikefleet import interrupt
from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab
from ikefleet.lab.sshd import Terminal
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.waves import Amount


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with hub_keys_lab(tmp_path_factory.mktemp("overlap")) as started:
        yield started


def rollout(lab: Lab) -> Summary:
    lab.settle()
    options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30, canary=1,
                             wave_size=Amount(1, False))
    return Rollout(options).run()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[ConsoleLine]:
    """Every console line the lab's routers run: (monotonic time, router, line)."""
    return console_lines(monkeypatch)


def sign_of(name: str) -> str:
    return f'/certificate sign [find where name="{name}"]'



def templates(lab: Lab) -> list[str]:
    """Certificates on the hub without a fingerprint (a template, or one being signed)."""
    lab.settle()
    return [i.values["name"] for i in certificates.certificates(lab.routers["hub"])
            if not i.values.get("fingerprint")]


def test_later_waves_keys_are_made_while_the_first_wave_pushes(
        lab: Lab, seen: list[tuple[float, str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """When br1 (wave 1) imports its certificate, the hub has made br1's key and is still making br2's (a key
    takes it 3 s here); before, every key was made before the hub's configuration and wave 1."""
    hub = lab.routers["hub"]
    at_import: list[set[str]] = []  # the hub's signed certificates when br1 imports its own
    recording = Terminal._run_line

    async def watching(self: Terminal, line: str) -> str:
        if self.router.name == "br1" and "/certificate import" in line and not at_import:
            at_import.append({i.values["name"] for i in certificates.certificates(hub)
                              if i.values.get("fingerprint")})
        return await recording(self, line)

    monkeypatch.setattr(Terminal, "_run_line", watching)
    first = rollout(lab)
    assert not first.failed, first.to_json()
    assert first.waves == [["br1"], ["br2"], ["br3"]]
    made = {"certificate br2-client issued (missing)", "certificate br3-client issued (missing)"}
    assert made <= set(first.hosts["hub"].certificates)
    assert "br1-client" in at_import[0] and "br2-client" not in at_import[0], at_import
    signs = {n: min(t for t, r, line in seen if r == "hub" and sign_of(n) in line)
             for n in ("br1-client", "br2-client", "br3-client")}
    br1_import = min(t for t, r, line in seen if r == "br1" and "/certificate import" in line)
    assert signs["br1-client"] < signs["br2-client"] < br1_import < signs["br3-client"], (signs, br1_import)
    # the hub converged once per wave: its as-found export is the one read before the first (nothing of
    # ikefleet's on it yet), and its commands file holds every converge's commands, the first's first
    found = (first.run_dir / "backups" / "hub.rsc").read_text()
    assert "comment=ikefleet" not in found and "/interface bridge" in found, found[:400]
    commands = (first.run_dir / "diffs" / "hub.commands").read_text()
    assert 0 <= commands.find("br1-client") < commands.find("br3-client"), commands
    assert_working(lab)
    seen.clear()
    again = rollout(lab)  # nothing to make: one hub converge, no signing
    assert {o.status for o in again.hosts.values()} == {"unchanged"}, again.to_json()
    assert not any("/certificate sign" in line for _, _, line in seen)


def test_a_later_key_that_fails_fails_its_branch_alone(lab: Lab) -> None:
    lab.fault("hub", "fail-command", r'certificate sign .*"br3-client"', "failure: out of memory")
    first = rollout(lab)
    lab.clear_faults("hub")
    assert first.failed == ["br3"], first.to_json()
    assert "br3-client" in first.hosts["br3"].error and "out of memory" in first.hosts["br3"].error
    assert first.hosts["hub"].status == "changed" and first.hosts["br2"].status == "changed"
    assert templates(lab) == []
    assert not any(i.values.get("remote-certificate", "").startswith("br3")
                   for i in lab.routers["hub"].config.items("/ip ipsec identity"))
    again = rollout(lab)
    assert not again.failed and again.hosts["br3"].status == "changed", again.to_json()
    assert_working(lab)


def test_an_interrupt_during_background_signing_leaves_routers_working(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run_line = Terminal._run_line

    async def stop_at_br3(self: Terminal, line: str) -> str:
        if self.router.name == "hub" and sign_of("br3-client") in line:
            interrupt.STOP.set()  # Ctrl-C while the hub makes br3's key
        return await real_run_line(self, line)

    monkeypatch.setattr(Terminal, "_run_line", stop_at_br3)
    stopped = rollout(lab)
    monkeypatch.undo()
    assert stopped.interrupted and stopped.hosts["br3"].status == "interrupted", stopped.to_json()
    assert "br3" not in stopped.failed
    # the key being made was given up: its template is removed, or left (unused) when the hub's session was
    # dropped to undo an open safe-mode window; no identity names it, br1 is up
    assert set(templates(lab)) <= {"br3-client"}
    assert not any(i.values.get("remote-certificate", "").startswith("br3")
                   for i in lab.routers["hub"].config.items("/ip ipsec identity"))
    assert stopped.hosts["br1"].status == "changed"
    again = rollout(lab)
    assert not again.failed and not again.interrupted, again.to_json()
    assert templates(lab) == []
    assert_working(lab)
