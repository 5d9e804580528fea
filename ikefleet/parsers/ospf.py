"""`/routing ospf neighbor print` and `/routing ospf interface print`, v6 and v7 in one schema each.

v6 names its DR fields `dr-address`/`backup-dr-address` and has `interface=`; v7 prints `dr`/`bdr`, `area=`
and `address=IP%iface`: records use the v7 names and get `interface` from the address when v7 omits it.
"""

from __future__ import annotations

from typing import Any

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Seconds


class OspfNeighbor(Common, total=False):
    """A neighbour; `state` as printed (`Full`, `2-Way`, ...), `adjacency` in seconds."""

    instance: str
    area: str
    router_id: str
    address: str
    interface: str
    priority: int
    dr: str
    bdr: str
    state: str
    state_changes: int
    ls_retransmits: int
    ls_requests: int
    db_summaries: int
    adjacency: Seconds
    timeout: Seconds
    virtual: bool
    dynamic: bool


class OspfInterface(Common, total=False):
    interface: str
    address: str
    area: str
    instance: str
    state: str
    network_type: str
    cost: int
    priority: int
    authentication: str
    authentication_key_id: int
    instance_id: int
    retransmit_interval: Seconds
    transmit_delay: Seconds
    hello_interval: Seconds
    dead_interval: Seconds
    use_bfd: bool
    dr: str
    bdr: str
    disabled: bool
    inactive: bool
    dynamic: bool
    passive: bool


def _interface_from_address(record: dict[str, Any]) -> None:
    # v7: "address=10.1.1.1%ether2" names the interface after the "%"
    address = record.get("address", "")
    if "interface" not in record and "%" in address:
        record["interface"] = address.split("%", 1)[1]


def _interface_fields(record: dict[str, Any]) -> None:
    """v7 interface rows: the interface from the address; `state=passive` (harness-A1M) is a state, kept as
    the string, and also what the v6 `P` flag says: the interface is passive."""
    _interface_from_address(record)
    if "%" in record.get("address", "") and "state" in record:  # a v7 row: no P flag, the state says it
        record["passive"] = record["state"] == "passive"


_DR = {"dr-address": "dr", "backup-dr-address": "bdr"}

NEIGHBOR = Spec(
    command="/routing ospf neighbor print",
    record=OspfNeighbor,
    legend={"V": "virtual", "D": "dynamic"},
    flags={"virtual": "virtual", "dynamic": "dynamic"},
    aliases=_DR,
    post=_interface_from_address,
    volatile=frozenset(
        {"index", "object_id", "adjacency", "timeout", "state_changes", "ls_retransmits", "ls_requests"}
        | {"db_summaries"}
    ),
)
INTERFACE = Spec(
    command="/routing ospf interface print",
    record=OspfInterface,
    legend={"X": "disabled", "I": "inactive", "D": "dynamic", "P": "passive"},
    flags={n: n for n in ("disabled", "inactive", "dynamic", "passive")},
    aliases=_DR,
    post=_interface_fields,
    # v6 table: "INTERFACE COST PRI NETWORK-TYPE AUT... AUTHENTICATIO..." at 80 columns
    columns=("interface", "cost", "priority", "network-type", "authentication", "authentication-key"),
)


def parse_ospf_neighbor(text: str) -> list[OspfNeighbor]:
    return run(text, NEIGHBOR)


def parse_ospf_interface(text: str) -> list[OspfInterface]:
    return run(text, INTERFACE)
