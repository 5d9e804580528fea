"""Every lab fault against rollout and verify: the run finishes, the other routers are unaffected, the
faulted host's result says what happened in operator words, the exit code is right, and once the fault is
cleared the next run converges.

One small lab (hub + 2 branches) per fault: the faulted router must still have something to push.
Connection retries do not sleep here (their backoff is unit-tested in test_connect.py): a router that
"comes back mid-run" is switched back on by the lab during the run's first backoff wait.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.connection import connector
from ikefleet.lab.manager import Lab
from ikefleet.processors.events import Event, WaveStarted

EXIT_OK, EXIT_FAILED = 0, 1
CLOCK_BEHIND_S = 50_000_000  # ~579 days
OK = ("pass", "skip", "warn")


@dataclass(frozen=True)
class Case:
    """One fault on one router, and the words the operator should read (None: the run still succeeds)."""

    fault: str
    value: object
    router: str
    words: tuple[str, ...] | None
    error: str | None = None
    back_after_retry: bool = False  # the router comes back while the run waits to retry it
    hub_sees: bool = False  # the fault takes the tunnel down: the hub's checks of this branch fail too


ROLLOUT_CASES = {
    "refused": Case("refuse", None, "br1", ("connection refused", "gave up after 3 connection attempts")),
    "wrong-password": Case("bad-password", None, "br1", ("authentication", "password")),
    "slow-router": Case("latency", 150, "br1", None),
    "dropped-mid-push": Case("drop-after", 12, "br1", ("dropped",)),
    "command-error-mid-push": Case(
        "fail-command", "/ip ipsec peer add", "br1", ("failure: out of memory",), "failure: out of memory"
    ),
    "hub-unreachable": Case("refuse", None, "hub", ("connection refused", "after 3 connection attempts")),
    "wan-cut": Case("wan-down", None, "br1", ("gate failed", "ike.peer", "put back to before this run")),
    # a branch that booted without its clock (no RTC, NTP not yet configured): 1.6 years behind, so the
    # certificates the hub just issued are not yet valid in its eyes and IKE_AUTH fails
    "clock-wrong": Case("clock-offset", -CLOCK_BEHIND_S, "br1", ("579 days behind", "not yet valid")),
    "back-mid-run": Case("refuse", None, "br1", None, back_after_retry=True),
}

VERIFY_CASES = {
    "refused": Case("refuse", None, "br1", ("connection refused", "after 3 connection attempts")),
    "wrong-password": Case("bad-password", None, "br1", ("authentication",)),
    "slow-router": Case("latency", 150, "br1", None),
    "dropped": Case("drop-after", 0, "br1", ("dropped",)),
    "command-error": Case(
        "fail-command", "print", "br1", ("failure: out of memory",), "failure: out of memory"
    ),
    "clock-wrong": Case("clock-offset", -CLOCK_BEHIND_S, "br1", ("clock is", "not yet valid"), hub_sees=True),
    "back-mid-run": Case("refuse", None, "br1", None, back_after_retry=True),
}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Connection backoff waits, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(connector, "wait", recorded.append)
    return recorded


def comes_back(monkeypatch: pytest.MonkeyPatch, lab: Lab, router: str) -> list[float]:
    """The router's faults are cleared during the run's first backoff wait (it was down, it is back)."""
    recorded: list[float] = []

    def wait(seconds: float) -> None:
        if not recorded:
            lab.clear_faults(router)
        recorded.append(seconds)

    monkeypatch.setattr(connector, "wait", wait)
    return recorded


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


STDERR: list[str] = [""]  # the last run's progress lines


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(argv)
    out, STDERR[0] = capsys.readouterr()
    return code, json.loads(out)


def rollout(lab: Lab, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    lab.settle()
    config = str(lab.directory / "config.yaml")
    # --max-fail 1: the faulted host fails alone (without it, its failure stops the later waves)
    return run_cli(["rollout", "-c", config, "--json", "--gate-timeout", "15", "--max-fail", "1"], capsys)


def verify(lab: Lab, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    lab.settle()
    config = str(lab.directory / "config.yaml")
    return run_cli(["verify", "-c", config, "--format", "json", "--no-history"], capsys)


@pytest.mark.parametrize("case", ROLLOUT_CASES.values(), ids=list(ROLLOUT_CASES))
def test_rollout_under_fault(
    lab: Lab, case: Case, capsys: pytest.CaptureFixture[str], waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab.fault(case.router, case.fault, case.value, error=case.error)
    if case.back_after_retry:
        waits = comes_back(monkeypatch, lab, case.router)
    code, data = rollout(lab, capsys)
    hosts = data["hosts"]
    assert set(hosts) == {"hub", "br1", "br2"}  # the run finished and reported every host
    if case.back_after_retry:  # reached by the retry: one refused attempt, one that worked
        assert hosts[case.router]["connect_attempts"] == 2 and len(waits) == 1
        assert f"{case.router}: reached after 2 connection attempts" in STDERR[0]
    if case.words is None:
        assert code == EXIT_OK and {h["status"] for h in hosts.values()} == {"changed"}
    else:
        assert code == EXIT_FAILED
        error = hosts[case.router]["error"].lower()
        assert all(w in error for w in case.words), error
        assert "traceback" not in error
        if case.router != "hub":  # the others are unaffected
            assert hosts["hub"]["status"] == hosts["br2"]["status"] == "changed"
        else:  # no branch is pushed against a hub that was not converged
            assert all(hosts[b]["status"] != "changed" for b in ("br1", "br2")), hosts
    lab.clear_faults(case.router)
    code, data = rollout(lab, capsys)
    assert code == EXIT_OK, {h: o["error"] for h, o in data["hosts"].items() if o.get("error")}
    code, data = rollout(lab, capsys)
    assert code == EXIT_OK and {h["status"] for h in data["hosts"].values()} == {"unchanged"}


@pytest.fixture
def converged(lab: Lab, capsys: pytest.CaptureFixture[str]) -> Lab:
    code, data = rollout(lab, capsys)
    assert code == EXIT_OK, data
    return lab


def _reachable(data: dict) -> dict[str, dict]:
    return {r["host"]: r for r in data["results"] if r["check"] == "host.reachable"}


@pytest.mark.parametrize("case", VERIFY_CASES.values(), ids=list(VERIFY_CASES))
def test_verify_under_fault(
    converged: Lab, case: Case, capsys: pytest.CaptureFixture[str], waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = converged
    lab.fault(case.router, case.fault, case.value, error=case.error)
    if case.back_after_retry:
        waits = comes_back(monkeypatch, lab, case.router)
    code, data = verify(lab, capsys)
    if case.back_after_retry:
        assert len(waits) == 1
    others = [r for r in data["results"] if r["host"] != case.router]
    if case.hub_sees:  # the hub's view of this branch's tunnel fails (and the fleet's counts); nothing else
        hub = [r for r in others if r["host"] == "hub" and r["status"] not in OK]
        assert hub and all(r["subject"] == case.router for r in hub), hub
        others = [r for r in others if r not in hub and r["host"] != "fleet"]
    bad = [(r["host"], r["check"], r["observed"]) for r in others if r["status"] not in OK]
    assert others and not bad, bad
    if case.words is None:
        assert code == EXIT_OK and data["compliant"] is True
    else:
        assert code == EXIT_FAILED and data["compliant"] is False
        mine = [r for r in data["results"] if r["host"] == case.router and r["status"] in ("error", "fail")]
        text = " ".join(json.dumps(r) for r in mine).lower()
        assert mine and all(w in text for w in case.words), text
    lab.clear_faults(case.router)
    code, data = verify(lab, capsys)
    assert code == EXIT_OK and data["compliant"] is True


def test_branch_back_only_after_its_wave(lab: Lab, waits: list[float]) -> None:
    """br1 is down when the run reaches every branch before the hub (every retry refused) and back while
    br2's wave runs: within --max-fail the run goes on without it, br1's result says it was unreachable and
    how often it was tried, and the next run converges it."""
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions
    from ikefleet.waves import Amount

    def progress(event: Event) -> None:
        if isinstance(event, WaveStarted) and event.number == 1:
            lab.clear_faults("br1")

    lab.fault("br1", "refuse")
    lab.settle()
    options = RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=15.0, max_fail=Amount(1, False))
    summary = Rollout(options, progress=progress).run()
    assert summary.waves == [["br2"]] and summary.failed == ["br1"]
    error = summary.hosts["br1"].error
    assert "connection refused" in error and "gave up after 3 connection attempts" in error, error
    assert summary.attempts["br1"] == 3 and len(waits) == 2
    assert summary.hosts["hub"].status == summary.hosts["br2"].status == "changed"
    again = Rollout(options).run()
    assert {h: o.status for h, o in again.hosts.items()} == {"hub": "unchanged", "br1": "changed",
                                                             "br2": "unchanged"}
    assert again.attempts["br1"] == 1
