"""Ctrl-C (SIGINT) during a real `ikefleet rollout` / `ikefleet verify` process against a lab.

The signal is sent once the slowed-down branch's push has visibly started (its configuration changed in
the lab), so it lands mid-push: the run must undo that router (safe mode), start no other host, record
what happened in the run directory, exit 130, and the next run must converge. Verify must not print a
report nor record history when interrupted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests_support import fast_keys

from ikefleet.connection.session import Device
from ikefleet.intent import render_host
from ikefleet.interrupt import EXIT_INTERRUPTED, STOP, Stop, sigint_stops
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks.converge import converge
from ikefleet.tasks.device import device
from ikefleet.verify.history import history_path

CERTIFICATES = "/certificate"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("interrupt") / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def configuration(lab: Lab, router: str) -> dict:
    """What a push changes: the stored menus (certificates are handed over before the push, outside it)."""
    for _ in range(20):  # the lab's thread may be changing the dict while we copy it
        try:
            menus = lab.routers[router].config.to_json()["menus"]
            return {p: items for p, items in menus.items() if items and p != CERTIFICATES}
        except RuntimeError:
            time.sleep(0.01)
    raise AssertionError("could not read the lab router's configuration")


def start(lab: Lab, *argv: str) -> subprocess.Popen[str]:
    lab.settle()
    return subprocess.Popen(
        [sys.executable, "-m", "ikefleet", *argv, "-c", str(lab.directory / "config.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str], limit: float = 120
             ) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"never saw {what}")
        time.sleep(0.05)


def rollout(lab: Lab) -> dict:
    lab.settle()
    return Rollout(RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=30.0)).run().to_json()


def latest_run(lab: Lab) -> Path:
    runs = sorted((lab.directory / ".ikefleet" / "runs").iterdir())
    return runs[-1]


def test_sigint_mid_push_undoes_the_router_and_starts_no_other(lab: Lab) -> None:
    before = configuration(lab, "br1")
    lab.fault("br1", "latency", 150)  # ~40 commands: seconds of push to land the signal in
    proc = start(lab, "rollout", "--json", "--canary", "1")  # br1 alone in wave 1, br2 in wave 2
    try:
        wait_for(lambda: configuration(lab, "br1") != before, "br1's push start", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        lab.clear_faults("br1")
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "SIGINT" in err
    lab.settle()
    assert configuration(lab, "br1") == before  # the half-pushed router is as it was
    summary = json.loads(out)
    hosts = summary["hosts"]
    assert summary["interrupted"] is True and "interrupted by SIGINT" in summary["stopped"]
    assert hosts["hub"]["status"] == "changed"
    assert hosts["br1"]["status"] == "interrupted" and "safe mode" in hosts["br1"]["error"]
    assert "restoring failed" not in hosts["br1"]["error"]
    assert hosts["br2"]["status"] == "interrupted" and "not started" in hosts["br2"]["error"]
    assert hosts["br2"]["connect_attempts"] == 1  # only reached before the hub (login, read), never started
    recorded = json.loads((latest_run(lab) / "summary.json").read_text())
    assert recorded["interrupted"] is True
    assert {h: o["status"] for h, o in recorded["hosts"].items()} == {
        "hub": "changed", "br1": "interrupted", "br2": "interrupted"}
    lines = [json.loads(line) for line in (latest_run(lab) / "results.jsonl").read_text().splitlines()]
    assert {line["host"] for line in lines} == {"hub", "br1", "br2"}
    again = rollout(lab)  # the next run converges
    # the hub takes br2 (wave 2, its key made in the background: issue 19.3) just before br2's wave, which
    # the interrupted run never reached: the next run adds it
    assert {h: o["status"] for h, o in again["hosts"].items()} == {
        "hub": "changed", "br1": "changed", "br2": "changed"}, again
    assert {o["status"] for o in rollout(lab)["hosts"].values()} == {"unchanged"}


def test_sigint_during_verify_gives_no_report_and_no_history(lab: Lab) -> None:
    assert {o["status"] for o in rollout(lab)["hosts"].values()} <= {"unchanged", "changed"}
    history = history_path(lab.directory / "config.yaml")
    recorded = history.stat().st_mtime_ns if history.exists() else None
    for name in ("hub", "br1", "br2"):
        lab.fault(name, "latency", 1000)
    lab.handshakes.reset()
    proc = start(lab, "verify", "--format", "json")
    try:
        wait_for(lambda: lab.handshakes.total > 0, "verify connecting", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        for name in ("hub", "br1", "br2"):
            lab.clear_faults(name)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert out == "" and "interrupted by SIGINT" in err and "Traceback" not in err
    assert (history.stat().st_mtime_ns if history.exists() else None) == recorded
    proc = start(lab, "verify", "--format", "json", "--no-history")  # a later run is complete
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["compliant"] is True


def test_second_sigint_aborts_at_once() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with sigint_stops(announce=False) as stop:
        assert isinstance(stop, Stop) and not stop.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set() and stop.claim("r1") and not stop.claim("r1")
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs between bytecodes; never reached
    assert signal.getsignal(signal.SIGINT) is previous and STOP is stop
    STOP.clear()  # the flag is process-wide: later tests in this worker must not start "interrupted"


def drift(lab: Lab, router: str) -> None:
    """Someone removed ikefleet's EoIP tunnel, OSPF and route filters on the router: a dozen items to push."""
    console = Session(lab.routers[router], "admin")
    for menu in ("/routing filter", "/routing ospf interface", "/routing ospf network", "/interface eoip"):
        assert console.execute(f"{menu} remove [find comment=ikefleet]") == ""
    lab.settle()


