"""RouterOS 7 OSPF configuration seen as its v6 equivalent, so one OSPF model serves both dialects.

v7 `/routing ospf interface-template` (interfaces and/or networks), `/routing filter rule` (`if (...)
{accept}` text) and instance `redistribute=connected` become the v6 `/routing ospf network|interface`,
`/routing filter` and `redistribute-connected` items the model in `ospf.py` reads. Only what the design
uses is translated (rules of the form `if (dst in P && dst-len in A-B|== N) { accept|reject }`, bare
`accept`/`reject`); anything else is left out, which the model treats as no verdict.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re

from ikefleet.routeros.config import Config, Item

from ..router import Router

TEMPLATE, RULE, ADDRESS = "/routing ospf interface-template", "/routing filter rule", "/ip address"
V6_TYPE = {"ptp": "point-to-point", "broadcast": "broadcast", "nbma": "nbma", "ptmp": "ptmp"}
V7_DEFAULTS = {"priority": "128", "cost": "1"}  # interface-template defaults that differ from v6's
_IF = re.compile(r"^if \(dst in (\S+) && dst-len (?:in (\d+)-(\d+)|== (\d+))\) \{ ?(accept|reject) ?\}$")


def _on(items: list[Item]) -> list[Item]:
    return [i for i in items if not i.disabled]


def _instances(config: Config, out: Config) -> None:
    for inst in _on(config.items("/routing ospf instance")):
        values = {"name": inst.get("name") or "default",
                  "in-filter": inst.get("in-filter-chain"), "out-filter": inst.get("out-filter-chain"),
                  "redistribute-connected": "as-type-2" if "connected" in inst.get("redistribute") else "no"}
        rid = inst.get("router-id")
        with contextlib.suppress(ValueError):  # an /routing id name or `main`: the lowest address
            values["router-id"] = str(ipaddress.IPv4Address(rid))
        out.add("/routing ospf instance", values)
    for area in _on(config.items("/routing ospf area")):
        out.add("/routing ospf area", {"name": area.get("name"), "area-id": area.get("area-id") or "0.0.0.0"})


def _templates(config: Config, out: Config) -> None:
    addresses = [(a.get("interface"), addr) for a in _on(config.items(ADDRESS))
                 if (addr := _interface(a.get("address"))) is not None]
    seen: set[str] = set()
    for tpl in _on(config.items(TEMPLATE)):
        names = {n for n in tpl.get("interfaces").split(",") if n}
        nets = [n for p in tpl.get("networks").split(",") if (n := _network(p)) is not None]
        for name, addr in addresses:
            if (names and name not in names) or (nets and not any(addr.ip in n for n in nets)):
                continue
            if name in seen:
                continue  # the first template matching an interface decides, as in v7
            seen.add(name)
            out.add("/routing ospf network", {"network": str(addr.network), "area": tpl.get("area")})
            kind = V6_TYPE.get(tpl.get("type") or "broadcast", "broadcast")
            values = {"interface": name, "network-type": kind, **V7_DEFAULTS}
            for v7_name, v6_name in (("passive", "passive"), ("use-bfd", "use-bfd"), ("cost", "cost"),
                                     ("priority", "priority"), ("hello-interval", "hello-interval"),
                                     ("dead-interval", "dead-interval"), ("auth", "authentication"),
                                     ("auth-key", "authentication-key")):
                if tpl.get(v7_name):
                    values[v6_name] = tpl.get(v7_name)
            out.add("/routing ospf interface", values)


def _rules(config: Config, out: Config) -> None:
    for rule in _on(config.items(RULE)):
        text, chain = rule.get("rule").strip(), rule.get("chain")
        if text in ("accept", "reject"):
            action = "accept" if text == "accept" else "discard"
            out.add("/routing filter", {"chain": chain, "action": action})
            continue
        found = _IF.match(text)
        if found:
            prefix, low, high, exact, verdict = found.groups()
            lengths = exact or f"{low}-{high}"
            out.add("/routing filter", {"chain": chain, "prefix": prefix, "prefix-length": lengths,
                                        "action": "accept" if verdict == "accept" else "discard"})


def _interface(text: str) -> ipaddress.IPv4Interface | None:
    try:
        return ipaddress.IPv4Interface(text)
    except ValueError:
        return None


def _network(text: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError:
        return None


def v6_view(router: Router) -> Config:
    """The router's OSPF-related configuration in v6 menus (its own configuration on v6)."""
    if router.major_version < 7:
        return router.config
    out = Config()
    _instances(router.config, out)
    _templates(router.config, out)
    _rules(router.config, out)
    return out


BFD_CONFIGURATION = "/routing bfd configuration"


def bfd_forbidden(router: Router, interface: str) -> bool:
    """v7 `/routing bfd configuration`: the first enabled entry whose `interfaces` (default `all`) names the
    interface decides; `forbid-bfd=yes` there makes the session inactive (help.mikrotik.com "BFD": "BFD
    forbidden for destination address"). Entries limited by `addresses` are not modelled. v6: never."""
    if router.major_version < 7:
        return False
    for item in _on(router.config.items(BFD_CONFIGURATION)):
        if item.get("addresses"):
            continue
        names = {n.strip() for n in (item.get("interfaces") or "all").split(",") if n.strip()}
        if "all" in names or interface in names:
            return item.get("forbid-bfd") == "yes"
    return False
