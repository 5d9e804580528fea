"""Lab manager: address plan, inventory, persistence, faults, fabric hook, and the `ikefleet lab` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_network
from pathlib import Path
from typing import Any

import paramiko
import pytest
from ruamel.yaml import YAML

from ikefleet.lab import manager
from ikefleet.lab.manager import MAX_BRANCHES, Lab, apply_fault, lan_prefix, management_host, wan_address
from ikefleet.lab.router import Faults, Router
from ikefleet.lab.sshd import SessionFactory

DOC_RANGES = [ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def test_address_plan_is_unique_and_in_reserved_ranges() -> None:
    n = MAX_BRANCHES
    hosts = {management_host(77, i) for i in range(n + 1)}
    wans = [IPv4Interface(wan_address(i)) for i in range(n + 1)]
    lans = [IPv4Network(lan_prefix(i)) for i in range(n + 1)]
    assert len(hosts) == len({w.ip for w in wans}) == len(set(lans)) == n + 1
    assert "127.0.0.1" not in hosts and all(IPv4Address(h).is_loopback for h in hosts)
    # documentation ranges first (759 branches), then the RFC 2544 benchmarking range for big labs
    assert all(any(w.ip in r for r in DOC_RANGES) for w in wans[: manager.DOCUMENTATION_BRANCHES + 1])
    assert all(w.ip in ip_network("198.18.0.0/15") for w in wans[manager.DOCUMENTATION_BRANCHES + 1 :])
    assert wan_address(760) == "198.18.0.2/24" and wan_address(1013) == "198.18.1.2/24"
    assert wan_address(0) == "203.0.113.1/24" and lan_prefix(0) == "192.168.1.0/24"
    assert lan_prefix(3) == "192.168.4.0/24" and lan_prefix(254) == "10.128.0.0/24"
    with pytest.raises(ValueError):
        wan_address(n + 1)


def test_apply_fault_parses_values() -> None:
    faults = apply_fault(Faults(), "latency", "250")
    assert faults.latency_ms == 250
    faults = apply_fault(faults, "fail-command", "^/ip ipsec", "failure: simulated")
    assert (faults.fail_command, faults.fail_error) == ("^/ip ipsec", "failure: simulated")
    assert apply_fault(faults, "wan-down").wan_down is True
    assert apply_fault(faults, "clock-offset", "-3600").clock_offset_s == -3600
    with pytest.raises(ValueError):
        apply_fault(faults, "explode")
    with pytest.raises(ValueError):
        apply_fault(faults, "mtu")


def test_inventory_written_for_the_main_job(fake_lab: Lab) -> None:
    yaml = YAML(typ="safe")
    hosts = yaml.load((fake_lab.directory / "inventory" / "hosts.yaml").read_text())
    assert set(hosts) == {"hub", "br1", "br2"}
    assert hosts["hub"]["groups"] == ["responder"] and "branch_id" not in hosts["hub"]["data"]
    assert hosts["br2"]["groups"] == ["initiators"] and hosts["br2"]["data"]["branch_id"] == 2
    for name, host in hosts.items():
        spec = fake_lab.spec(name)
        assert (host["hostname"], host["port"]) == (spec.host, spec.port)
        assert host["data"]["wan_address"] == spec.wan_address
        assert host["data"]["lan_prefixes"] == [spec.lan_prefix]
        assert "password" not in host
    text = "".join(p.read_text() for p in (fake_lab.directory / "inventory").glob("*.yaml"))
    assert fake_lab.spec("hub").password not in text
    secrets_file = fake_lab.directory / "secrets.yaml"
    assert secrets_file.stat().st_mode & 0o077 == 0
    assert yaml.load(secrets_file.read_text())["password"] == fake_lab.spec("hub").password


def test_inventory_loads_with_the_inventory_model(fake_lab: Lab) -> None:
    from ikefleet.inventory import load_inventory

    fleet = load_inventory(fake_lab.directory / "config.yaml")
    sites = {s.name: s for s in fleet.sites}
    assert sites["hub"].role == "responder" and sites["br1"].branch_id == 1
    assert str(sites["br2"].wan_address) == fake_lab.spec("br2").wan_address


def test_status_lists_routers_and_faults(fake_lab: Lab) -> None:
    fake_lab.fault("br1", "mtu", 1400)
    try:
        rows = {r["name"]: r for r in fake_lab.status()}
        assert rows["br1"]["faults"] == {"mtu": 1400} and rows["hub"]["faults"] == {}
        assert rows["hub"]["role"] == "responder" and rows["br1"]["role"] == "initiator"
        assert fake_lab.routers["br1"].faults.mtu == 1400
    finally:
        fake_lab.clear_faults("br1")
    assert fake_lab.routers["br1"].faults == Faults()


def test_fabric_hook_runs_once_after_quiet_period(
    tmp_path: Path, fake_console: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], datetime]] = []

    def recompute(routers: list[Router], now: datetime) -> None:
        calls.append(([r.name for r in routers], now))

    monkeypatch.setattr(manager, "_fabric_recompute", lambda: recompute)
    # A long delay: nothing can fire on its own during the test; settle() runs what is pending.
    with Lab.start(tmp_path, branches=2, session_factory=fake_console, convergence_delay=3600,
                   control_socket=False) as lab:
        lab.settle()
        calls.clear()
        router = lab.routers["br1"]
        router.config.add("/ip address", {"address": "192.0.2.40/24", "interface": "ether1"})
        router.changed()
        router.changed()
        lab.fault("br2", "wan-down")
        assert calls == []
        lab.settle()
        assert len(calls) == 1 and sorted(calls[0][0]) == ["br1", "br2", "hub"]
        saved = json.loads(router.config_path.read_text())
        assert "192.0.2.40/24" in [i["values"]["address"] for i in saved["config"]["menus"]["/ip address"]]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ikefleet", "lab", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def _identity(lab: Lab, name: str) -> str:
    items = lab.routers[name].config.items("/system identity")
    return items[0].get("name", "MikroTik") if items else "MikroTik"


def _rename(row: dict[str, Any], identity: str) -> None:
    """Change a router's identity over SSH, as a user of the running lab would."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(row["address"], row["port"], username=row["username"], password=row["password"],
                   look_for_keys=False, allow_agent=False, timeout=30)
    try:
        _, stdout, _ = client.exec_command(f"/system identity set name={identity}")
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_cli_up_status_fault_down_and_persistence(tmp_path: Path) -> None:
    lab_dir = tmp_path / "mylab"
    up = _cli("up", "--branches", "2", "--dir", str(lab_dir), cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        status = _cli("status", "--json", "--dir", str(lab_dir), cwd=tmp_path)
        rows: list[dict[str, Any]] = json.loads(status.stdout)
        assert [r["name"] for r in rows] == ["hub", "br1", "br2"]
        password = rows[0]["password"]
        assert password not in up.stdout  # only status --json shows the password
        assert all(r["port"] > 0 and r["version"] == "6.49.2" for r in rows)
        assert _cli("up", "--dir", str(lab_dir), cwd=tmp_path).returncode == 2  # already running
        fault = _cli("fault", "br1", "latency", "150", "--dir", str(lab_dir), cwd=tmp_path)
        assert fault.returncode == 0, fault.stderr
        text = _cli("status", "--dir", str(lab_dir), cwd=tmp_path).stdout
        assert "latency=150" in text and password not in text
        assert _cli("fault", "br9", "refuse", "--dir", str(lab_dir), cwd=tmp_path).returncode == 2
        assert _cli("fault", "br1", "--clear", "--dir", str(lab_dir), cwd=tmp_path).returncode == 0
        _rename(rows[2], "renamed-over-ssh")
    finally:
        down = _cli("down", "--dir", str(lab_dir), cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert _cli("status", "--dir", str(lab_dir), cwd=tmp_path).returncode == 2
    # The change made over SSH while the lab ran survives down/up; addresses and credentials stay.
    with Lab.start(lab_dir, control_socket=False) as lab:
        assert lab.spec("hub").password == password
        assert lab.spec("br1").host == rows[1]["address"]
        assert _identity(lab, "br2") == "renamed-over-ssh"


def test_default_lab_directory_and_three_branches(tmp_path: Path) -> None:
    up = _cli("up", cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        assert (tmp_path / "lab" / "inventory" / "hosts.yaml").exists()
        rows = json.loads(_cli("status", "--json", cwd=tmp_path).stdout)
        assert [r["name"] for r in rows] == ["hub", "br1", "br2", "br3"]
    finally:
        assert _cli("down", cwd=tmp_path).returncode == 0


def test_control_socket_requests(fake_lab: Lab) -> None:
    from ikefleet.lab.control import ControlError, request

    answer = request(fake_lab.directory, {"op": "status"})
    assert [r["name"] for r in answer["routers"]] == ["hub", "br1", "br2"]
    request(fake_lab.directory, {"op": "fault", "router": "br2", "fault": "clock-offset", "value": "90"})
    assert fake_lab.routers["br2"].faults.clock_offset_s == 90
    request(fake_lab.directory, {"op": "fault", "router": "br2", "fault": "ike-drop"})
    assert fake_lab.routers["br2"].faults.ike_drop is True
    request(fake_lab.directory, {"op": "clear", "router": "br2"})
    assert fake_lab.routers["br2"].faults == Faults()
    for bad in ({"op": "explode"}, {"op": "fault", "router": "nope", "fault": "refuse"},
                {"op": "fault", "router": "br1", "fault": "latency"}):
        with pytest.raises(ControlError):
            request(fake_lab.directory, bad)
    with pytest.raises(ControlError):
        request(fake_lab.directory / "elsewhere", {"op": "status"})
