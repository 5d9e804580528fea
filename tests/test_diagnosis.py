"""Every failure class the lab can inject, against the words `ikefleet verify` reports for it.

One row per lab fault: the words the operator must read (the cause, and the setting or place to look) and
words that would be a wrong diagnosis (a slow login is not a wrong password, a reset is not a timeout).
The timeouts are lowered in the faulted host's inventory data, which also proves the fix the words give.
Connection retries do not sleep here (their backoff is unit-tested in test_connect.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.connection import connector
from ikefleet.lab.manager import Lab

HOST = "br1"


@dataclass(frozen=True)
class Case:
    fault: str
    value: object
    words: tuple[str, ...]  # all in the host's reachability result (none: the host is reached)
    wrong: tuple[str, ...] = ()  # none of these in it
    data: dict[str, int] = field(default_factory=dict)  # the host's inventory data for this run


CASES = {
    "refused": Case("refuse", None, ("connection refused", "gave up after 3 connection attempts"),
                    ("timed out", "reset")),
    "reset-before-handshake": Case(
        "reset-next", 10,
        ("connection reset before the ssh handshake (3 attempts)", "rate limit or maxstartups"),
        ("timed out", "tcp", "password")),
    "wrong-password": Case("bad-password", None, ("authentication failed", "wrong username or password"),
                           ("timed out",)),
    "slow-login": Case("login-delay", 3000,
                       ("login timed out after 1 s (auth_timeout)", "raise auth_timeout", "host's data"),
                       ("wrong username", "password was refused", "gave up"), {"auth_timeout": 1}),
    "dropped": Case("drop-after", 1, ("the ssh session dropped",), ("timed out", "password")),
    "slower-than-command-timeout": Case(
        "latency", 2500, ("no answer within 1 s (command_timeout)", "raise command_timeout"),
        ("dropped", "password", "could not connect"), {"command_timeout": 1}),
    "slow-within-command-timeout": Case("latency", 300, (), data={"command_timeout": 2}),
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("diagnosis") / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connector, "wait", lambda seconds: None)


def host_data(lab: Lab, data: dict[str, int]) -> str:
    """Set the host's inventory data; returns the old hosts.yaml text."""
    path = lab.directory / "inventory" / "hosts.yaml"
    old = path.read_text()
    yaml = YAML()
    hosts = yaml.load(old)
    hosts[HOST].setdefault("data", {}).update(data)
    with path.open("w") as out:
        yaml.dump(hosts, out)
    return old


def reachable(lab: Lab, capsys: pytest.CaptureFixture[str]) -> dict:
    """The host's host.reachable result of a verify run limited to it."""
    lab.settle()
    capsys.readouterr()
    main(["verify", "-c", str(lab.directory / "config.yaml"), "--format", "json", "--no-history",
          "--limit", HOST])
    data = json.loads(capsys.readouterr().out)
    (result,) = [r for r in data["results"] if r["host"] == HOST and r["check"] == "host.reachable"]
    return result


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_each_lab_fault_gets_its_diagnosis(lab: Lab, case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    assert reachable(lab, capsys)["status"] != "error"  # the host key is pinned: the run's own path
    old = host_data(lab, case.data)
    lab.fault(HOST, case.fault, case.value)
    try:
        result = reachable(lab, capsys)
    finally:
        lab.clear_faults(HOST)
        (lab.directory / "inventory" / "hosts.yaml").write_text(old)
    text = json.dumps(result).lower()
    if not case.words:
        assert result["status"] != "error", text
        return
    assert result["status"] == "error"
    assert all(w in text for w in case.words), text
    # The diagnosis is what was observed; the hint is a generic checklist (it names the password among
    # the things to check), so the wrong words are looked for in the observation.
    observed = result["observed"].lower()
    assert not any(w in observed for w in case.wrong), text


def test_diagnosis_table_covers_every_session_fault() -> None:
    """A new lab fault of the SSH session gets a row here (the others are the router's state: wan-down,
    clock-offset, fail-command, mtu, ike-drop, bfd-drop: test_fault_matrix.py and others)."""
    from dataclasses import fields

    from ikefleet.lab.router import Faults

    session = {"refuse", "reset_next", "bad_password", "login_delay_ms", "drop_after", "latency_ms"}
    state = {"wan_down", "clock_offset_s", "fail_command", "fail_error", "mtu", "ike_drop", "bfd_drop"}
    assert {f.name for f in fields(Faults)} <= session | state, "add the new fault to CASES or to `state`"
    assert {c.fault.replace("-", "_") for c in CASES.values()} >= {"refuse", "reset_next", "bad_password",
                                                                    "login_delay", "drop_after", "latency"}
