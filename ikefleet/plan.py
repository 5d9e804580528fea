"""The address and naming plan: a pure function of the Fleet, stable as every number derives from branch_id.

The seed's "last octet" scheme, generalised: IPsec inner addresses come from `pools.ipsec` (hub = first host,
branch k = first host + k); branch k owns the k-th /30 of `pools.eoip` (hub side .1, branch side .2); the
EoIP tunnel-id is the branch_id. Adding or removing a branch never moves another branch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from ikefleet.fleet import Fleet, Site

# Names ikefleet gives to the RouterOS objects it manages (documented in docs/inventory.md).
NAMES = {
    "ca_certificate": "ca",
    "hub_certificate": "hub-server",
    "branch_certificate": "{branch}-client",
    "hub_eoip": "eoip-{branch}",
    "branch_eoip": "eoip-hub",
    "hub_peer": "branches",
    "branch_peer": "hub",
    "mode_config": "{branch}",
    "ipsec_bridge": "ipsec",
}


@dataclass(frozen=True)
class HubPlan:
    name: str
    wan_address: IPv4Address
    ipsec_address: IPv4Address  # on the `ipsec` bridge
    router_id: IPv4Address
    ca_certificate: str
    server_certificate: str
    peer: str
    ipsec_bridge: str
    lan_prefixes: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True)
class BranchPlan:
    name: str
    branch_id: int
    tunnel_id: int
    ipsec_address: IPv4Address  # given by the hub's mode-config
    hub_ipsec_address: IPv4Address
    eoip_network: IPv4Network
    hub_eoip_address: IPv4Interface
    branch_eoip_address: IPv4Interface
    hub_interface: str
    branch_interface: str
    router_id: IPv4Address
    client_certificate: str
    mode_config: str
    peer: str  # the branch's peer entry pointing at the hub
    wan_address: IPv4Address | None = None
    lan_prefixes: tuple[IPv4Network, ...] = ()  # what the other sites should learn over OSPF
    # mid-renewal: the older client certificate the hub still accepts beside client_certificate (a second
    # identity), until the branch has moved to the new one
    previous_certificate: str = ""


@dataclass(frozen=True)
class Plan:
    hub: HubPlan
    branches: tuple[BranchPlan, ...]

    @cached_property
    def _by_name(self) -> dict[str, BranchPlan]:  # per-host lookups over a fleet stay linear in total
        return {b.name: b for b in self.branches}

    def branch(self, name: str) -> BranchPlan:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no branch {name!r} in the plan") from None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: addresses as strings, branches keyed by name in branch_id order."""
        return {
            "hub": _strings(asdict(self.hub)),
            "branches": {b.name: _strings(asdict(b)) for b in self.branches},
        }


def _strings(data: dict[str, Any]) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, int | str) or value is None:
            return value
        if isinstance(value, tuple | list):
            return [one(v) for v in value]
        return str(value)

    return {k: one(v) for k, v in data.items()}


def hub_ipsec_address(fleet: Fleet) -> IPv4Address:
    return fleet.defaults.pools.ipsec.network_address + 1


def branch_ipsec_address(fleet: Fleet, branch_id: int) -> IPv4Address:
    return hub_ipsec_address(fleet) + branch_id


def eoip_network(fleet: Fleet, branch_id: int) -> IPv4Network:
    pool = fleet.defaults.pools.eoip
    return IPv4Network((int(pool.network_address) + 4 * (branch_id - 1), 30))


