"""The fleet as typed, frozen data: the hub, the branches and the fleet-wide settings.

Pure data, built by `ikefleet.inventory` from the Nornir inventory files and read by everything after it
(plan, intent, checks); it imports nothing of ikefleet, so any module can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network


@dataclass(frozen=True)
class Site:
    """One router: the hub (IKEv2 responder + CA) or a branch (initiator)."""

    name: str
    role: str  # "responder" | "initiator"
    hostname: str
    port: int
    wan_address: IPv4Interface
    lan_prefixes: tuple[IPv4Network, ...]
    lan_interface: str
    branch_id: int | None = None
    router_id: IPv4Address | None = None
    ros_version: str | None = None

    @property
    def is_hub(self) -> bool:
        return self.role == "responder"

    @property
    def wan_ip(self) -> IPv4Address:
        return self.wan_address.ip

    @property
    def lan_gateway(self) -> IPv4Address:
        """The LAN bridge address: the first host of the first LAN prefix (the seed's 192.168.1.1)."""
        net = self.lan_prefixes[0]
        return net.network_address + 1 if net.prefixlen < 31 else net.network_address

    @property
    def effective_router_id(self) -> IPv4Address:
        return self.router_id or self.lan_gateway


@dataclass(frozen=True)
class Proposal:
    """IPsec phase 2 proposal (`/ip ipsec proposal`)."""

    name: str
    auth_algorithms: tuple[str, ...]
    enc_algorithms: tuple[str, ...]
    pfs_group: str
    lifetime: str  # RouterOS form, e.g. "30m"


@dataclass(frozen=True)
class Profile:
    """IKE phase 1 profile (`/ip ipsec profile`)."""

    name: str
    hash_algorithm: str
    prf_algorithm: str
    enc_algorithm: tuple[str, ...]
    dh_group: tuple[str, ...]
    lifetime: str
    dpd_interval: str


@dataclass(frozen=True)
class Crypto:
    policy_group: str
    proposal: Proposal
    profile: Profile


@dataclass(frozen=True)
class Pools:
    ipsec: IPv4Network  # IPsec inner addresses: hub = first host, branch k = first host + k
    eoip: IPv4Network  # EoIP /30s: branch k gets the k-th /30 (hub .1, branch .2)


@dataclass(frozen=True)
class Ospf:
    area: str
    redistribute_connected: str
    export_prefixes: tuple[IPv4Network, ...]  # ospf-out accepts these (and longer); discards the rest


@dataclass(frozen=True)
class Certificates:
    key_size: int
    ca_days_valid: int
    days_valid: int
    renew_window_days: int
    sign_timeout_s: int = 0  # 0: derived from the key size (tasks/pki.sign_timeout)


@dataclass(frozen=True)
class Defaults:
    """Fleet-wide settings from defaults.yaml `data:`."""

    crypto: Crypto
    pools: Pools
    ospf: Ospf
    certificates: Certificates
    ntp_servers: tuple[str, ...]
    wan_interface_list: str
    lan_interface: str


@dataclass(frozen=True)
class Fleet:
    hub: Site
    branches: tuple[Site, ...]
    defaults: Defaults
    # host -> its groups, for --limit (ikefleet.selection)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sites(self) -> tuple[Site, ...]:
        return (self.hub, *self.branches)

    @cached_property
    def _by_name(self) -> dict[str, Site]:  # per-host lookups over a fleet stay linear in total
        return {site.name: site for site in self.sites}

    def site(self, name: str) -> Site:
        try:
            return self._by_name[name]
        except KeyError:
            hosts = ", ".join(s.name for s in self.sites)
            raise KeyError(f"no host {name!r} in the inventory (hosts: {hosts})") from None


def with_versions(fleet: Fleet, versions: Mapping[str, str]) -> Fleet:
    """The fleet as it really runs: each named site's ros_version replaced by its detected version, so
    templates, intended configuration and expected state follow the routers, not the inventory. The fleet
    itself when the inventory says so already (a task calls this per host: no copy of the whole fleet)."""
    known = fleet._by_name
    versions = {n: v for n, v in versions.items() if n in known and known[n].ros_version != v}
    if not versions:
        return fleet

    def site(s: Site) -> Site:
        return replace(s, ros_version=versions[s.name]) if s.name in versions else s

    return replace(fleet, hub=site(fleet.hub), branches=tuple(site(b) for b in fleet.branches))
