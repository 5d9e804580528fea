"""Real netmiko and nornir-netmiko against the lab, using the inventory the lab wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from netmiko import BaseConnection, ConnectHandler, file_transfer
from nornir.core.filter import F
from nornir_netmiko.tasks import netmiko_file_transfer, netmiko_send_command, netmiko_send_config

from ikefleet.lab.manager import Lab
from ikefleet.lab.sshd import SessionFactory
from ikefleet.nornir_init import init_nornir

# A RouterBOARD whose persistent storage is `flash/`, which is where netmiko's MikroTik transfer writes.
FLASH_MODEL = "RB750Gr3"


@pytest.fixture(scope="module")
def flash_lab(tmp_path_factory: pytest.TempPathFactory, console: SessionFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("netmiko"), branches=1, model=FLASH_MODEL,
                   session_factory=console, convergence_delay=0.05) as lab:
        yield lab


def connect(lab: Lab, name: str) -> BaseConnection:
    spec = lab.spec(name)
    return ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password, fast_cli=False)


def identity(lab: Lab, name: str) -> str:
    """The router's `/system identity` name (the factory's choice; RouterOS's default is MikroTik)."""
    items = lab.routers[name].config.items("/system identity")
    return items[0].get("name", "MikroTik") if items else "MikroTik"


def has_file_commands(lab: Lab, console: SessionFactory) -> bool:
    """netmiko's transfer reads `system resource print` (free-memory) and `/file print detail`."""
    session = console(lab.routers["hub"], "admin", 511)
    try:
        return "free-memory:" in session.execute("system resource print without-paging")
    finally:
        session.close(dropped=False)


@pytest.fixture(scope="module")
def transfer_lab(
    flash_lab: Lab, fake_console: SessionFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """The real console if it answers netmiko's transfer checks, else the fake: SCP is tested either way."""
    if has_file_commands(flash_lab, flash_lab.session_factory):
        yield flash_lab
        return
    with Lab.start(tmp_path_factory.mktemp("transfer"), branches=1, model=FLASH_MODEL,
                   session_factory=fake_console, convergence_delay=0.05) as lab:
        yield lab


def test_send_command_and_config_set(flash_lab: Lab) -> None:
    conn = connect(flash_lab, "br1")
    try:
        assert conn.base_prompt == f"[admin@{identity(flash_lab, 'br1')}]"
        conn.send_config_set(["/ip address add address=192.0.2.20/24 interface=ether2"])
        out = conn.send_command("/ip address print")
        assert "192.0.2.20/24" in out
        assert "[admin@" not in out  # netmiko stripped echo and prompts
        error = conn.send_command("/frobnicate")
        assert error.startswith("bad command name") and "frobnicate" in error
    finally:
        conn.disconnect()
    values = [i.get("address") for i in flash_lab.routers["br1"].config.items("/ip address")]
    assert "192.0.2.20/24" in values


def test_file_transfer_put_and_get(transfer_lab: Lab, tmp_path: Path) -> None:
    source = tmp_path / "branch1.p12"
    source.write_bytes(bytes(range(256)) * 8)
    conn = connect(transfer_lab, "hub")
    try:
        put = file_transfer(conn, source_file=str(source), dest_file="branch1.p12", direction="put",
                            file_system="flash", overwrite_file=True)
        assert put["file_transferred"] and put["file_verified"]
        back = tmp_path / "back.p12"
        got = file_transfer(conn, source_file="branch1.p12", dest_file=str(back), direction="get",
                            file_system="flash", overwrite_file=True)
        assert got["file_verified"]
    finally:
        conn.disconnect()
    assert transfer_lab.routers["hub"].files.read("flash/branch1.p12") == source.read_bytes()
    assert back.read_bytes() == source.read_bytes()


def test_nornir_netmiko_tasks_with_lab_inventory(flash_lab: Lab) -> None:
    nr = init_nornir(flash_lab.directory / "config.yaml")
    try:
        assert set(nr.inventory.hosts) == {"hub", "br1"}
        assert nr.filter(F(groups__contains="responder")).inventory.hosts.keys() == {"hub"}
        assert nr.inventory.hosts["br1"]["branch_id"] == 1
        result = nr.run(task=netmiko_send_command, command_string="/system identity print")
        assert not result.failed
        for name, multi in result.items():
            assert f"name: {identity(flash_lab, name)}" in multi[0].result
        config = nr.filter(name="br1").run(
            task=netmiko_send_config,
            config_commands=["/ip address add address=192.0.2.30/24 interface=ether3"],
        )
        assert not config.failed
    finally:
        nr.close_connections()
    assert "192.0.2.30/24" in [i.get("address") for i in flash_lab.routers["br1"].config.items("/ip address")]


def test_nornir_netmiko_file_transfer(transfer_lab: Lab, tmp_path: Path) -> None:
    nr = init_nornir(transfer_lab.directory / "config.yaml")
    source = tmp_path / "note.txt"
    source.write_text("lab file\n")
    try:
        put = nr.filter(name="br1").run(task=netmiko_file_transfer, source_file=str(source),
                                        dest_file="note.txt", direction="put", overwrite_file=True)
        assert not put.failed
    finally:
        nr.close_connections()
    assert transfer_lab.routers["br1"].files.read("flash/note.txt") == b"lab file\n"


def test_transfer_to_a_router_without_flash_lands_at_the_root(lab: Lab, tmp_path: Path) -> None:
    """netmiko always addresses `flash/<file>`; a CCR (the lab's default model) has no `flash/` directory."""
    source = tmp_path / "ca.crt"
    source.write_text("-----BEGIN CERTIFICATE-----\n")
    conn = connect(lab, "hub")
    try:
        # (A get cannot work here: netmiko sizes `flash/<file>` before fetching, and there is none.)
        file_transfer(conn, source_file=str(source), dest_file="ca.crt", file_system="flash", direction="put",
                      overwrite_file=True, verify_file=False)
    finally:
        conn.disconnect()
    assert lab.routers["hub"].files.read("ca.crt") == source.read_bytes()
    assert not lab.routers["hub"].files.exists("flash/ca.crt")