def wait_until(condition: Callable[[], bool], what: str, limit: float = 15) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def test_second_sigint_mid_push_drops_the_session_undoing_it_and_records_every_host(lab: Lab) -> None:
    rollout(lab)
    drift(lab, "br1")
    drift(lab, "br2")  # (a converged branch would be in no wave: judged and done before the first)
    before = configuration(lab, "br1")
    lab.fault("br1", "latency", 1500)  # each console line takes 1.5 s: both signals land inside one
    proc = start(lab, "rollout", "--json", "--canary", "1")  # br1 alone in wave 1, br2 in wave 2
    try:
        wait_for(lambda: configuration(lab, "br1") != before, "br1's push start", proc)
        time.sleep(0.3)  # its next line (or the post-check) is on its way: both signals land while it runs
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        lab.clear_faults("br1")
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    wait_until(lambda: configuration(lab, "br1") == before, "br1 back as it was (the drop undoes safe mode)")
    hosts = json.loads(out)["hosts"]
    assert hosts["br1"]["status"] == "interrupted"
    assert "safe-mode changes undone by dropping the session" in hosts["br1"]["error"]
    assert hosts["br2"]["status"] == "interrupted" and "not started" in hosts["br2"]["error"]
    recorded = json.loads((latest_run(lab) / "summary.json").read_text())
    assert recorded["interrupted"] is True
    assert {h: o["status"] for h, o in recorded["hosts"].items()} == {
        "hub": "unchanged", "br1": "interrupted", "br2": "interrupted"}
    lines = [json.loads(line) for line in (latest_run(lab) / "results.jsonl").read_text().splitlines()]
    assert {line["host"]: line["status"] for line in lines} == {
        "hub": "unchanged", "br1": "interrupted", "br2": "interrupted"}
    assert {o["status"] for o in rollout(lab)["hosts"].values()} <= {"unchanged", "changed"}
    assert configuration(lab, "br1") != before  # the next run converges


PROBE = "/interface bridge add name=probe comment=probe"


def _probe_in_safe_mode(task: Any) -> None:
    dev = device(task)
    dev.enter_safe_mode()
    dev.send(PROBE)


def test_closing_a_session_in_safe_mode_undoes_it(lab: Lab) -> None:
    """Nornir's close_connections (netmiko's disconnect sends `quit`) on a session holding safe mode."""
    before = configuration(lab, "br2")
    nr = init_nornir(lab.directory / "config.yaml").filter(name="br2")
    result = nr.run(task=_probe_in_safe_mode)
    assert not result.failed, result["br2"][0].exception
    assert configuration(lab, "br2") != before
    nr.close_connections()
    wait_until(lambda: configuration(lab, "br2") == before, "the probe undone")


def test_an_exception_during_a_push_undoes_its_window(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even one no task catches (a Ctrl-C reaching the pushing thread) ends the window with Ctrl-D."""
    rollout(lab)
    drift(lab, "br2")
    before = configuration(lab, "br2")
    plan = Rollout(RolloutOptions(lab.directory / "config.yaml"))
    script = render_host(plan.fleet, plan.plan, "br2")
    sent = Device.send

    def send_then_interrupted(self: Device, command: str) -> str:
        out = sent(self, command)
        if self.in_safe_mode:
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(Device, "send", send_then_interrupted)
    nr = init_nornir(lab.directory / "config.yaml").filter(name="br2")
    try:
        with pytest.raises(KeyboardInterrupt):
            nr.run(task=converge, intended_script=script)
        wait_until(lambda: configuration(lab, "br2") == before, "the window undone")
    finally:
        nr.close_connections()
    monkeypatch.undo()
    assert rollout(lab)["hosts"]["br2"]["status"] == "changed"


# Modules the command line loads, in order: once one is loaded (Python's -X importtime reports it) a Ctrl-C
# lands in the loading of the command line itself, in its command's modules, in the command's work or exit.
LOADED = ("ikefleet.cli", "ikefleet.fleet", "ikefleet.inventory", "ikefleet.parsers.table")


@pytest.mark.parametrize("loaded", LOADED)
def test_sigint_outside_a_run_prints_one_line_and_exits_130(loaded: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "ikefleet", "plan", "-c", str(ROOT / "config.yaml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line.rstrip("\n"))
        if re.search(rf"\|\s+{re.escape(loaded)}$", seen[-1]):
            proc.send_signal(signal.SIGINT)
            break
    else:
        raise AssertionError(f"{loaded} was never loaded: {seen[-5:]}")
    _, err = proc.communicate(timeout=120)
    said = [line for line in [*seen, *err.splitlines()] if not line.startswith("import time:")]
    assert said == ["interrupted"]
    assert proc.returncode == EXIT_INTERRUPTED


def test_the_ikefleet_command_enters_where_ctrl_c_is_handled_while_loading() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="ikefleet")
    assert script.value == "ikefleet.__main__:run"
