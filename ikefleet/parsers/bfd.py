"""BFD sessions under OSPF on the tunnels: v6 `/routing bfd neighbor print detail` and v7
`/routing bfd session print [detail]`, one record type.

v6 prints `address=` and `interface=`; v7 has no `interface=`: the interface (and a VRF other than main) is
part of the address, `remote-address=172.16.0.2%eoip-hub@vrf1` (help.mikrotik.com "BFD" capture). Records
carry `address`, `interface` and `vrf` either way, so the checks select sessions the same on both.
"""

from __future__ import annotations

from typing import Any

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Milliseconds, Seconds


class BfdNeighbor(Common, total=False):
    """Intervals in milliseconds (v6 prints `0.2sec`, v7 `200ms`), `uptime` in seconds. v7:
    `remote_address` as printed (`IP%iface@vrf`), `address`/`interface`/`vrf` split out of it."""

    state: str
    address: str
    remote_address: str
    local_address: str
    interface: str
    vrf: str
    protocols: list[str]
    multihop: bool
    state_changes: int
    uptime: Seconds
    desired_tx_interval_ms: Milliseconds
    actual_tx_interval_ms: Milliseconds
    required_min_rx_ms: Milliseconds
    remote_min_rx_ms: Milliseconds
    multiplier: int
    hold_time_ms: Milliseconds
    packets_rx: int
    packets_tx: int
    up: bool
    inactive: bool


_MS_FIELDS = ("desired-tx-interval", "actual-tx-interval", "required-min-rx", "remote-min-rx", "hold-time")


def _split_remote(record: dict[str, Any]) -> None:
    """v7 `remote-address=IP%iface@vrf` -> address, interface, vrf (main when no `@`)."""
    remote = record.get("remote_address")
    if not remote:
        return
    rest, at, vrf = remote.partition("@")
    address, percent, interface = rest.partition("%")
    record.setdefault("address", address)
    if percent:
        record.setdefault("interface", interface)
    record.setdefault("vrf", vrf if at else "main")


_VOLATILE = frozenset({"index", "object_id", "uptime", "state_changes", "packets_rx", "packets_tx"})

BFD_NEIGHBOR = Spec(
    command="/routing bfd neighbor print",
    record=BfdNeighbor,
    legend={"U": "up"},
    flags={"up": "up"},
    aliases={name: name.replace("-", "_") + "_ms" for name in _MS_FIELDS},
    post=_split_remote,
    volatile=_VOLATILE,
)
# v7: "Flags: U - up, I - inactive"; an inactive session carries its reason as a `;;;` comment
BFD_SESSION = Spec(
    command="/routing bfd session print",
    record=BfdNeighbor,
    legend={"U": "up", "I": "inactive"},
    flags={"up": "up", "inactive": "inactive"},
    aliases=BFD_NEIGHBOR.aliases,
    post=_split_remote,
    volatile=_VOLATILE,
)


def parse_bfd_neighbor(text: str) -> list[BfdNeighbor]:
    return run(text, BFD_NEIGHBOR)


def parse_bfd_session(text: str) -> list[BfdNeighbor]:
    return run(text, BFD_SESSION)
