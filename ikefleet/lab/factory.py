"""A lab router's state after "initial setup done" (what the seed procedure assumes before it starts).

RouterOS's own factory items (default IPsec proposal/profile/policy group/template, OSPF instance and
backbone area, built-in interface lists, services, logging) come from the schema's `factory` tables; this
module adds what the operator's initial setup made: identity, WAN on ether1, the LAN bridge with the other
ports, WAN/LAN interface lists and masquerade NAT. NTP client stays off.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import load_schema

from .router import RouterSpec

ETHERNET_PORTS = 5
LAN_BRIDGE = "bridge"
# The input rules of RouterOS's default configuration (what "initial setup" keeps); the seed's
# `place-before=0` puts its IKE/ESP accept rules above them.
DEFCONF_FILTER: tuple[dict[str, str], ...] = (
    {"chain": "input", "action": "accept", "connection-state": "established,related,untracked",
     "comment": "defconf: accept established,related,untracked"},
    {"chain": "input", "action": "drop", "connection-state": "invalid", "comment": "defconf: drop invalid"},
    {"chain": "input", "action": "accept", "protocol": "icmp", "comment": "defconf: accept ICMP"},
    {"chain": "input", "action": "drop", "in-interface-list": "!LAN",
     "comment": "defconf: drop all not coming from LAN"},
)  # fmt: skip


def mac_address(router_name: str, port: str) -> str:
    """A stable locally-unique MAC per router and port (the lab has no hardware to read it from)."""
    digest = hashlib.sha256(f"{router_name}/{port}".encode()).digest()
    return ":".join(f"{b:02X}" for b in (0x4C, 0x5E, 0x0C, *digest[:3]))


def _factory_items(config: Config, major: int) -> None:
    for path, menu in load_schema(major).menus.items():
        for spec in menu.factory:
            values = {k: v for k, v in spec.items() if k != "default"}
            config.add(path, values, default=spec.get("default") == "yes")


def reset_config(spec: RouterSpec) -> Config:
    """`/system reset-configuration no-defaults=yes`: RouterOS's own items and the hardware ports only."""
    major = int(spec.version.split(".")[0])
    config = Config()
    _factory_items(config, major)
    for n in range(1, ETHERNET_PORTS + 1):
        port = f"ether{n}"
        config.add(
            "/interface ethernet",
            {"name": port, "default-name": port, "mac-address": mac_address(spec.name, port)},
        )
    return config


def initial_config(spec: RouterSpec) -> Config:
    """The configuration of a freshly set-up lab router described by `spec`."""
    config = reset_config(spec)
    config.add("/system identity", {"name": spec.name})
    config.add("/interface bridge", {"name": LAN_BRIDGE, "admin-mac": mac_address(spec.name, LAN_BRIDGE),
                                     "auto-mac": "no"})  # fmt: skip
    for n in range(2, ETHERNET_PORTS + 1):
        config.add("/interface bridge port", {"interface": f"ether{n}", "bridge": LAN_BRIDGE})
    config.add("/interface list", {"name": "WAN"})
    config.add("/interface list", {"name": "LAN"})
    config.add("/interface list member", {"list": "WAN", "interface": "ether1"})
    config.add("/interface list member", {"list": "LAN", "interface": LAN_BRIDGE})
    wan = ipaddress.ip_interface(spec.wan_address)
    config.add("/ip address", {"address": str(wan), "interface": "ether1",
                               "network": str(wan.network.network_address)})  # fmt: skip
    lan_net = ipaddress.ip_network(spec.lan_prefix, strict=False)
    lan = ipaddress.ip_interface(f"{next(lan_net.hosts())}/{lan_net.prefixlen}")
    config.add("/ip address", {"address": str(lan), "interface": LAN_BRIDGE,
                               "network": str(lan_net.network_address)})  # fmt: skip
    for rule in DEFCONF_FILTER:
        config.add("/ip firewall filter", {k: v for k, v in rule.items() if k != "comment"},
                   comment=rule["comment"])  # fmt: skip
    config.add("/ip firewall nat", {"chain": "srcnat", "action": "masquerade", "out-interface-list": "WAN"})
    return config


def factory_item(config: Config, path: str, **values: str) -> Item | None:
    """The factory item of `path` whose values include `values` (tests and the diff engine use it)."""
    return next((i for i in config.items(path) if all(i.values.get(k) == v for k, v in values.items())), None)
