"""Daemon output -> RouterOS dynamic items: `swanctl --list-sas` -> active-peers and installed-sa,
`show ip ospf neighbor json` -> `/routing ospf neighbor`. Parsers are pure; `fill` writes the same items
(paths, values, flags) the model fabric writes, so the lab's print/render code shows them unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..fabric.ike import sa_algorithms
from ..fabric.items import ACTIVE_PEERS, INSTALLED_SA, OSPF_NEIGHBOR, add
from ..router import Router

OWNED = (ACTIVE_PEERS, INSTALLED_SA, OSPF_NEIGHBOR)  # the paths `fill` writes

# strongSwan's names -> RouterOS proposal names (installed-sa shows these, via sa_algorithms)
ENCRYPTION = {"AES_CBC": "aes-{size}-cbc", "AES_CTR": "aes-{size}-ctr", "AES_GCM_16": "aes-{size}-gcm"}
ENCRYPTION |= {"3DES_CBC": "3des", "CAMELLIA_CBC": "camellia-{size}", "NULL": "null"}
INTEGRITY = {"HMAC_SHA1_96": "sha1", "HMAC_SHA2_256_128": "sha256", "HMAC_SHA2_512_256": "sha512"}
INTEGRITY |= {"HMAC_MD5_96": "md5"}
OSPF_STATES = {"Full": "Full", "2-Way": "2-Way", "Init": "Init", "ExStart": "ExStart", "Exchange": "Exchange"}
OSPF_STATES |= {"Loading": "Loading", "Down": "Down", "Attempt": "Attempt"}

_IKE = re.compile(r"^(?P<conn>\S+): #\d+, (?P<state>[A-Z_]+), IKEv2, \S+_i(?P<i>\*?) \S+_r(?P<r>\*?)")
_END = re.compile(
    r"^\s+(?P<side>local|remote)\s+'(?P<id>[^']*)' @ (?P<addr>[^\[]+)\[\d+\](?: \[(?P<vip>[^\]]+)\])?"
)
_CHILD = re.compile(r"^\s+(?P<name>\S+): #\d+, reqid \d+, (?P<state>[A-Z_]+), \S+, ESP:(?P<algos>\S+)")
_TRAFFIC = re.compile(
    r"^\s+(?P<dir>in|out)\s+(?P<spi>[0-9a-f]+)(?:_i)?,\s+(?P<bytes>\d+) bytes,\s+(?P<pkts>\d+) packets"
)
_TS = re.compile(r"^\s+(?P<side>local|remote)\s+(?P<ts>\d[\d./, ]*)$")


@dataclass
class ChildSa:
    state: str
    algorithms: str  # e.g. AES_CBC-256/HMAC_SHA2_256_128
    spi: dict[str, str] = field(default_factory=dict)  # in/out -> hex
    bytes: dict[str, int] = field(default_factory=dict)
    packets: dict[str, int] = field(default_factory=dict)
    ts: dict[str, str] = field(default_factory=dict)  # local/remote -> selectors


@dataclass
class IkeSa:
    connection: str
    state: str
    initiator: bool
    ids: dict[str, str] = field(default_factory=dict)  # local/remote -> identity
    addresses: dict[str, str] = field(default_factory=dict)
    vips: dict[str, str] = field(default_factory=dict)
    children: list[ChildSa] = field(default_factory=list)


def parse_list_sas(text: str) -> list[IkeSa]:
    """`swanctl --list-sas` (default text form) -> IKE SAs with their child SAs."""
    sas: list[IkeSa] = []
    for line in text.splitlines():
        if m := _IKE.match(line):
            sas.append(IkeSa(m["conn"], m["state"], initiator=bool(m["i"])))
        elif not sas:
            continue
        elif (m := _CHILD.match(line)) is not None:
            sas[-1].children.append(ChildSa(m["state"], m["algos"]))
        elif (m := _END.match(line)) is not None and not sas[-1].children:
            sas[-1].ids[m["side"]], sas[-1].addresses[m["side"]] = m["id"], m["addr"].strip()
            if m["vip"]:
                sas[-1].vips[m["side"]] = m["vip"]
        elif (m := _TRAFFIC.match(line)) is not None and sas[-1].children:
            child = sas[-1].children[-1]
            child.spi[m["dir"]], child.bytes[m["dir"]] = m["spi"], int(m["bytes"])
            child.packets[m["dir"]] = int(m["pkts"])
        elif (m := _TS.match(line)) is not None and sas[-1].children:
            sas[-1].children[-1].ts[m["side"]] = m["ts"].strip()
    return sas


def proposal_names(algorithms: str) -> tuple[str, str]:
    """`AES_CBC-256/HMAC_SHA2_256_128` -> (`aes-256-cbc`, `sha256`); unknown names pass through lowered."""
    enc, _, auth = algorithms.partition("/")
    name, _, size = enc.partition("-")
    enc_name = ENCRYPTION.get(name, name.lower()).format(size=size)
    return enc_name, INTEGRITY.get(auth, auth.lower() or "null")


def parse_ospf_neighbors(text: str) -> list[dict[str, str]]:
    """`show ip ospf neighbor json` (FRR 8.4) -> one dict per neighbour: router-id, address, interface,
    state (RouterOS spelling), priority."""
    data = json.loads(text or "{}")
    out = []
    for rid, entries in (data.get("neighbors") or {}).items():
        for entry in entries:
            state = str(entry.get("nbrState") or entry.get("state") or "").split("/")[0]
            out.append(
                {
                    "router-id": rid,
                    "address": str(entry.get("ifaceAddress") or entry.get("address") or ""),
                    "interface": str(entry.get("ifaceName") or "").split(":")[0],
                    "state": OSPF_STATES.get(state, state),
                    "priority": str(entry.get("priority", entry.get("nbrPriority", 1))),
                }
            )
    return out


# charon log line -> the RouterOS /log message (the fabric's wording, `ikefleet.lab.fabric.ike.LOG`)
FAILURES = (
    (re.compile(r"received NO_PROPOSAL_CHOSEN notify"), "{remote} received notify: NO_PROPOSAL_CHOSEN"),
    (
        re.compile(r"no acceptable proposal found|received proposals .* no acceptable"),
        "no suitable proposal found",
    ),
    (re.compile(r"received AUTHENTICATION_FAILED notify"), "{remote} received notify: AUTHENTICATION_FAILED"),
)
_PACKET = re.compile(r"(?P<dir>sending|received) packet: from (?P<src>[\d.]+)\[\d+\] to (?P<dst>[\d.]+)\[")


def ike_failures(log: str) -> list[str]:
    """RouterOS `ipsec,error` messages for the failures in a stretch of charon's log, each once."""
    out: list[str] = []
    remote = ""
    for line in log.splitlines():
        if m := _PACKET.search(line):
            remote = m["dst"] if m["dir"] == "sending" else m["src"]
        for pattern, message in FAILURES:
            if pattern.search(line):
                text = message.format(remote=remote)
                if text not in out:
                    out.append(text)
    return out


