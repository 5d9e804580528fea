"""Another session holds safe mode on a router (a second config directory's run, an operator): RouterOS
asks the next Ctrl-X to hijack it. ikefleet answers `d`, stops the host, names who is logged in, changes
nothing."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko
import pytest
from tests_support import fast_keys

from ikefleet.connection.session import Device, safe_mode
from ikefleet.intent import render_host
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks.converge import converge

converging = importlib.import_module("ikefleet.tasks.converge")  # the module (the package exports the task)

OTHERS_CHANGE = "192.0.2.77/32"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("held") / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def rollout(lab: Lab, *limit: str) -> dict:
    lab.settle()
    options = RolloutOptions(lab.directory / "config.yaml", limit=limit, gate_timeout_s=30.0)
    return Rollout(options).run().to_json()


def read_until(chan: paramiko.Channel, end: bytes, limit: float = 10) -> bytes:
    data, deadline = b"", time.monotonic() + limit
    while not data.endswith(end) and time.monotonic() < deadline:
        if chan.recv_ready():
            data += chan.recv(65536)
        else:
            time.sleep(0.01)
    return data


@contextmanager
def other_session(lab: Lab, host: str = "br1") -> Iterator[tuple[paramiko.Channel, bytes]]:
    """An operator's SSH console on `host` (its channel and its safe-mode prompt); closing it is a drop."""
    spec = lab.spec(host)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(spec.host, spec.port, username=spec.username + "+ct80w", password=spec.password,
                   look_for_keys=False, allow_agent=False, timeout=10)
    try:
        shell = client.invoke_shell(width=120)
        name = lab.routers[host].config.items("/system identity")[0].get("name")
        read_until(shell, f"[admin@{name}] > ".encode())
        yield shell, f"[admin@{name}] <SAFE> ".encode()
    finally:
        client.close()


def addresses(lab: Lab) -> list[str]:
    return [i.get("address") for i in lab.routers["br1"].config.items("/ip address")]


def test_safe_mode_held_by_another_session_fails_the_host_and_changes_nothing(lab: Lab) -> None:
    assert {o["status"] for o in rollout(lab)["hosts"].values()} == {"changed"}
    router = lab.routers["br1"]
    console = Session(router, "admin")  # drift: the next run has a push to make on br1
    assert console.execute("/interface eoip remove [find comment=ikefleet]") == ""
    with other_session(lab) as (shell, safe):
        shell.send(b"\x18")
        read_until(shell, safe)
        shell.send(f"/ip address add address={OTHERS_CHANGE} interface=ether1\r\n".encode())
        read_until(shell, safe + b"\r" + safe)
        lab.settle()
        before, files = router.config.to_json(), router.files.names()

        summary = rollout(lab, "br1")

        br1 = summary["hosts"]["br1"]
        assert br1["status"] == "failed" and br1["commands"] == 0, br1
        assert "another session holds safe mode" in br1["error"]
        assert "answered RouterOS's hijack prompt with 'd'" in br1["error"]
        named = r"logged in besides this run: admin from 127\.0\.0\.1 via ssh since \S+ [\d:]{8};"
        assert re.search(named, br1["error"]), br1["error"]
        assert br1["error"].endswith("; nothing changed here")
        lab.settle()
        assert router.config.to_json() == before and router.files.names() == files  # nothing applied
        assert not (lab.directory / summary["run_dir"] / "backups" / "br1.backup").exists()
        shell.send(b"/ip address print\r\n")  # the other session still holds safe mode, its change in place
        assert read_until(shell, safe + b"\r" + safe).endswith(safe)
        assert OTHERS_CHANGE in addresses(lab)
    # its drop: RouterOS undoes its window
    deadline = time.monotonic() + 10
    while OTHERS_CHANGE in addresses(lab) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert OTHERS_CHANGE not in addresses(lab)
    assert rollout(lab, "br1")["hosts"]["br1"]["status"] == "changed"  # free again: the next run converges


def configuration(lab: Lab) -> dict:
    menus = lab.routers["br1"].config.to_json()["menus"]
    return {p: items for p, items in menus.items() if items and p != "/certificate"}


