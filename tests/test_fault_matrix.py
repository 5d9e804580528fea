"""Every lab fault against rollout and verify: the run finishes, the other routers are unaffected, the
faulted host's result says what happened in operator words, the exit code is right, and once the fault is
cleared the next run converges.

One small lab (hub + 2 branches) per fault: the faulted router must still have something to push.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.lab.manager import Lab

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class Case:
    """One fault on one router, and the words the operator should read (None: the run still succeeds)."""

    fault: str
    value: object
    router: str
    words: tuple[str, ...] | None
    error: str | None = None


ROLLOUT_CASES = {
    "refused": Case("refuse", None, "br1", ("refused",)),
    "wrong-password": Case("bad-password", None, "br1", ("authentication", "password")),
    "slow-router": Case("latency", 150, "br1", None),
    "dropped-mid-push": Case("drop-after", 12, "br1", ("dropped",)),
    "command-error-mid-push": Case(
        "fail-command", "/ip ipsec peer add", "br1", ("failure: out of memory",), "failure: out of memory"
    ),
    "hub-unreachable": Case("refuse", None, "hub", ("refused",)),
    "wan-cut": Case("wan-down", None, "br1", ("tunnel not up",)),
}

VERIFY_CASES = {
    "refused": Case("refuse", None, "br1", ("refused",)),
    "wrong-password": Case("bad-password", None, "br1", ("authentication",)),
    "slow-router": Case("latency", 150, "br1", None),
    "dropped": Case("drop-after", 0, "br1", ("dropped",)),
    "command-error": Case(
        "fail-command", "print", "br1", ("failure: out of memory",), "failure: out of memory"
    ),
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def rollout(lab: Lab, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    lab.settle()
    config = str(lab.directory / "config.yaml")
    return run_cli(["rollout", "-c", config, "--json", "--gate-timeout", "15"], capsys)


def verify(lab: Lab, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    lab.settle()
    config = str(lab.directory / "config.yaml")
    return run_cli(["verify", "-c", config, "--format", "json", "--no-history"], capsys)


@pytest.mark.parametrize("case", ROLLOUT_CASES.values(), ids=list(ROLLOUT_CASES))
def test_rollout_under_fault(lab: Lab, case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    lab.fault(case.router, case.fault, case.value, error=case.error)
    code, data = rollout(lab, capsys)
    hosts = data["hosts"]
    assert set(hosts) == {"hub", "br1", "br2"}  # the run finished and reported every host
    if case.words is None:
        assert code == EXIT_OK and {h["status"] for h in hosts.values()} == {"changed"}
    else:
        assert code == EXIT_FAILED
        error = hosts[case.router]["error"].lower()
        assert any(w in error for w in case.words), error
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
def test_verify_under_fault(converged: Lab, case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    lab = converged
    lab.fault(case.router, case.fault, case.value, error=case.error)
    code, data = verify(lab, capsys)
    others = [r for r in data["results"] if r["host"] != case.router]
    assert others and all(r["status"] in ("pass", "skip", "warn") for r in others), others
    if case.words is None:
        assert code == EXIT_OK and data["compliant"] is True
    else:
        assert code == EXIT_FAILED and data["compliant"] is False
        mine = [r for r in data["results"] if r["host"] == case.router and r["status"] == "error"]
        text = " ".join(json.dumps(r) for r in mine).lower()
        assert mine and any(w in text for w in case.words), text
    lab.clear_faults(case.router)
    code, data = verify(lab, capsys)
    assert code == EXIT_OK and data["compliant"] is True
