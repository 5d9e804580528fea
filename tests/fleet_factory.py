"""Small inventories in a temporary directory: the seed's R1 (hub) and R2 (branch 1), plus variations."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

# The seed's values (RouterOS 6.49 article), WAN addresses moved to documentation ranges.
SEED_DEFAULTS: dict[str, Any] = {
    "ntp_servers": ["ru.pool.ntp.org"],
    "crypto": {
        "policy_group": "IKEv2",
        "proposal": {"name": "SHA256", "auth_algorithms": ["sha256"], "enc_algorithms": ["aes-256-cbc"],
                     "pfs_group": "modp4096", "lifetime": "00:30:00"},
        "profile": {"name": "SHA256", "hash_algorithm": "sha256", "prf_algorithm": "sha256",
                    "enc_algorithm": "aes-256", "dh_group": "modp4096", "lifetime": "12:00:00",
                    "dpd_interval": "15"},
    },
    "pools": {"ipsec": "10.0.0.0/24", "eoip": "172.16.0.0/24"},
    "ospf": {"area": "backbone", "export_prefixes": ["192.168.0.0/16"]},
}


def host(groups: list[str], port: int, **data: Any) -> dict[str, Any]:
    return {"hostname": "127.0.0.1", "port": port, "platform": "mikrotik_routeros", "groups": groups,
            "data": data}


def hub(**data: Any) -> dict[str, Any]:
    values = {"wan_address": "203.0.113.1/24", "lan_prefixes": ["192.168.1.0/24"], **data}
    return host(["responder"], 2201, **values)


def branch(number: int, **data: Any) -> dict[str, Any]:
    """Branch `number`: branch_id = number unless overridden, LAN 192.168.<number+1>.0/24."""
    values = {
        "branch_id": number,
        "wan_address": f"198.51.100.{number + 1}/24",
        "lan_prefixes": [f"192.168.{number + 1}.0/24"],
        **data,
    }
    return host(["initiators"], 2201 + number, **values)


def seed_hosts() -> dict[str, Any]:
    return {"R1": hub(), "R2": branch(1)}


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as stream:
        YAML(typ="safe").dump(data, stream)


def write_inventory(
    root: Path,
    hosts: dict[str, Any] | None = None,
    defaults_data: dict[str, Any] | None = None,
    groups: dict[str, Any] | None = None,
    ikefleet: dict[str, Any] | None = None,
    defaults_extra: dict[str, Any] | None = None,
) -> Path:
    """Write config.yaml + inventory/*.yaml under `root`; return the config path."""
    dump(root / "inventory" / "hosts.yaml", seed_hosts() if hosts is None else hosts)
    role_groups = {"responder": {}, "initiators": {}}
    dump(root / "inventory" / "groups.yaml", role_groups if groups is None else groups)
    data = copy.deepcopy(SEED_DEFAULTS if defaults_data is None else defaults_data)
    dump(root / "inventory" / "defaults.yaml", {"data": data, **(defaults_extra or {})})
    config = {
        "inventory": {
            "plugin": "SimpleInventory",
            "options": {
                "host_file": "inventory/hosts.yaml",
                "group_file": "inventory/groups.yaml",
                "defaults_file": "inventory/defaults.yaml",
            },
        },
        "runner": {"plugin": "serial"},
    }
    if ikefleet:
        config["ikefleet"] = ikefleet
    dump(root / "config.yaml", config)
    return root / "config.yaml"


def forbid_network(monkeypatch: Any) -> list[tuple[Any, ...]]:
    """Make every outgoing connection fail loudly; returns the list of attempts (must stay empty)."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise AssertionError(f"network contacted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts
