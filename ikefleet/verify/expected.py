"""The expected state, derived from the inventory and the plan only (never written by hand).

`expected_state(fleet, plan)` says, per branch, what its tunnel to the hub must look like from both ends,
and per host which configuration it must hold (the rendered intent, compared by the diff engine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from ikefleet.diff import Remediation
from ikefleet.fleet import Fleet
from ikefleet.intent import render_host
from ikefleet.plan import Plan
from ikefleet.routeros.config import Config
from ikefleet.routeros.script import parse_script
from ikefleet.verify.gather import route_filter

_ENC = re.compile(r"^(?P<family>[a-z0-9]+)-(?P<bits>\d+)-(?P<mode>[a-z]+)$")  # aes-256-cbc


def sa_algorithms(enc_algorithms: tuple[str, ...]) -> set[tuple[str, int]]:
    """Proposal names as installed-sa shows them: `aes-256-cbc` -> ("aes-cbc", 256)."""
    out: set[tuple[str, int]] = set()
    for name in enc_algorithms:
        if m := _ENC.match(name):
            out.add((f"{m['family']}-{m['mode']}", int(m["bits"])))
        else:
            out.add((name, 0))
    return out


@dataclass(frozen=True)
class Tunnel:
    """One branch's tunnel to the hub, as the plan has it."""

    branch: str
    branch_wan: str
    hub_wan: str
    tunnel_id: int
    branch_interface: str
    hub_interface: str
    branch_ipsec: str
    hub_ipsec: str
    branch_eoip: str  # interface address without prefix length
    hub_eoip: str
    branch_router_id: str
    hub_router_id: str
    branch_lans: tuple[IPv4Network, ...]
    client_certificate: str


@dataclass(frozen=True)
class Expected:
    hub: str
    hub_wan: str
    hub_lans: tuple[IPv4Network, ...]
    tunnels: dict[str, Tunnel]
    eoip_pool: IPv4Network
    auth_algorithms: frozenset[str]
    enc_algorithms: frozenset[tuple[str, int]]
    proposal: str
    ca_certificate: str
    server_certificate: str
    min_certificate_days: int
    ntp_expected: bool
    intended: dict[str, Config]
    # host -> the diff of its configuration as read against `intended`, when the caller made it already (a
    # rollout's reach diffs every branch it reads): config.drift reads it instead of making it again
    diffs: dict[str, Remediation] = field(default_factory=dict)

    @property
    def hosts(self) -> list[str]:
        return [self.hub, *self.tunnels]

    def certificate_of(self, host: str) -> str:
        return self.server_certificate if host == self.hub else self.tunnels[host].client_certificate


def expected_state(fleet: Fleet, plan: Plan, hosts: list[str] | None = None) -> Expected:
    """Everything the checks compare against; `hosts` limits which intended configs are rendered."""
    d = fleet.defaults
    h = plan.hub
    tunnels = {
        b.name: Tunnel(
            branch=b.name,
            branch_wan=str(b.wan_address),
            hub_wan=str(h.wan_address),
            tunnel_id=b.tunnel_id,
            branch_interface=b.branch_interface,
            hub_interface=b.hub_interface,
            branch_ipsec=str(b.ipsec_address),
            hub_ipsec=str(b.hub_ipsec_address),
            branch_eoip=str(b.branch_eoip_address.ip),
            hub_eoip=str(b.hub_eoip_address.ip),
            branch_router_id=str(b.router_id),
            hub_router_id=str(h.router_id),
            branch_lans=tuple(b.lan_prefixes),
            client_certificate=b.client_certificate,
        )
        for b in plan.branches
    }
    names = hosts if hosts is not None else [h.name, *tunnels]
    return Expected(
        hub=h.name,
        hub_wan=str(h.wan_address),
        hub_lans=tuple(h.lan_prefixes),
        tunnels=tunnels,
        eoip_pool=d.pools.eoip,
        auth_algorithms=frozenset(d.crypto.proposal.auth_algorithms),
        enc_algorithms=frozenset(sa_algorithms(d.crypto.proposal.enc_algorithms)),
        proposal=d.crypto.proposal.name,
        ca_certificate=h.ca_certificate,
        server_certificate=h.server_certificate,
        min_certificate_days=d.certificates.renew_window_days,
        ntp_expected=bool(d.ntp_servers),
        intended={n: parse_script(render_host(fleet, plan, n)) for n in names},
    )


def route_reads(fleet: Fleet, plan: Plan) -> dict[str, str]:
    """host -> the `where` of its route read: what the route checks look at. The hub checks every
    branch's LANs (all OSPF routes); a branch checks the hub's LANs and that nothing inside the EoIP pool
    leaked, so it reads only those (not every other branch's LAN: the fleet squared)."""
    branch = route_filter([*plan.hub.lan_prefixes, fleet.defaults.pools.eoip])
    return {plan.hub.name: "ospf", **{b.name: branch for b in plan.branches}}
