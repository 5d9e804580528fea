"""Loading the fleet from Nornir SimpleInventory files into typed, frozen data."""

from __future__ import annotations

import dataclasses
import os
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, hub, seed_hosts, write_inventory

from ikefleet.inventory import Fleet, load_inventory, nornir_options, read_config
from ikefleet.nornir_init import init_nornir

REPO = Path(__file__).resolve().parents[1]


def test_example_inventory_at_repo_root_loads() -> None:
    fleet = load_inventory(REPO / "config.yaml")
    assert fleet.hub.is_hub
    assert [b.branch_id for b in fleet.branches] == sorted(b.branch_id for b in fleet.branches)
    assert all(not b.is_hub for b in fleet.branches)
    assert fleet.defaults.crypto.proposal.pfs_group == "modp4096"


def test_seed_inventory_is_typed(tmp_path: Path) -> None:
    fleet = load_inventory(write_inventory(tmp_path))
    assert isinstance(fleet, Fleet)
    assert fleet.hub.name == "R1"
    assert fleet.hub.wan_address == IPv4Interface("203.0.113.1/24")
    (r2,) = fleet.branches
    assert r2.name == "R2" and r2.branch_id == 1 and r2.role == "initiator"
    assert r2.lan_prefixes == (IPv4Network("192.168.2.0/24"),)
    assert r2.effective_router_id == IPv4Address("192.168.2.1")
    assert r2.port == 2202 and r2.hostname == "127.0.0.1"


def test_fleet_is_frozen(tmp_path: Path) -> None:
    fleet = load_inventory(write_inventory(tmp_path))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fleet.hub.branch_id = 3  # type: ignore[misc]


def test_seed_durations_normalised_to_export_form(tmp_path: Path) -> None:
    crypto = load_inventory(write_inventory(tmp_path)).defaults.crypto
    assert crypto.proposal.lifetime == "30m"
    assert crypto.profile.lifetime == "12h"
    assert crypto.profile.dpd_interval == "15s"
    assert crypto.profile.dh_group == ("modp4096",)


def test_missing_fleet_settings_take_schema_defaults(tmp_path: Path) -> None:
    defaults = load_inventory(write_inventory(tmp_path, defaults_data={})).defaults
    assert defaults.pools.ipsec == IPv4Network("10.0.0.0/22")
    assert defaults.pools.eoip == IPv4Network("172.16.0.0/20")
    assert defaults.crypto.proposal.enc_algorithms == ("aes-256-cbc",)
    assert defaults.certificates.renew_window_days > 0
    assert defaults.lan_interface == "bridge"


def test_branches_sorted_by_branch_id(tmp_path: Path) -> None:
    hosts = {"R1": hub(), "zeta": branch(1), "alpha": branch(5), "mid": branch(3)}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    assert [b.name for b in fleet.branches] == ["zeta", "mid", "alpha"]


def test_group_data_is_inherited(tmp_path: Path) -> None:
    groups = {"responder": {}, "initiators": {"data": {"lan_interface": "bridge-lan"}}}
    fleet = load_inventory(write_inventory(tmp_path, groups=groups))
    assert fleet.branches[0].lan_interface == "bridge-lan"
    assert fleet.hub.lan_interface == "bridge"


def test_router_id_override(tmp_path: Path) -> None:
    hosts = {"R1": hub(router_id="10.255.0.1"), "R2": branch(1)}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    assert fleet.hub.effective_router_id == IPv4Address("10.255.0.1")


def test_relative_paths_resolve_against_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_inventory(tmp_path / "site", ikefleet={"ssh_config": "ssh_config", "secrets_file": None})
    monkeypatch.chdir(tmp_path)
    read = read_config(config)
    assert read.host_file == tmp_path / "site" / "inventory" / "hosts.yaml"
    assert read.ssh_config == tmp_path / "site" / "ssh_config"
    assert nornir_options(read)["ssh"]["config_file"] == str(tmp_path / "site" / "ssh_config")
    assert load_inventory(Path("site/config.yaml")).hub.name == "R1"


def test_init_nornir_binds_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_inventory(tmp_path, ikefleet={"ssh_config": "jump.conf"})
    (tmp_path / "jump.conf").write_text("Host jump1\n    HostName 192.0.2.1\n")  # routes no seed router
    password = "init-nornir-" + os.urandom(6).hex()
    monkeypatch.setenv("IKEFLEET_USERNAME", "netops")
    monkeypatch.setenv("IKEFLEET_PASSWORD", password)
    monkeypatch.setenv("IKEFLEET_PASSWORD_R2", password + "-r2")
    monkeypatch.chdir(tmp_path.parent)
    nr = init_nornir(config)
    assert set(nr.inventory.hosts) == set(seed_hosts())
    assert nr.inventory.hosts["R1"].username == "netops"
    assert nr.inventory.hosts["R1"].password == password
    assert nr.inventory.hosts["R2"].password == password + "-r2"
    # resolved against config.yaml's directory; netmiko reads ikefleet's per-router file (connection.jump)
    data = Path(config).parent / ".ikefleet"
    assert f'Include "{tmp_path / "jump.conf"}"' in (data / "ssh_config").read_text()
    assert nr.config.ssh.config_file == str(data / "netmiko_ssh_config")
    assert nr.inventory.hosts["R2"]["branch_id"] == 1


def test_the_fleet_is_built_walking_each_hosts_groups_once(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Nornir's extended_groups() walks the group tree anew on every call: the fleet's set-up asks it once
    per host (it asked per field of the schema, some 12 times a host), and builds the same fleet."""
    from nornir.core.inventory import Host

    hosts = {"hub": hub(), **{f"br{n}": branch(n) for n in range(1, 6)}}
    config = write_inventory(tmp_path, hosts)
    calls: list[str] = []
    real = Host.extended_groups

    def counted(self: Host) -> list[Any]:
        calls.append(self.name)
        return real(self)

    monkeypatch.setattr(Host, "extended_groups", counted)
    fleet = load_inventory(config)
    assert sorted(c for c in calls if c in hosts) == sorted(hosts)  # (a group asks its own parents)
    monkeypatch.setattr(Host, "extended_groups", real)
    assert load_inventory(config) == fleet
    assert fleet.groups == {name: (("responder",) if name == "hub" else ("initiators",)) for name in hosts}
