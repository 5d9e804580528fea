"""Write the Nornir SimpleInventory (hosts, groups, defaults), config.yaml and secrets.yaml for a lab.

Field names follow `ikefleet/inventory_schema.yaml`: per host `wan_address`, `lan_prefixes`, `branch_id`
(branches only) and `ros_version` under `data`; the role is the group (`responder` / `initiators`).
Credentials never go into the inventory: they go to a chmod-600 `secrets.yaml` named by config.yaml.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .router import RouterSpec

ROLE_GROUPS = {"responder": "responder", "initiator": "initiators"}
PLATFORM = "mikrotik_routeros"
# Nornir threads: enough to overlap netmiko's fixed per-login waits, few enough that two cores are not
# thrashed (bench/run.py: 50 beat 20 and 100 for a 100-branch lab on 2 cores).
MIN_WORKERS = 20
MAX_WORKERS = 50
# The lab's LAN prefixes (manager.lan_prefix): 192.168.0.0/16 (the schema's export default), then 10.128.0.0/9
LAB_LAN_AGGREGATES = ("192.168.0.0/16", "10.128.0.0/9")


def _inside(prefix: str, aggregate: str) -> bool:
    return ipaddress.ip_network(prefix).subnet_of(ipaddress.ip_network(aggregate))  # type: ignore[arg-type]


def host_entry(spec: RouterSpec, branch_id: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if branch_id is not None:
        data["branch_id"] = branch_id
    data["wan_address"] = spec.wan_address
    data["lan_prefixes"] = [spec.lan_prefix]
    data["ros_version"] = spec.version
    return {
        "hostname": spec.host,
        "port": spec.port,
        "platform": PLATFORM,
        "groups": [ROLE_GROUPS[spec.role]],
        "data": data,
    }


def workers_for(routers: int) -> int:
    """Nornir's num_workers sized to the fleet: half of it, within [MIN_WORKERS, MAX_WORKERS]."""
    return max(MIN_WORKERS, min(MAX_WORKERS, routers // 2))


def nornir_config(routers: int = 0) -> dict[str, Any]:
    return {
        "inventory": {
            "plugin": "IkefleetInventory",  # ikefleet.inventory_plugin: paths from here, credentials bound
            "options": {
                "host_file": "inventory/hosts.yaml",
                "group_file": "inventory/groups.yaml",
                "defaults_file": "inventory/defaults.yaml",
            },
        },
        "runner": {"plugin": "threaded", "options": {"num_workers": workers_for(routers)}},
        "ikefleet": {"secrets_file": "secrets.yaml", "ssh_config": None},
    }


def write_inventory(lab_dir: Path, specs: Iterable[RouterSpec], branch_ids: dict[str, int]) -> None:
    """(Re)write the lab's inventory files; each file is replaced atomically."""
    specs = list(specs)
    lab_dir = Path(lab_dir)
    inv = lab_dir / "inventory"
    inv.mkdir(parents=True, exist_ok=True)
    hosts = {s.name: host_entry(s, branch_ids.get(s.name)) for s in specs}
    groups = {"responder": {}, "initiators": {}}
    defaults: dict[str, Any] = {"platform": PLATFORM, "data": {"lan_interface": "bridge"}}
    big_lab = [net for net in LAB_LAN_AGGREGATES[1:] if any(_inside(s.lan_prefix, net) for s in specs)]
    if big_lab:  # LANs past 192.168.254.0/24 (manager.lan_prefix): OSPF must advertise them too
        defaults["data"]["ospf"] = {"export_prefixes": [LAB_LAN_AGGREGATES[0], *big_lab]}
    _dump(inv / "hosts.yaml", hosts, "# Written by `ikefleet lab up` (rewritten on each up).\n")
    _dump(inv / "groups.yaml", groups, "# Roles: `responder` is the hub, `initiators` the branches.\n")
    _dump(inv / "defaults.yaml", defaults, "# Fleet-wide settings; the schema's defaults fill the rest.\n")
    header = "# Nornir configuration for the lab (InitNornir).\n"
    _dump(lab_dir / "config.yaml", nornir_config(len(specs)), header)
    if specs:
        secrets = {"username": specs[0].username, "password": specs[0].password}
        _dump(lab_dir / "secrets.yaml", secrets, "# Lab credentials, kept out of the inventory.\n",
              mode=0o600)


def _dump(path: Path, data: Any, header: str, mode: int = 0o644) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(header)
        yaml.dump(data, fh)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
