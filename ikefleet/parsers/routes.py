"""`/ip route print [detail] [where ...]` (and v7 `/routing route print detail`), v6 and v7 flags.

`gateway` is a list: ECMP prints several (v6 on continuation rows or comma-joined; v7 as `+` rows).
"""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run


class Route(Common, total=False):
    dst_address: str
    gateway: list[str]
    gateway_status: str
    immediate_gw: str
    pref_src: str
    distance: int
    scope: int
    target_scope: int
    routing_mark: str
    routing_table: str
    vrf_interface: str
    local_address: str
    suppress_hw_offload: bool
    check_gateway: str
    type: str
    ospf_metric: int
    ospf_type: str
    belongs_to: str
    disabled: bool
    active: bool
    dynamic: bool
    inactive: bool
    connected: bool
    static: bool
    rip: bool
    bgp: bool
    ospf: bool
    dhcp: bool
    vpn: bool
    ecmp: bool
    blackhole: bool
    unreachable: bool
    prohibit: bool


# v6 and v7 letters together: they agree where they overlap (v6 upper-case C/S, v7 lower-case c/s)
_LEGEND = {
    "X": "disabled",
    "A": "active",
    "D": "dynamic",
    "I": "inactive",
    "F": "filtered",
    "C": "connect",
    "c": "connect",
    "S": "static",
    "s": "static",
    "r": "rip",
    "b": "bgp",
    "o": "ospf",
    "m": "mme",
    "d": "dhcp",
    "v": "vpn",
    "y": "bgp-mpls-vpn",
    "H": "hw-offloaded",
    "+": "ecmp",
    "B": "blackhole",
    "U": "unreachable",
    "P": "prohibit",
}
# flag name -> record field: the record's own name except "connect" (its field says what it means)
_FLAGS = {name: "connected" if name == "connect" else name.replace("-", "_") for name in _LEGEND.values()}

ROUTE = Spec(command="/ip route print", record=Route, legend=_LEGEND, flags=_FLAGS)


def parse_route(text: str) -> list[Route]:
    return run(text, ROUTE)