def fill(router: Router, sas: list[IkeSa], neighbors: list[dict[str, str]]) -> None:
    """Replace the router's dynamic active-peers, installed-sa and OSPF neighbour items with what the daemons
    report (RouterOS layout, fabric flags); other dynamic items (routes, addresses) are left alone."""
    for path in OWNED:
        items = router.config.items(path)
        items[:] = [i for i in items if not i.dynamic]
    for sa in sas:
        if sa.state != "ESTABLISHED":
            continue
        local, remote = sa.addresses.get("local", ""), sa.addresses.get("remote", "")
        installed = [c for c in sa.children if c.state == "INSTALLED"]
        values = {"id": sa.ids.get("remote", ""), "local-address": local, "remote-address": remote}
        values |= {"state": "established", "side": "initiator" if sa.initiator else "responder"}
        if not sa.initiator and "remote" in sa.vips:
            values["dynamic-address"] = sa.vips["remote"]
        values |= {"uptime": "0s", "ph2-total": str(len(installed))}
        add(router, ACTIVE_PEERS, values, "" if sa.initiator else "R")
        for child in installed:
            enc, auth = proposal_names(child.algorithms)
            algorithms = sa_algorithms(enc, auth)
            for direction, (src, dst) in (("in", (remote, local)), ("out", (local, remote))):
                v = {"spi": "0x" + (child.spi.get(direction, "0").upper().lstrip("0") or "0")}
                v |= {"src-address": src, "dst-address": dst, "state": "mature", **algorithms}
                v |= {"addtime": "", "expires-in": "", "add-lifetime": ""}
                v |= {"current-bytes": str(child.bytes.get(direction, 0))}
                v |= {"current-packets": str(child.packets.get(direction, 0)), "replay": "128"}
                add(router, INSTALLED_SA, v, "E")
    for nb in neighbors:
        values = {"instance": "default", **{k: nb[k] for k in ("router-id", "address", "interface", "state")}}
        values |= {"priority": nb["priority"], "dr-address": "0.0.0.0", "backup-dr-address": "0.0.0.0"}
        values |= {"state-changes": "1", "ls-retransmits": "0", "ls-requests": "0", "db-summaries": "0"}
        values["adjacency"] = "0s"
        add(router, OSPF_NEIGHBOR, values, "")
