"""IPsec state items of established tunnels: active peers, generated policies, installed SA pairs."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache

from ikefleet.routeros.config import Item

from ..router import Router
from . import ike
from .common import data, host, memory
from .items import ACTIVE_PEERS, INSTALLED_SA, POLICY, add, set_flags


def v7_peer(key: str, rid: str, local: str, remote: str, side: str, mode_address: str | None, ph2: int
            ) -> dict[str, str]:
    """v7 active peer (v7__ip_ipsec_active-peers_print_detail__id-blog-hub): each address with its port
    (`local-port`/`remote-port`, printed `port=` as RouterOS does), `dynamic-address` before `uptime`,
    `last-seen`, the IKE SPIs. Port 500: the lab has no NAT (the capture's 4500 is NAT-T)."""
    spi = hashlib.sha256(key.encode()).hexdigest()
    values = {"id": rid, "local-address": local, "local-port": "500", "remote-address": remote,
              "remote-port": "500", "state": "established", "side": side}
    if side == "responder" and mode_address:
        values["dynamic-address"] = host(mode_address)
    return values | {"uptime": "0s", "last-seen": "0s", "ph2-total": str(ph2), "spii": spi[:16],
                     "spir": spi[16:32]}


def write(t: ike.Tunnel, now: datetime, seen: dict[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
    """Active peers, generated policies and SA pairs of one tunnel; returns the protected inner paths."""
    paths: dict[str, list[tuple[str, str]]] = {}
    i, r = t.initiator, t.responder
    ph2_ok = [p for p in t.phase2 if p.algorithms is not None]
    sides = ((i, "initiator", t.i_addr, t.r_addr, t.r_id), (r, "responder", t.r_addr, t.i_addr, t.i_id))
    for router, side, local, remote, rid in sides:
        mem = memory(router)
        session = f"{t.key}:peer"
        mem.up(session, now, seen[router.name])
        if router.major_version >= 7:
            values = v7_peer(t.key, rid, local, remote, side, t.mode_address, len(ph2_ok))
        else:
            values = {"id": rid, "local-address": local, "remote-address": remote}
            values |= {"state": "established", "side": side}
            if side == "responder" and t.mode_address:
                values["dynamic-address"] = host(t.mode_address)
            values |= {"uptime": "0s", "ph2-total": str(len(ph2_ok))}
        add(router, ACTIVE_PEERS, values, "R" if side == "responder" else "", session)
        peer_name = (t.i_peer if side == "initiator" else t.r_peer).get("name")  # type: ignore[union-attr]
        for p in t.phase2:
            src, dst = (p.src, p.dst) if side == "initiator" else (p.dst, p.src)
            configured = p.i_item if side == "initiator" else p.r_item
            if configured is not None:
                _configured_status(configured, p)
            else:
                add(
                    router,
                    POLICY,
                    {
                        "peer": peer_name,
                        "tunnel": "yes",
                        "src-address": src,
                        "src-port": "any",
                        "dst-address": dst,
                        "dst-port": "any",
                        "protocol": p.protocol,
                        "action": "encrypt",
                        "level": p.level,
                        "ipsec-protocols": "esp",
                        "sa-src-address": local,
                        "sa-dst-address": remote,
                        "proposal": p.i_proposal if side == "initiator" else p.r_proposal,
                        "ph2-count": "1" if p.algorithms else "0",
                        "ph2-state": "established" if p.algorithms else "no-phase2",
                    },
                    "DA" if p.algorithms else "D",
                )
            if p.algorithms is None:
                continue
            paths.setdefault(router.name, []).append((src, dst))
            for sa_src, sa_dst in ((remote, local), (local, remote)):
                _add_sa(router, t, p, sa_src, sa_dst, now, seen)
    return paths


def reset_configured(router: Router) -> None:
    """Configured policies start every recompute without phase 2; `write` marks the established ones."""
    for item in router.config.items(POLICY):
        if not item.dynamic and not item.default and item.get("template") != "yes":
            item.status["ph2-state"] = "no-phase2"
            item.status["ph2-count"] = "0"
            set_flags(item, POLICY, "")


def _configured_status(item: Item, p: ike.Phase2) -> None:
    """A configured policy shows its phase 2 in status: `ph2-state`, `ph2-count` and the A flag."""
    item.status["ph2-state"] = "established" if p.algorithms else "no-phase2"
    item.status["ph2-count"] = "1" if p.algorithms else "0"
    set_flags(item, POLICY, "A" if p.algorithms else "")


def _add_sa(
    router: Router, t: ike.Tunnel, p: ike.Phase2, src: str, dst: str, now: datetime, seen: dict[str, set[str]]
) -> None:
    algorithms = dict(p.algorithms or {})
    lifetime = int(algorithms.pop("lifetime"))
    algorithms.pop("pfs-group", None)
    session = f"{t.key}:sa:{p.src}>{p.dst}:{src}>{dst}"
    memory(router).up(session, now, seen[router.name])
    enc = algorithms["enc-algorithm"]
    table = _accelerated(router.spec.model)
    hw = algorithms.get("auth-algorithm", "") in table.get(enc, ())
    values = {"spi": "0x0", "src-address": src, "dst-address": dst, "state": "mature", **algorithms}
    values |= {"addtime": "", "expires-in": "", "add-lifetime": ""}
    values |= {"current-bytes": "0", "current-packets": "0", "replay": "128"}
    item = add(router, INSTALLED_SA, values, ("H" if hw else "") + "E", session)
    item.private["lifetime"] = str(lifetime)
    item.private["seed"] = f"{t.key}:{src}>{dst}"


@cache
def _accelerated(model: str) -> dict[str, tuple[str, ...]]:
    """encryption -> hash algorithms the model's IPsec hardware handles (`hardware.yaml`)."""
    table = data("hardware.yaml")
    prefix = max((k for k in table if model.startswith(k)), key=len, default=None)
    return {k: tuple(str(x) for x in v) for k, v in (table[prefix] or {}).items()} if prefix else {}
