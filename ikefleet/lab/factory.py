"""A lab router's state after "initial setup done" (what the seed procedure assumes before it starts).

RouterOS's own factory items (default IPsec proposal/profile/policy group/template, OSPF instance and
backbone area, built-in interface lists, services, logging) come from the schema's `factory` tables; this
module adds RouterOS's default configuration (defconf) of a home/office router, as real 6.49 and 7.x print
it: the LAN bridge with the other ports, WAN/LAN interface lists, the `defconf:` firewall and masquerade, all
commented as defconf does; the operator's initial setup then gave it an identity, the WAN address on ether1
and the LAN prefix. NTP client stays off. Not modelled: DHCP client/server, pool, DNS, IPv6 firewall, and
models whose defconf differs (CCRs ship without the firewall).
"""

from __future__ import annotations

import hashlib
import ipaddress

from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script

from .router import RouterSpec

ETHERNET_PORTS = 5
LAN_BRIDGE = "bridge"
# RouterOS's default IPv4 firewall, verbatim from a real export (6.46.6 RB2011UiAS; the defconf script
# text is identical on 6.49.6 and 7.6). 7.x exports the fasttrack rule with hw-offload=yes (7.6 RB2011iL).
DEFCONF_FIREWALL = """\
/ip firewall filter
add action=accept chain=input comment=\\
    "defconf: accept established,related,untracked" connection-state=\\
    established,related,untracked
add action=drop chain=input comment="defconf: drop invalid" connection-state=\\
    invalid
add action=accept chain=input comment="defconf: accept ICMP" protocol=icmp
add action=accept chain=input comment=\\
    "defconf: accept to local loopback (for CAPsMAN)" dst-address=127.0.0.1
add action=drop chain=input comment="defconf: drop all not coming from LAN" \\
    in-interface-list=!LAN
add action=accept chain=forward comment="defconf: accept in ipsec policy" \\
    ipsec-policy=in,ipsec
add action=accept chain=forward comment="defconf: accept out ipsec policy" \\
    ipsec-policy=out,ipsec
add action=fasttrack-connection chain=forward comment="defconf: fasttrack" \\
    connection-state=established,related
add action=accept chain=forward comment=\\
    "defconf: accept established,related, untracked" connection-state=\\
    established,related,untracked
add action=drop chain=forward comment="defconf: drop invalid" \\
    connection-state=invalid
add action=drop chain=forward comment=\\
    "defconf: drop all from WAN not DSTNATed" connection-nat-state=!dstnat \\
    connection-state=new in-interface-list=WAN
/ip firewall nat
add action=masquerade chain=srcnat comment="defconf: masquerade" \\
    ipsec-policy=out,none out-interface-list=WAN
"""
DEFCONF = "defconf"  # the comment defconf gives its interfaces, lists, ports and address


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


def defconf_firewall(major: int) -> Config:
    """The `defconf:` filter rules and masquerade of RouterOS `major`, in the router's stored form."""
    config = parse_script(DEFCONF_FIREWALL)
    if major >= 7:
        next(config.find("/ip firewall filter", action="fasttrack-connection")).values["hw-offload"] = "yes"
    return config


def initial_config(spec: RouterSpec) -> Config:
    """The configuration of a freshly set-up lab router described by `spec`."""
    config = reset_config(spec)
    config.add("/system identity", {"name": spec.name})
    config.add("/interface bridge", {"name": LAN_BRIDGE, "admin-mac": mac_address(spec.name, LAN_BRIDGE),
                                     "auto-mac": "no"}, comment=DEFCONF)  # fmt: skip
    for n in range(2, ETHERNET_PORTS + 1):
        port = {"interface": f"ether{n}", "bridge": LAN_BRIDGE}
        config.add("/interface bridge port", port, comment=DEFCONF)
    config.add("/interface list", {"name": "WAN"}, comment=DEFCONF)
    config.add("/interface list", {"name": "LAN"}, comment=DEFCONF)
    config.add("/interface list member", {"list": "LAN", "interface": LAN_BRIDGE}, comment=DEFCONF)
    config.add("/interface list member", {"list": "WAN", "interface": "ether1"}, comment=DEFCONF)
    wan = ipaddress.ip_interface(spec.wan_address)
    config.add("/ip address", {"address": str(wan), "interface": "ether1",
                               "network": str(wan.network.network_address)})  # fmt: skip
    lan_net = ipaddress.ip_network(spec.lan_prefix, strict=False)
    lan = ipaddress.ip_interface(f"{next(lan_net.hosts())}/{lan_net.prefixlen}")
    config.add("/ip address", {"address": str(lan), "interface": LAN_BRIDGE,
                               "network": str(lan_net.network_address)}, comment=DEFCONF)  # fmt: skip
    for path, items in defconf_firewall(int(spec.version.split(".")[0])).menus.items():
        for item in items:
            config.add(path, dict(item.values), comment=item.comment)
    return config


def factory_item(config: Config, path: str, **values: str) -> Item | None:
    """The factory item of `path` whose values include `values` (tests and the diff engine use it)."""
    return next((i for i in config.items(path) if all(i.values.get(k) == v for k, v in values.items())), None)
