"""Settings menus printed as `name: value`: resource, identity, clock, NTP client. One record each."""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Bytes, Percent, Seconds


class Resource(Common, total=False):
    """Memory and disk in bytes (`40.2MiB` -> 42152755), loads in percent, uptime in seconds."""

    uptime: Seconds
    version: str
    build_time: str
    factory_software: str
    free_memory: Bytes
    total_memory: Bytes
    cpu: str
    cpu_count: int
    cpu_frequency: str
    cpu_load: Percent
    free_hdd_space: Bytes
    total_hdd_space: Bytes
    write_sect_since_reboot: int
    write_sect_total: int
    bad_blocks: Percent
    architecture_name: str
    board_name: str
    platform: str


class Identity(Common, total=False):
    name: str


class Clock(Common, total=False):
    time: str
    date: str
    time_zone_autodetect: bool
    time_zone_name: str
    gmt_offset: str
    dst_active: bool


class NtpClient(Common, total=False):
    """v6 (`primary-ntp`, `last-update-before`) and v7 (`servers`, `synced-server`) fields together."""

    enabled: bool
    mode: str
    primary_ntp: str
    secondary_ntp: str
    server_dns_names: list[str]
    servers: list[str]
    vrf: str
    status: str
    last_update_from: str
    last_update_before: Seconds
    last_adjustment: str
    synced_server: str
    synced_stratum: int
    system_offset: str
    freq_drift: str


RESOURCE = Spec(
    command="/system resource print",
    record=Resource,
    settings=True,
    volatile=frozenset(
        {"uptime", "free_memory", "cpu_load", "free_hdd_space", "write_sect_since_reboot", "write_sect_total"}
    ),
)
IDENTITY = Spec(command="/system identity print", record=Identity, settings=True)
CLOCK = Spec(command="/system clock print", record=Clock, settings=True, volatile=frozenset({"time", "date"}))
NTP_CLIENT = Spec(
    command="/system ntp client print",
    record=NtpClient,
    settings=True,
    volatile=frozenset({"last_update_before", "last_adjustment", "system_offset", "freq_drift"}),
)


def parse_resource(text: str) -> list[Resource]:
    return run(text, RESOURCE)


def parse_identity(text: str) -> list[Identity]:
    return run(text, IDENTITY)


def parse_clock(text: str) -> list[Clock]:
    return run(text, CLOCK)


def parse_ntp_client(text: str) -> list[NtpClient]:
    return run(text, NTP_CLIENT)
