"""EoIP tunnels: which ends pair up, whether they run, their MAC and actual MTU.

An end works when the other router holds its `remote-address`, names our `local-address` back with the same
`tunnel-id`, the two MACs differ, and the path between the inner addresses works: protected by an
established IPsec SA pair when the addresses are not the routers' WAN addresses, plain WAN otherwise.
It shows `running` when it works, or always when keepalive is off (RouterOS cannot tell then).
"""

from __future__ import annotations

from dataclasses import dataclass

from ikefleet.routeros.config import Item

from ..router import Router
from .common import enabled, generate_mac, host, network, value

PATH = "/interface eoip"
EOIP_OVERHEAD = 42  # outer IPv4 (20) + GRE (8) + inner Ethernet (14)
DEFAULT_PATH_MTU = 1500


@dataclass
class End:
    router: Router
    item: Item
    mac: str
    actual_mtu: int
    peer: End | None = None
    works: bool = False  # frames pass both ways (peer found, path up and protected, MACs differ)

    @property
    def keepalive(self) -> bool:
        """RouterOS marks a tunnel without keepalive as running whether or not the far end answers."""
        setting = value(self.item, PATH, "keepalive")
        return bool(setting) and not setting.startswith("0")

    @property
    def running(self) -> bool:
        return self.works or not self.keepalive

    @property
    def name(self) -> str:
        return self.item.get("name")


def mac_of(router: Router, item: Item) -> str:
    return item.get("mac-address") or generate_mac(router.name, item.get("name"))


def actual_mtu(router: Router, item: Item) -> int:
    mtu = value(item, PATH, "mtu")
    if mtu.isdigit():
        return int(mtu)  # an explicit MTU is used as is (RouterOS fragments beneath it)
    return (router.faults.mtu or DEFAULT_PATH_MTU) - EOIP_OVERHEAD


Protected = dict[str, list[tuple[str, str]]]  # router name -> [(local prefix, remote prefix)] with SAs


def _protected(
    paths: Protected, exact: dict[str, set[tuple[str, str]]], router: Router, local: str, remote: str
) -> bool:
    """Is traffic `local -> remote` covered by one of the router's established policies?"""
    if (local, remote) in exact.get(router.name, ()):
        return True
    lo, re_ = network(local), network(remote)
    for src, dst in paths.get(router.name, ()):
        s, d = network(src), network(dst)
        if lo and re_ and s and d and lo.subnet_of(s) and re_.subnet_of(d):
            return True
    return False


def pair(routers: list[Router], owners: dict[str, Router], paths: Protected) -> list[End]:
    """Every enabled EoIP interface with its peer end and running state."""
    ends: list[End] = []
    index: dict[tuple[str, str, str, str], End] = {}
    for router in routers:
        for item in enabled(router.config.items(PATH)):
            end = End(router, item, mac_of(router, item), actual_mtu(router, item))
            ends.append(end)
            local, remote = host(value(item, PATH, "local-address")), host(item.get("remote-address"))
            index[(router.name, local, remote, value(item, PATH, "tunnel-id"))] = end
    for end in ends:
        local, remote = host(value(end.item, PATH, "local-address")), host(end.item.get("remote-address"))
        other = owners.get(remote)
        if other is None or other is end.router or owners.get(local) is not end.router:
            continue
        end.peer = index.get((other.name, remote, local, value(end.item, PATH, "tunnel-id")))
    wans = {host(r.spec.wan_address) for r in routers}
    exact = {
        name: {(host(s), host(d)) for s, d in pairs if s.endswith("/32") and d.endswith("/32")}
        for name, pairs in paths.items()
    }
    # what the exact lookup cannot answer: policies between wider prefixes
    paths = {
        name: [(s, d) for s, d in pairs if not (s.endswith("/32") and d.endswith("/32"))]
        for name, pairs in paths.items()
    }
    for end in ends:
        peer = end.peer
        if peer is None or peer.peer is not end or peer.mac == end.mac:
            continue
        a, b = end.router, peer.router
        if a.faults.wan_down or b.faults.wan_down:
            continue
        local, remote = host(value(end.item, PATH, "local-address")), host(end.item.get("remote-address"))
        if local in wans and remote in wans:
            end.works = True
        else:
            there = _protected(paths, exact, a, local, remote)
            end.works = there and _protected(paths, exact, b, remote, local)
    return ends