def test_a_push_refused_after_another_runs_push_leaves_that_work_in_place(lab: Lab) -> None:
    """Our read came before another run's push (released before our Ctrl-X): our stale diff is refused in
    the first window, RouterOS undoes that window, and the restore must not push the other run's work back."""
    assert {o["status"] for o in rollout(lab)["hosts"].values()} <= {"changed", "unchanged"}
    console = Session(lab.routers["br1"], "admin")
    assert console.execute("/interface eoip remove [find comment=ikefleet]") == ""
    stale = console.execute("/export terse hide-sensitive")  # this run's read
    assert rollout(lab, "br1")["hosts"]["br1"]["status"] == "changed"  # the other run puts the tunnel back
    lab.settle()
    theirs = configuration(lab)
    plan = Rollout(RolloutOptions(lab.directory / "config.yaml"))
    nr = init_nornir(lab.directory / "config.yaml").filter(name="br1")
    try:
        result = nr.run(task=converge, intended_script=render_host(plan.fleet, plan.plan, "br1"),
                        config_text=stale)
    finally:
        nr.close_connections()
    outcome = result["br1"][0].result
    assert outcome.status == "failed" and "already have" in outcome.error, outcome
    assert "NOT put back" in outcome.error and "changed by another session" in outcome.error
    assert outcome.put_back.startswith("NOT put back: after the undo 1 item(s) differ: ")
    lab.settle()
    assert configuration(lab) == theirs


def test_safe_mode_taken_between_two_windows_stops_the_push_without_a_restore(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session takes safe mode after our first window was released: the second window is not
    taken, and what the first released stays (a restore would need safe mode, and would push back the
    other session's changes with ours), said in the host's error."""
    assert {o["status"] for o in rollout(lab)["hosts"].values()} <= {"changed", "unchanged"}
    router = lab.routers["br1"]
    console = Session(router, "admin")
    assert console.execute("/interface eoip remove [find comment=ikefleet]") == ""
    assert console.execute("/routing filter remove [find comment=ikefleet]") == ""
    lab.settle()
    released = Device.leave_safe_mode
    with other_session(lab) as (shell, safe):

        def leave_then_someone_takes_it(self: Device) -> None:
            released(self)
            state = safe_mode(self.connection)
            if self.host == "br1" and state is not None and state.released == 1 and not taken:
                taken.append(True)
                shell.send(b"\x18")  # the other session takes safe mode now
                read_until(shell, safe)

        taken: list[bool] = []
        monkeypatch.setattr(Device, "leave_safe_mode", leave_then_someone_takes_it)
        monkeypatch.setattr(converging, "SAFE_MODE_BATCH", 1)  # one command per window
        br1 = rollout(lab, "br1")["hosts"]["br1"]
        assert taken and br1["status"] == "failed", br1
        assert "another session holds safe mode" in br1["error"]
        assert "1 safe-mode window(s) released before it stay: run again" in br1["error"]
        assert "nothing changed here" not in br1["error"] and "restor" not in br1["error"]
        assert router.safe_mode_holder is not None  # the other session's safe mode was not taken over
    monkeypatch.undo()
    deadline = time.monotonic() + 10  # its drop ends its safe mode once the lab has seen the close
    while router.safe_mode_holder is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rollout(lab, "br1")["hosts"]["br1"]["status"] == "changed"


def present(router: object, address: str) -> bool:
    return any(i.get("address") == address for i in router.config.items("/ip address"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", ["initiator", "responder"])
def test_a_session_whose_safe_mode_change_looks_converged_is_not_settled(lab: Lab, role: str) -> None:
    """A killed run's session still open (RouterOS is running its last command) holds safe mode, and its
    change is what the intent wants: read now, the router looks converged, and RouterOS undoes the change
    when that session ends. The next run must not call the router unchanged (the soak's run 9 of seed
    20261206): it takes safe mode before it reads, and fails the host while the other session holds it."""
    assert {o["status"] for o in rollout(lab)["hosts"].values()} <= {"changed", "unchanged"}
    name = next(n for n, r in lab.routers.items() if r.spec.role == role)
    router = lab.routers[name]
    item = next(i for i in router.config.items("/ip address") if i.comment == "ikefleet")
    address = str(item.get("address"))
    console = Session(router, "admin")
    assert console.execute(f"/ip address remove [find address=\"{address}\"]") == ""
    lab.settle()
    with other_session(lab, name) as (shell, safe):
        shell.send(b"\x18")
        read_until(shell, safe)
        shell.send(f"/ip address add address={address} interface={item.get('interface')} comment=ikefleet\r\n"
                   .encode())
        read_until(shell, safe + b"\r" + safe)
        lab.settle()
        assert present(router, address)  # converged, as far as a read can tell

        outcome = rollout(lab, name)["hosts"][name]

        assert outcome["status"] == "failed" and outcome["commands"] == 0, outcome
        assert "another session holds safe mode" in outcome["error"], outcome
    deadline = time.monotonic() + 10  # its drop: RouterOS undoes the window, the address is gone again
    while present(router, address):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rollout(lab, name)["hosts"][name]["status"] == "changed"  # free again: the next run puts it back
    lab.settle()
    assert present(router, address)