def plan_branch(fleet: Fleet, site: Site) -> BranchPlan:
    """A branch's plan depends only on its own data and the fleet-wide pools."""
    assert site.branch_id is not None
    net = eoip_network(fleet, site.branch_id)
    return BranchPlan(
        name=site.name,
        branch_id=site.branch_id,
        tunnel_id=site.branch_id,
        ipsec_address=branch_ipsec_address(fleet, site.branch_id),
        hub_ipsec_address=hub_ipsec_address(fleet),
        eoip_network=net,
        hub_eoip_address=IPv4Interface((net.network_address + 1, 30)),
        branch_eoip_address=IPv4Interface((net.network_address + 2, 30)),
        hub_interface=NAMES["hub_eoip"].format(branch=site.name),
        branch_interface=NAMES["branch_eoip"],
        router_id=site.effective_router_id,
        client_certificate=NAMES["branch_certificate"].format(branch=site.name),
        mode_config=NAMES["mode_config"].format(branch=site.name),
        peer=NAMES["branch_peer"],
        wan_address=site.wan_ip,
        lan_prefixes=site.lan_prefixes,
    )


def build_plan(fleet: Fleet) -> Plan:
    hub = HubPlan(
        name=fleet.hub.name,
        wan_address=fleet.hub.wan_ip,
        ipsec_address=hub_ipsec_address(fleet),
        router_id=fleet.hub.effective_router_id,
        ca_certificate=NAMES["ca_certificate"],
        server_certificate=NAMES["hub_certificate"],
        peer=NAMES["hub_peer"],
        ipsec_bridge=NAMES["ipsec_bridge"],
        lan_prefixes=fleet.hub.lan_prefixes,
    )
    return Plan(hub=hub, branches=tuple(plan_branch(fleet, b) for b in fleet.branches))


# A renewed client certificate gets a new name, `<branch>-client-<UTC time>` (the common name stays
# `<branch>-client`): the old one keeps the tunnel working until the identities name the new one.
RENEWED = re.compile(r"-(\d{14})$")


def client_base(name: str) -> str:
    """`br2-client-20261206183000` -> `br2-client` (names without the time are returned as they are)."""
    return RENEWED.sub("", name)


def client_versions(names: Iterable[str], base: str) -> list[str]:
    """The names in `names` that are `base` or a renewal of it, oldest first (`base` itself is oldest)."""
    # a renewal's name starts with its base: the cheap test first (the hub's certificates are many)
    ours = [n for n in names if n.startswith(base) and (n == base or client_base(n) == base)]
    return sorted(ours, key=lambda n: (n != base, n))


def renewal_name(base: str, taken: Iterable[str], now: datetime) -> str:
    """A name for `base`'s next certificate, later than every version in `taken`."""
    versions = client_versions(taken, base)
    stamp = int(f"{now:%Y%m%d%H%M%S}")
    last = RENEWED.search(versions[-1]) if versions else None
    if last and int(last[1]) >= stamp:
        stamp = int(last[1]) + 1
    return f"{base}-{stamp}"


def resolve_client(plan: Plan, branch: str, names: Iterable[str]) -> Plan:
    """`resolve_clients` for one branch (its newest client certificate among `names`), the others left as
    they are: a task on one branch reads only its own certificates, and resolving every branch of the
    plan per branch would grow with the square of the fleet."""
    b = plan.branch(branch)
    versions = client_versions(names, b.client_certificate)
    if not versions:
        return plan
    mine = replace(b, client_certificate=versions[-1])
    return Plan(hub=plan.hub, branches=tuple(mine if x is b else x for x in plan.branches))


def resolve_clients(plan: Plan, names: Iterable[str]) -> Plan:
    """The plan with each branch's client certificate named as its newest version among `names` (the
    certificates the hub holds): the name both identities use. Branches without one keep the base name."""
    present = list(names)
    by_base: dict[str, list[str]] = {}
    for name in present:
        by_base.setdefault(client_base(name), []).append(name)
    branches = []
    for b in plan.branches:
        versions = client_versions(by_base.get(b.client_certificate, []), b.client_certificate)
        # (a branch whose newest certificate is the one it names is kept: no copy of every branch a verify)
        newest = versions[-1] if versions else b.client_certificate
        branches.append(b if newest == b.client_certificate else replace(b, client_certificate=newest))
    return Plan(hub=plan.hub, branches=tuple(branches))
