"""`/routing bfd neighbor print detail` (v6): BFD sessions under OSPF on the tunnels."""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Milliseconds, Seconds


class BfdNeighbor(Common, total=False):
    """Intervals in milliseconds (RouterOS prints `0.2sec`), `uptime` in seconds."""

    state: str
    address: str
    interface: str
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


_MS_FIELDS = ("desired-tx-interval", "actual-tx-interval", "required-min-rx", "remote-min-rx", "hold-time")

BFD_NEIGHBOR = Spec(
    command="/routing bfd neighbor print",
    record=BfdNeighbor,
    legend={"U": "up"},
    flags={"up": "up"},
    aliases={name: name.replace("-", "_") + "_ms" for name in _MS_FIELDS},
    volatile=frozenset({"index", "object_id", "uptime", "state_changes", "packets_rx", "packets_tx"}),
)


def parse_bfd_neighbor(text: str) -> list[BfdNeighbor]:
    return run(text, BFD_NEIGHBOR)
