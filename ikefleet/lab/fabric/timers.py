"""Time-driven fields of state items: uptimes, SA lifetimes with rekeying, counters, adjacency, BFD."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..router import Router
from . import ospf_state
from .common import Memory, clock, format_date, format_duration, memory, number, token
from .items import ACTIVE_PEERS, BFD, INSTALLED_SA, OSPF_NEIGHBOR, set_flags

SA_SOFT = 0.8  # RouterOS rekeys an SA at 80% of its lifetime (add-lifetime=soft/hard)
SA_BYTES_PER_S = 96  # EoIP keepalives + OSPF hellos + BFD over an idle tunnel, per direction


def age(router: Router, now: datetime, path: str | None = None) -> None:
    """Bring `path`'s items (None: every timed menu's) to lab time `now`. A read ages only its own menu:
    the hub's batch reads four of them, each over a thousand sessions."""
    mem = memory(router)
    for menu, ager in AGERS.items():
        if path is None or path == menu:
            ager(router, mem, now)


def _active_peers(router: Router, mem: Memory, now: datetime) -> None:
    for item in router.config.items(ACTIVE_PEERS):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None:
            item.values["uptime"] = format_duration((now - since).total_seconds())


def _installed_sa(router: Router, mem: Memory, now: datetime) -> None:
    v7 = router.major_version >= 7
    for item in router.config.items(INSTALLED_SA):
        since = mem.since.get(item.private.get("session", ""))
        if since is None:
            continue
        lifetime = int(item.private["lifetime"])
        soft = max(1, int(lifetime * SA_SOFT))
        elapsed = max(0, int((now - since).total_seconds()))
        generation, age = divmod(elapsed, soft)
        seed = item.private["seed"]
        spi = token(seed, generation)
        added = clock(router, since) + timedelta(seconds=generation * soft)
        packets = age * SA_BYTES_PER_S // 96
        item.values |= {
            "spi": f"0x{spi:X}",
            "addtime": format_date(added),
            "expires-in": format_duration(lifetime - age),
            "add-lifetime": f"{format_duration(soft)}/{format_duration(lifetime)}",
            "current-bytes": str(age * SA_BYTES_PER_S),
            "current-packets": str(packets),
        }
        if v7:  # v7 S: this SA (this generation) has carried traffic
            letters = item.status.get("flags", "").replace("S", "")
            set_flags(item, INSTALLED_SA, ("S" if age else "") + letters)
        key_size = number(item.values.get("enc-key-size", "0"), 0)
        item.private["enc-key"] = f"{token(seed, generation, 'enc', size=32):064x}"[: max(key_size // 4, 0)]
        if "auth-algorithm" in item.values:
            item.private["auth-key"] = f"{token(seed, generation, 'auth', size=32):064x}"


def _ospf_neighbor(router: Router, mem: Memory, now: datetime) -> None:
    for item in router.config.items(OSPF_NEIGHBOR):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None:
            item.values["adjacency"] = format_duration((now - since).total_seconds())
            if "dead" in item.private:  # v7
                ospf_state.timeout(item, (now - since).total_seconds())


def _bfd(router: Router, mem: Memory, now: datetime) -> None:
    for item in router.config.items(BFD):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None and item.values.get("state") == "up":
            up = (now - since).total_seconds()
            item.values["uptime"] = format_duration(up)
            item.values["packets-rx"] = str(int(up / 0.2))
            item.values["packets-tx"] = str(int(up / 0.2) + 1)


AGERS = {ACTIVE_PEERS: _active_peers, INSTALLED_SA: _installed_sa, OSPF_NEIGHBOR: _ospf_neighbor, BFD: _bfd}
AGED = tuple(AGERS)  # the menus `age` brings to lab time
