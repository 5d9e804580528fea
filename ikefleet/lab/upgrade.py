"""What a RouterOS 6 -> 7 upgrade does to a router's stored configuration (`ikefleet lab upgrade`).

Menus that exist in both versions are kept item by item (fields v7 does not know are dropped); menus v7
rebuilt are converted by the rules in `CONVERSIONS`; v6-only menus with no rule are dropped, like the
upgrade does with configuration it cannot carry over. Dynamic items are never kept (the fabric recomputes
them on the new version).

Where each rule comes from (see docs/v7.md, "Lab upgrade"):
- MikroTik docs (help.mikrotik.com OSPF / "Moving from ROSv6 to ROSv7" / NTP, Route Selection and Filters):
  the v7 menus and fields the rules write to (`/routing ospf instance|area|interface-template`,
  `/routing filter rule` with `if (...) { accept }` text, `/routing bfd configuration`,
  `/system ntp client servers`), and that v7 has no `/routing ospf network|interface` (only status),
  no `/routing filter` and no `/routing bfd interface`.
- The v7.21.4 capture (`v7__export_ospf_nbma_static-neighbor__chr-7.21.4`) and forum reports: the converted
  v6 default instance is named `default-v2`. The `-v2` suffix on areas (`backbone-v2`) is from forum reports
  only: a guess.
- Guesses (no MikroTik text found): how each `/routing ospf network` / `interface` becomes an
  interface-template, how v6 filter rules become rule text, BFD interfaces becoming BFD configuration
  items (`interval` -> `min-tx`), NTP `primary-ntp`/`secondary-ntp`/`server-dns-names` becoming servers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import Schema, load_schema

from .router import Router

V6_DEFAULT_INSTANCE, V7_SUFFIX = "default", "-v2"
TYPE_V7 = {"point-to-point": "ptp", "broadcast": "broadcast", "nbma": "nbma", "ptmp": "ptmp"}
ORIGINATE_V7 = {"always-as-type-1": "always", "always-as-type-2": "always",
                "if-installed-as-type-1": "if-installed", "if-installed-as-type-2": "if-installed"}
REDISTRIBUTE_V7 = {"redistribute-connected": "connected", "redistribute-static": "static",
                   "redistribute-rip": "rip", "redistribute-bgp": "bgp", "redistribute-other-ospf": "ospf"}
VERDICT_V7 = {"accept": "accept", "discard": "reject", "reject": "reject"}


@dataclass
class Upgrade:
    """One conversion in progress: the v6 configuration, the v7 one being built, and what was done."""

    old: Config
    new: Config
    schema: Schema
    notes: list[str] = field(default_factory=list)

    def add(self, path: str, source: Item, values: dict[str, str]) -> Item:
        """A v7 item made from `source` (its disabled flag and comment kept; empty values left out)."""
        return self.new.add(path, {k: v for k, v in values.items() if v},
                            disabled=source.disabled, comment=source.comment)

    def instance_name(self, v6: str) -> str:
        return v6 + V7_SUFFIX if v6 else V6_DEFAULT_INSTANCE + V7_SUFFIX

    def area_name(self, v6: str) -> str:
        return v6 + V7_SUFFIX


def _kept(items: list[Item]) -> list[Item]:
    return [i for i in items if not i.dynamic]


# --- the rules ----------------------------------------------------------------------------------------------


def _instances(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        redistribute = [v7 for v6, v7 in REDISTRIBUTE_V7.items() if item.get(v6) not in ("", "no")]
        rid = item.get("router-id")
        up.add("/routing ospf instance", item, {
            "name": up.instance_name(item.get("name")),
            "router-id": "" if rid in ("", "0.0.0.0") else rid,
            "redistribute": ",".join(redistribute),
            "originate-default": ORIGINATE_V7.get(item.get("distribute-default"), ""),
            "in-filter-chain": item.get("in-filter"),
            "out-filter-chain": item.get("out-filter"),
        })
        up.notes.append(f"/routing ospf instance {item.get('name')} -> {up.instance_name(item.get('name'))}")


def _areas(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        up.add("/routing ospf area", item, {
            "name": up.area_name(item.get("name")),
            "instance": up.instance_name(item.get("instance") or V6_DEFAULT_INSTANCE),
            "area-id": item.get("area-id") or "0.0.0.0",
            "type": "" if item.get("type") in ("", "default") else item.get("type"),
        })


def _networks(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        up.add("/routing ospf interface-template", item,
               {"area": up.area_name(item.get("area")), "networks": item.get("network")})
        up.notes.append(f"/routing ospf network {item.get('network')} -> interface-template networks=")


def _area_of(up: Upgrade, interface: str) -> str:
    """The v7 area of a v6 OSPF interface: the area of the network its address falls in (v6 had no area on
    `/routing ospf interface`), else the first area."""
    networks = [(ipaddress.ip_network(n.get("network"), strict=False), n.get("area"))
                for n in _kept(up.old.items("/routing ospf network")) if n.get("network")]
    for address in up.old.items("/ip address"):
        if address.get("interface") != interface:
            continue
        ip = ipaddress.ip_interface(address.get("address")).ip
        for net, area in networks:
            if ip in net:
                return up.area_name(area)
    areas = _kept(up.old.items("/routing ospf area"))
    return up.area_name(areas[0].get("name") if areas else "backbone")


def _interfaces(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        name = item.get("interface")
        if not name or name == "all":
            continue
        auth = item.get("authentication")
        up.add("/routing ospf interface-template", item, {
            "area": _area_of(up, name),
            "interfaces": name,
            "type": TYPE_V7.get(item.get("network-type"), ""),
            "cost": item.get("cost"),
            "priority": item.get("priority"),
            "passive": "yes" if item.get("passive") == "yes" or "P" in item.status.get("flags", "") else "",
            "use-bfd": "yes" if item.get("use-bfd") == "yes" else "",
            "hello-interval": item.get("hello-interval"),
            "dead-interval": item.get("dead-interval"),
            "auth": auth if auth not in ("", "none") else "",
            "auth-key": item.get("authentication-key") if auth not in ("", "none") else "",
        })
        up.notes.append(f"/routing ospf interface {name} -> interface-template interfaces={name}")


def rule_text(item: Item) -> str | None:
    """A v6 `/routing filter` rule as v7 rule text; None when it has no v7 verdict (passthrough, jump...)."""
    verdict = VERDICT_V7.get(item.get("action") or "passthrough")
    if verdict is None:
        return None
    conditions = []
    if item.get("prefix"):
        conditions.append(f"dst in {item.get('prefix')}")
    if item.get("prefix-length"):
        low, _, high = item.get("prefix-length").partition("-")
        conditions.append(f"dst-len in {low}-{high}" if high and high != low else f"dst-len == {low}")
    if not conditions:
        return verdict
    return f"if ({' && '.join(conditions)}) {{ {verdict} }}"


def _filters(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        text = rule_text(item)
        if text is None:
            up.notes.append(f"/routing filter chain={item.get('chain')} action={item.get('action')}: "
                            "no v7 equivalent, dropped")
            continue
        up.add("/routing filter rule", item, {"chain": item.get("chain"), "rule": text})


def _bfd(up: Upgrade, items: list[Item]) -> None:
    for item in _kept(items):
        up.add("/routing bfd configuration", item, {
            "interfaces": item.get("interface") or "all",
            "min-rx": item.get("min-rx"),
            "min-tx": item.get("interval"),
            "multiplier": item.get("multiplier"),
        })


def _ntp(up: Upgrade, items: list[Item]) -> None:
    for item in items[:1]:
        up.add("/system ntp client", item, {"enabled": item.get("enabled"), "mode": item.get("mode")})
        servers = [item.get("primary-ntp"), item.get("secondary-ntp"),
                   *item.get("server-dns-names").split(",")]
        for server in [s for s in servers if s and s != "0.0.0.0"]:
            up.new.add("/system ntp client servers", {"address": server})


# v6 path -> rule. Paths not listed: kept when v7 has the menu, dropped otherwise.
CONVERSIONS: dict[str, Callable[[Upgrade, list[Item]], None]] = {
    "/routing ospf instance": _instances,
    "/routing ospf area": _areas,
    "/routing ospf network": _networks,
    "/routing ospf interface": _interfaces,
    "/routing filter": _filters,
    "/routing bfd interface": _bfd,
    "/system ntp client": _ntp,
}


# --- the upgrade --------------------------------------------------------------------------------------------


def _carry(up: Upgrade, path: str, items: list[Item]) -> None:
    """A menu both versions have: items as they are, minus fields v7 does not know."""
    menu = up.schema.menu(path)
    known = set(menu.fields) | {f.name for f in menu.flags}  # flags live in values too (`private-key`)
    dropped: set[str] = set()
    for item in _kept(items):
        values = {k: v for k, v in item.values.items() if k in known}
        dropped.update(k for k in item.values if k not in known)
        copy = Item(id=item.id, values=values, disabled=item.disabled, default=item.default,
                    comment=item.comment, private=dict(item.private), status=dict(item.status))
        up.new.menus.setdefault(path, []).append(copy)
    if dropped:
        up.notes.append(f"{path}: {', '.join(sorted(dropped))} dropped (not in v7)")


def upgrade_config(old: Config) -> tuple[Config, list[str]]:
    """The v7 configuration a v6 router comes back with after the upgrade, and notes on what changed."""
    up = Upgrade(old, Config(next_id=old.next_id), load_schema(7))
    for path, items in old.menus.items():
        if path in CONVERSIONS:
            CONVERSIONS[path](up, items)
        elif up.schema.has_menu(path) and up.schema.menu(path).kind != "state":
            _carry(up, path, items)
        elif _kept(items) and not (up.schema.has_menu(path) or all(i.default for i in items)):
            up.notes.append(f"{path}: no such menu in v7, dropped")
    for path, menu in up.schema.menus.items():  # v7's own factory items for menus v6 did not have
        if menu.factory and path not in up.new.menus:
            for spec in menu.factory:
                values = {k: v for k, v in spec.items() if k != "default"}
                up.new.add(path, values, default=spec.get("default") == "yes")
    return up.new, up.notes


class UpgradeError(ValueError):
    """An upgrade the lab refuses (the text names the router, the version and the fix)."""


def check_version(router: Router, version: str) -> tuple[int, int]:
    """(major, minor) of a target version the lab can upgrade `router` to; UpgradeError otherwise."""
    parts = version.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise UpgradeError(f"{router.name}: --ros {version!r} is not a RouterOS version: "
                           "give one like 7.16.1")
    target = (int(parts[0]), int(parts[1]))
    current = tuple(int(p) for p in router.spec.version.split(".")[:2])
    if target[0] != 7 or target < (7, 11):
        raise UpgradeError(f"{router.name}: the lab upgrades to RouterOS 7.11 or later (ikefleet's v7 "
                           f"support): give --ros 7.11 .. 7.x, not {version}")
    if target < current:
        raise UpgradeError(f"{router.name}: runs {router.spec.version}; {version} would be a downgrade")
    return target


def upgrade_router(router: Router, version: str) -> list[str]:
    """Upgrade a lab router in place, as installing the RouterOS package and rebooting does: the stored
    configuration converted (v6 -> v7), the new version reported, the clock of `uptime` restarted and the
    console's `:global`s gone. Returns notes on the conversion (nothing converted within v7)."""
    check_version(router, version)
    notes: list[str] = []
    if router.major_version < 7:
        router.config, notes = upgrade_config(router.config)
    router.spec = replace(router.spec, version=version)
    router.booted_at = router.clock.now()
    router.__dict__.pop("_console_globals", None)
    router.log("system,info", f"router rebooted after upgrade to {version}")
    return notes
