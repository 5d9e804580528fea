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
    local: str = ""  # effective addresses (an unset local-address resolved)
    remote: str = ""
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


def _source(router: Router, remote: str, exact: dict[str, set[tuple[str, str]]], wide: Protected) -> str:
    """The address an EoIP end without `local-address` sends from: the source of the IPsec policy that
    covers `remote`, else the router's WAN address (RouterOS picks the outgoing interface's address)."""
    for src, dst in exact.get(router.name, ()):
        if dst == remote:
            return src
    target = network(remote)
    for src, dst in wide.get(router.name, ()):
        d = network(dst)
        if target is not None and d is not None and target.subnet_of(d) and src.endswith("/32"):
            return host(src)
    return host(router.spec.wan_address)


def pair(
    routers: list[Router], owners: dict[str, Router], paths: Protected, wan_up: dict[str, bool]
) -> list[End]:
    """Every enabled EoIP interface with its peer end and whether frames pass."""
    exact = {
        name: {(host(s), host(d)) for s, d in pairs if s.endswith("/32") and d.endswith("/32")}
        for name, pairs in paths.items()
    }
    # what the exact lookup cannot answer: policies between wider prefixes
    wide = {
        name: [(s, d) for s, d in pairs if not (s.endswith("/32") and d.endswith("/32"))]
        for name, pairs in paths.items()
    }
    ends: list[End] = []
    index: dict[tuple[str, str, str, str], End] = {}
    for router in routers:
        for item in enabled(router.config.items(PATH)):
            end = End(router, item, mac_of(router, item), actual_mtu(router, item))
            end.remote = host(item.get("remote-address"))
            end.local = host(value(item, PATH, "local-address"))
            if end.local in ("", "0.0.0.0"):
                end.local = _source(router, end.remote, exact, wide)
            ends.append(end)
            index[(router.name, end.local, end.remote, value(item, PATH, "tunnel-id"))] = end
    for end in ends:
        other = owners.get(end.remote)
        if other is None or other is end.router or owners.get(end.local) is not end.router:
            continue
        end.peer = index.get((other.name, end.remote, end.local, value(end.item, PATH, "tunnel-id")))
    wans = {host(r.spec.wan_address) for r in routers}
    for end in ends:
        peer = end.peer
        if peer is None or peer.peer is not end or peer.mac == end.mac:
            continue
        a, b = end.router, peer.router
        if not (wan_up.get(a.name, True) and wan_up.get(b.name, True)):
            continue
        if end.local in wans and end.remote in wans:
            end.works = True
        else:
            there = _protected(wide, exact, a, end.local, end.remote)
            end.works = there and _protected(wide, exact, b, end.remote, end.local)
    return ends
