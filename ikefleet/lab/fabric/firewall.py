"""Does a router's `/ip firewall filter` input chain let a new IKE packet in?

RouterOS's default configuration drops everything on the input chain that does not come from LAN; the seed
therefore puts `accept udp 500,4500` and `accept ipsec-esp` from WAN *before* it (`place-before=0`). A rule
appended after the drop never sees the packet, and the initiator only logs a phase 1 timeout. Rules are
evaluated like RouterOS: in order, first terminal action wins, `jump`/`return`, fall through = accept.
A rule with a matcher this model does not know never matches (and is listed in `UNMODELLED`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ikefleet.routeros.config import Item

from ..router import Router
from .common import enabled

PATH = "/ip firewall filter"
PROTOCOLS = {"udp": "17", "tcp": "6", "icmp": "1", "ipsec-esp": "50", "ipsec-ah": "51", "gre": "47"}
NEUTRAL = frozenset({"chain", "action", "jump-target", "log", "log-prefix", "reject-with", "comment"})
UNMODELLED = (
    "matchers other than protocol, ports, addresses, interfaces, lists, connection-state, ipsec-policy"
)


@dataclass(frozen=True)
class Packet:
    """A packet arriving on the router (connection-state `new`, not decapsulated from IPsec)."""

    protocol: str  # number as text: "17"
    src: str
    dst: str
    dst_port: int | None
    src_port: int | None
    in_interface: str


def _lists(router: Router, interface: str) -> set[str]:
    names = {"all"}
    for member in enabled(router.config.items("/interface list member")):
        if member.get("interface") == interface:
            names.add(member.get("list"))
    return names


def _negated(text: str) -> tuple[bool, str]:
    return (True, text[1:]) if text.startswith("!") else (False, text)


def _ports(spec: str, port: int | None) -> bool:
    if port is None:
        return False
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def _address(spec: str, address: str) -> bool:
    ip = ipaddress.IPv4Address(address)
    if "-" in spec:
        low, _, high = spec.partition("-")
        return ipaddress.IPv4Address(low.strip()) <= ip <= ipaddress.IPv4Address(high.strip())
    return ip in ipaddress.IPv4Network(spec, strict=False)


def _matches(router: Router, rule: Item, packet: Packet) -> bool:
    for name, raw in rule.values.items():
        if name in NEUTRAL or raw == "":
            continue
        negate, spec = _negated(raw)
        try:
            if name == "protocol":
                hit = PROTOCOLS.get(spec, spec) == packet.protocol
            elif name == "dst-port":
                hit = _ports(spec, packet.dst_port)
            elif name == "src-port":
                hit = _ports(spec, packet.src_port)
            elif name == "port":
                hit = _ports(spec, packet.dst_port) or _ports(spec, packet.src_port)
            elif name == "src-address":
                hit = _address(spec, packet.src)
            elif name == "dst-address":
                hit = _address(spec, packet.dst)
            elif name == "in-interface":
                hit = spec == packet.in_interface
            elif name == "in-interface-list":
                hit = spec in _lists(router, packet.in_interface)
            elif name == "connection-state":
                hit = "new" in spec.split(",")
            elif name == "connection-nat-state":
                hit = False
            elif name == "ipsec-policy":
                hit = spec.replace(" ", "") == "in,none"
            else:
                return False
        except ValueError:
            return False
        if hit == negate:
            return False
    return True


def _chain(router: Router, chain: str, packet: Packet, depth: int = 0) -> bool | None:
    if depth > 16:
        return None
    for rule in enabled(router.config.items(PATH)):
        if rule.get("chain") != chain or not _matches(router, rule, packet):
            continue
        action = rule.get("action") or "accept"
        if action == "accept":
            return True
        if action in ("drop", "reject", "tarpit"):
            return False
        if action == "return":
            return None
        if action == "jump":
            verdict = _chain(router, rule.get("jump-target"), packet, depth + 1)
            if verdict is not None:
                return verdict
    return None


def accepts(router: Router, packet: Packet) -> bool:
    """The input chain's verdict for `packet` (no rule decides: accepted)."""
    return _chain(router, "input", packet) is not False
