"""The gather task: one round trip when RouterOS takes the batch line, one per read when it refuses it,
and 'could not check' (never an exception) when the router cannot be reached."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from recorded import raw

from ikefleet.connection.session import DeviceError
from ikefleet.routeros.console import split_sections
from ikefleet.verify.gather import COMMANDS

gather_task = importlib.import_module("ikefleet.tasks.gather")  # the module (the package exports the task)


class FakeDevice:
    def __init__(self, host: str, refuse: str | None = None) -> None:
        self.host, self.refuse, self.sent = host, refuse, []  # type: ignore[var-annotated]
        self.parts = split_sections(raw(host))

    def send(self, command: str) -> str:
        self.sent.append(command)
        if self.refuse and self.refuse in command:
            raise DeviceError(self.host, command, "failure: simulated")
        if command.startswith(":put"):
            return raw(self.host)
        name = next(n for n, c in COMMANDS.items() if c == command)
        return self.parts[name]


def run(monkeypatch: pytest.MonkeyPatch, dev: Any) -> Any:
    monkeypatch.setattr(gather_task, "device", lambda task: dev)
    task = SimpleNamespace(host=SimpleNamespace(name=dev.host if dev else "br1"))
    return gather_task.gather(task).result  # type: ignore[arg-type]


def test_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = FakeDevice("br1")
    state = run(monkeypatch, dev)
    # the run's one RouterOS version read, then every section in one batch line
    assert len(dev.sent) == 2 and state.reachable and not state.problems and state.read_at


def test_refused_batch_reads_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = FakeDevice("br2", refuse="routing bfd")
    state = run(monkeypatch, dev)
    assert len(dev.sent) == 2 + len(COMMANDS)  # the version read, the refused batch, one per command
    assert set(state.problems) == {"bfd"} and "simulated" in state.problems["bfd"]
    assert state.get("eoip")[0]["tunnel_id"] == 2


def test_unreachable_router_is_a_state_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(task: Any) -> Any:
        raise ConnectionRefusedError(111, "Connect call failed")

    monkeypatch.setattr(gather_task, "device", refuse)
    state = gather_task.gather(SimpleNamespace(host=SimpleNamespace(name="br3"))).result  # type: ignore[arg-type]
    assert not state.reachable and "connection refused" in state.error  # operator words


@pytest.mark.parametrize("major", [6, 7])
def test_an_error_reply_is_its_sections_problem_as_printed(major: int) -> None:
    """Every section but the log and the configuration: an error reply (as PE2 printed one) is that
    section's problem, its line as printed, and the other sections are read."""
    from ikefleet.verify.gather import parse_sections

    reply = "[admin@PE2] > forwarding-table print\nbad command name forwarding-table (line 1 column 1)\n"
    good = split_sections(raw("br1"))
    for name in COMMANDS:
        if name in ("log", "config"):
            continue
        state = parse_sections("br1", {**good, name: reply}, major)
        assert state.problems.get(name) == "bad command name forwarding-table (line 1 column 1)", name
        assert name not in state.sections
        assert "eoip" in state.sections or name == "eoip"
