"""`/interface print`, `/interface eoip print` and `/ip address print`."""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run


class Interface(Common, total=False):
    name: str
    type: str
    mtu: str
    actual_mtu: int
    l2mtu: int
    max_l2mtu: int
    mac_address: str
    dynamic: bool
    disabled: bool
    running: bool
    slave: bool


class EoipInterface(Common, total=False):
    """An EoIP tunnel; its `ipsec_secret` is dropped at parse time. `mtu` may be `auto`."""

    name: str
    mtu: str
    actual_mtu: int
    l2mtu: int
    mac_address: str
    arp: str
    arp_timeout: str
    loop_protect: str
    loop_protect_status: str
    loop_protect_send_interval: str
    loop_protect_disable_time: str
    local_address: str
    remote_address: str
    tunnel_id: int
    keepalive: str
    dscp: str
    clamp_tcp_mss: bool
    dont_fragment: str
    allow_fast_path: bool
    disabled: bool
    running: bool


class Address(Common, total=False):
    address: str
    network: str
    interface: str
    actual_interface: str
    disabled: bool
    invalid: bool
    dynamic: bool


INTERFACE = Spec(
    command="/interface print",
    record=Interface,
    legend={"D": "dynamic", "X": "disabled", "R": "running", "S": "slave"},
    flags={n: n for n in ("dynamic", "disabled", "running", "slave")},
)
EOIP = Spec(
    command="/interface eoip print",
    record=EoipInterface,
    legend={"X": "disabled", "R": "running"},
    flags={"disabled": "disabled", "running": "running"},
)
ADDRESS = Spec(
    command="/ip address print",
    record=Address,
    legend={"X": "disabled", "I": "invalid", "D": "dynamic"},
    flags={n: n for n in ("disabled", "invalid", "dynamic")},
)


def parse_interface(text: str) -> list[Interface]:
    return run(text, INTERFACE)


def parse_eoip(text: str) -> list[EoipInterface]:
    return run(text, EOIP)


def parse_address(text: str) -> list[Address]:
    return run(text, ADDRESS)
