"""Issue 17 (safety and honesty), points 6 and 8 against the lab: a branch that fails its wave's gate is
put back to its configuration before the run and later waves stop (unless --keep-failed / --max-fail say
otherwise); the canary is made of branches the run changes; every branch is reached before the hub is
changed; the gate waits for everything verify checks, BFD included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Faults
from ikefleet.lab.sshd import Terminal
from ikefleet.runbooks.rollout import PUT_BACK, Rollout, RolloutOptions, Summary
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.waves import Amount


def rollout(lab: Lab, **options: object) -> Summary:
    lab.settle()
    opts = RolloutOptions(config=lab.directory / "config.yaml", **{"gate_timeout_s": 30.0, **options})  # type: ignore[arg-type]
    return Rollout(opts).run()


def export(lab: Lab, name: str) -> str:
    """`/export terse hide-sensitive` over SSH, as an operator reads it (the header's time left out)."""
    lab.settle()
    spec = lab.spec(name)
    conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password, fast_cli=False)
    try:
        text = str(conn.send_command("/export terse hide-sensitive"))
    finally:
        conn.disconnect()
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def errors(summary: Summary) -> dict[str, str]:
    return {h: o.error for h, o in summary.hosts.items() if o.error}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=3, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def test_a_failed_gate_puts_the_branch_back_and_stops_later_waves(lab: Lab) -> None:
    """br1 (the canary) takes its configuration but its tunnel never comes up (WAN down): it is put back to
    exactly its export before the run, checked by re-read, and br2, br3 are not touched (no --max-fail)."""
    before = {name: export(lab, name) for name in ("br1", "br2", "br3")}
    lab.fault("br1", "wan-down")
    summary = rollout(lab, gate_timeout_s=3.0)
    assert summary.failed == ["br1"], errors(summary)
    error = summary.hosts["br1"].error
    assert error.startswith("gate failed: ") and "ike.peer" in error and error.endswith(PUT_BACK), error
    assert export(lab, "br1") == before["br1"]
    assert summary.hosts["br2"].status == summary.hosts["br3"].status == "skipped"
    assert export(lab, "br2") == before["br2"] and export(lab, "br3") == before["br3"]
    assert "no --max-fail" in summary.stopped
    # said in the run directory too: results.jsonl holds the gate's verdict for br1
    results = (summary.run_dir / "results.jsonl").read_text()
    assert "gate failed" in results and "configuration put back to before this run" in results


def test_keep_failed_keeps_the_change_for_debugging(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    before = export(lab, "br1")
    lab.fault("br1", "wan-down")
    lab.settle()
    capsys.readouterr()
    code = main(["rollout", "-c", str(lab.directory / "config.yaml"), "--json", "--gate-timeout", "3",
                 "--keep-failed"])
    hosts = json.loads(capsys.readouterr().out)["hosts"]
    assert code == 1 and [h for h, o in hosts.items() if o["status"] == "failed"] == ["br1"], hosts
    assert "gate failed" in hosts["br1"]["error"] and "kept (--keep-failed)" in hosts["br1"]["error"]
    after = export(lab, "br1")
    assert after != before and "comment=ikefleet" in after
    assert hosts["br2"]["status"] == "skipped"


def test_a_failed_canary_stops_later_waves_without_max_fail(lab: Lab) -> None:
    """The canary's push is refused (and undone on the router): without --max-fail, later waves stop."""
    lab.fault("br1", "fail-command", "/routing ospf network add", error="failure: simulated")
    summary = rollout(lab, wave_size=Amount(1, False))
    assert summary.failed == ["br1"] and "failure: simulated" in summary.hosts["br1"].error
    assert [summary.hosts[b].status for b in ("br2", "br3")] == ["skipped", "skipped"]
    # --max-fail 1 lets the run go on past one failure
    summary = rollout(lab, wave_size=Amount(1, False), max_fail=Amount(1, False))
    assert summary.failed == ["br1"]
    assert [summary.hosts[b].status for b in ("br2", "br3")] == ["changed", "changed"]


def test_the_canary_holds_branches_this_run_changes_new_ones_first(lab: Lab) -> None:
    """br1 and br3 rolled out before, br3 then changed by hand, br2 never: the canary is br2 (new), then br3
    (changes); br1, converged and passing verify's checks when the reach read it, is in no wave at all (the
    waves, the canary and the gate are for the branches a run changes)."""
    first = rollout(lab, limit=("hub", "br1", "br3"))
    assert not first.failed, errors(first)
    spec = lab.spec("br3")
    conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password, fast_cli=False)
    try:
        conn.send_command("/certificate settings set crl-use=no")
    finally:
        conn.disconnect()
    summary = rollout(lab, canary=2, wave_size=Amount(1, False))
    assert not summary.failed, errors(summary)
    assert summary.waves == [["br2", "br3"]]
    assert [summary.hosts[b].status for b in ("br2", "br3", "br1")] == ["changed", "changed", "unchanged"]


def test_an_unreachable_branch_fails_before_the_hub_is_changed(lab: Lab) -> None:
    """br2 and br3 refuse SSH: they are reported before the hub is configured, and count against --max-fail
    (1 allowed, 2 failed: the hub is never changed, nothing is configured for them)."""
    hub_before = export(lab, "hub")
    lab.fault("br2", "refuse")
    lab.fault("br3", "refuse")
    summary = rollout(lab, max_fail=Amount(1, False))
    assert sorted(summary.failed) == ["br2", "br3"]
    assert all("unreachable before the hub was changed" in summary.hosts[b].error for b in ("br2", "br3"))
    assert summary.hosts["hub"].status == "skipped" and "before the hub was changed" in summary.stopped
    assert export(lab, "hub") == hub_before and "eoip-br2" not in export(lab, "hub")
    # one unreachable branch within --max-fail 1: the run goes on without it
    lab.clear_faults("br3")
    summary = rollout(lab, max_fail=Amount(1, False))
    assert summary.failed == ["br2"] and summary.hosts["br2"].commands == 0
    assert summary.hosts["hub"].status == "changed" and summary.hosts["br3"].status == "changed"


def test_the_gate_waits_for_bfd_after_ospf_full(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a real network BFD comes up after OSPF Full. br1's BFD packets are lost until something reads its
    BFD neighbours while OSPF is Full (the gate, if it checks BFD): a rollout that returns 0 must leave BFD
    up, and verify right after it passes."""
    lab.fault("br1", "bfd-drop")
    real_run_line = Terminal._run_line

    async def bfd_heals_once_looked_at(self: Terminal, line: str) -> str:
        output = await real_run_line(self, line)
        full = re.search(r"<<ikefleet:ospf_neighbor>>(?:(?!<<ikefleet:).)*state=\"?Full", output, re.S)
        looked = "<<ikefleet:bfd>>" in output and full
        if self.router.name == "br1" and looked and self.router.faults.bfd_drop:
            await lab._set_faults("br1", lambda f: Faults())
        return output

    monkeypatch.setattr(Terminal, "_run_line", bfd_heals_once_looked_at)
    summary = rollout(lab, limit=("hub", "br1"))
    bfd = lab.routers["br1"].config.items("/routing bfd neighbor")  # as the rollout returned
    assert not summary.failed, errors(summary)
    assert [i.values.get("state") for i in bfd] == ["up"]
    report = Verify(VerifyOptions(config=lab.directory / "config.yaml", limit=("br1",), record=False)).run()
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.failures()]
