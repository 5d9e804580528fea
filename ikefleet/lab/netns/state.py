"""Daemon output -> RouterOS dynamic items: `swanctl --list-sas` -> active-peers, installed-sa and the
generated policies; FRR's `show ip ospf neighbor json` -> `/routing ospf neighbor`, `show bfd peers json` ->
`/routing bfd neighbor|session`, `show ip route ospf json` -> the OSPF entries of `/ip route`; VXLAN link
state + the child SAs -> EoIP `running`. Parsers are pure; `fill` writes the same items (paths, values,
flags) the model fabric writes, so the lab's print/render code shows them unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import ip_address, ip_network

from ..fabric.common import enabled, format_date, format_duration, host, value
from ..fabric.ike import sa_algorithms
from ..fabric.items import (
    ACTIVE_PEERS,
    BFD,
    BFD_V7,
    INSTALLED_SA,
    INTERFACE_MENUS,
    OSPF_NEIGHBOR,
    POLICY,
    ROUTE,
    add,
)
from ..router import Router

OWNED = (ACTIVE_PEERS, INSTALLED_SA, OSPF_NEIGHBOR, BFD, BFD_V7)  # dynamic items `fill` replaces wholesale
EOIP = "/interface eoip"

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
_AGE = re.compile(r"^\s+(?:established|installed) (?P<ago>\d+)s ago(?:.*expires in (?P<expires>\d+)s)?")
_TS = re.compile(r"^\s+(?P<side>local|remote)\s+(?P<ts>\d[\d./, ]*)$")


@dataclass
class ChildSa:
    state: str
    algorithms: str  # e.g. AES_CBC-256/HMAC_SHA2_256_128
    spi: dict[str, str] = field(default_factory=dict)  # in/out -> hex
    bytes: dict[str, int] = field(default_factory=dict)
    packets: dict[str, int] = field(default_factory=dict)
    ts: dict[str, str] = field(default_factory=dict)  # local/remote -> selectors
    installed_s: int = 0  # seconds since installed (charon's "installed Ns ago")
    expires_s: int = 0  # hard lifetime left


@dataclass
class IkeSa:
    connection: str
    state: str
    initiator: bool
    ids: dict[str, str] = field(default_factory=dict)  # local/remote -> identity
    addresses: dict[str, str] = field(default_factory=dict)
    vips: dict[str, str] = field(default_factory=dict)
    children: list[ChildSa] = field(default_factory=list)
    established_s: int = 0


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
        elif (m := _AGE.match(line)) is not None:
            if sas[-1].children:
                child = sas[-1].children[-1]
                child.installed_s, child.expires_s = int(m["ago"]), int(m["expires"] or 0)
            else:
                sas[-1].established_s = int(m["ago"])
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
                    "adjacency": format_duration(int(entry.get("upTimeInMsec", 0)) // 1000),
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


def parse_vtysh_json(text: str) -> list[object]:
    """The JSON documents one `vtysh -c A -c B ...` printed one after the other. A command that answered
    with text instead (`% OSPF instance not found`) counts as None, so positions still match the commands."""
    decoder, out, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            doc, end = None, text.find("\n", pos)
            pos = len(text) if end < 0 else end
        out.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_bfd_peers(data: object) -> list[dict[str, str]]:
    """`show bfd peers json` -> peer address, interface, state (`up`/`down`/`init`), multiplier, intervals."""
    out = []
    for peer in data if isinstance(data, list) else []:
        out.append(
            {
                "address": str(peer.get("peer", "")),
                "interface": str(peer.get("interface", "")),
                "state": str(peer.get("status", "down")),
                "multiplier": str(peer.get("detect-multiplier", peer.get("remote-detect-multiplier", 3))),
                "tx": str(peer.get("transmit-interval", 300)),
                "rx": str(peer.get("receive-interval", 300)),
                "uptime": format_duration(int(peer.get("uptime", 0))) if peer.get("status") == "up" else "0s",
            }
        )
    return out


OSPF_TYPES = (("E1", "external-type-1"), ("E2", "external-type-2"), ("IA", "inter-area"), ("N", "intra-area"))


def parse_ospf_types(data: object) -> dict[str, str]:
    """`show ip ospf route json` -> prefix -> RouterOS ospf-type (intra-area, inter-area, external-type-N)."""
    out = {}
    for prefix, entry in data.items() if isinstance(data, dict) else []:
        kind = str(entry.get("routeType", "")) if isinstance(entry, dict) else ""
        found = next((name for code, name in OSPF_TYPES if code in kind.split()), "")
        if found and "/" in prefix:
            out[prefix] = found
    return out


def parse_ospf_routes(data: object, types: dict[str, str] | None = None) -> list[dict[str, object]]:
    """`show ip route ospf json` -> the routes zebra took from ospfd: prefix, metric, selected, and the
    next hops (gateway, interface) that are active. Routes the `ospf-in` route map refused have no active
    next hop and are left out, as RouterOS's filter leaves them out of `/ip route`."""
    out: list[dict[str, object]] = []
    for prefix, entries in (data or {}).items() if isinstance(data, dict) else []:
        for entry in entries:
            hops = [
                (str(h.get("ip", "")), str(h.get("interfaceName", "")))
                for h in entry.get("nexthops", [])
                if h.get("active") and h.get("ip")
            ]
            if not hops:
                continue
            selected = bool(entry.get("selected")) and bool(entry.get("installed", True))
            metric = int(entry.get("metric", 0))
            kind = (types or {}).get(prefix, "")
            out.append({"prefix": prefix, "metric": metric, "hops": hops, "selected": selected, "type": kind})
    return out


def parse_links(data: object) -> dict[str, bool]:
    """`ip -j link show` -> interface name -> carrier up (UP and LOWER_UP)."""
    out = {}
    for link in data if isinstance(data, list) else []:
        flags = set(link.get("flags", []))
        out[str(link.get("ifname", ""))] = "UP" in flags and "LOWER_UP" in flags
    return out


def _covered(address: str, selectors: str) -> bool:
    try:
        addr = ip_address(address)
        return any(addr in ip_network(s.strip(), strict=False) for s in selectors.split(",") if s.strip())
    except ValueError:
        return False


def _template(router: Router, peer_name: str) -> dict[str, str]:
    """protocol/level of the policy template the peer's identity uses (what RouterOS copies into the
    generated policy)."""
    group = "default"
    for identity in enabled(router.config.items("/ip ipsec identity")):
        if identity.get("peer") == peer_name:
            group = value(identity, "/ip ipsec identity", "policy-template-group") or "default"
    for item in enabled(router.config.items(POLICY)):
        if item.get("template") == "yes" and (item.get("group") or "default") == group:
            return {
                "protocol": value(item, POLICY, "protocol") or "all",
                "level": value(item, POLICY, "level") or "require",
                "proposal": item.get("proposal") or "default",
            }
    return {"protocol": "all", "level": "require", "proposal": "default"}


def fill_policies(router: Router, sas: list[IkeSa]) -> None:
    """The generated (dynamic) policies: one per installed child SA, between its traffic selectors."""
    items = router.config.items(POLICY)
    items[:] = [i for i in items if not i.dynamic]
    for sa in sas:
        if sa.state != "ESTABLISHED":
            continue
        peer = sa.connection.rsplit("-", 1)[0]
        template = _template(router, peer)
        for child in sa.children:
            if child.state != "INSTALLED":
                continue
            for src in child.ts.get("local", "").split(","):
                for dst in child.ts.get("remote", "").split(","):
                    values = {"peer": peer, "tunnel": "yes", "src-address": src.strip(), "src-port": "any"}
                    values |= {"dst-address": dst.strip(), "dst-port": "any"}
                    values["protocol"] = template["protocol"]
                    values |= {"action": "encrypt", "level": template["level"], "ipsec-protocols": "esp"}
                    values |= {"sa-src-address": sa.addresses.get("local", "")}
                    values |= {"sa-dst-address": sa.addresses.get("remote", "")}
                    values |= {"proposal": template["proposal"], "ph2-count": "1", "ph2-state": "established"}
                    add(router, POLICY, values, "DA")


def fill_eoip(router: Router, sas: list[IkeSa], links: dict[str, bool]) -> None:
    """EoIP `running`: its VXLAN has carrier and an installed child SA carries its remote address."""
    remotes = [
        c.ts.get("remote", "")
        for sa in sas
        if sa.state == "ESTABLISHED"
        for c in sa.children
        if c.state == "INSTALLED"
    ]
    for item in router.config.items(EOIP):
        name = item.get("name")
        remote = host(item.get("remote-address"))
        up = not item.disabled and links.get(name, False) and any(_covered(remote, ts) for ts in remotes)
        for path in INTERFACE_MENUS:
            for other in router.config.items(path):
                if other.get("name") == name and not other.dynamic:
                    other.status["running"] = "yes" if up else "no"


def fill_bfd(router: Router, peers: list[dict[str, str]]) -> None:
    for peer in peers:
        up = peer["state"] == "up"
        tx, rx = f"{int(peer['tx']) / 1000:g}sec", f"{int(peer['rx']) / 1000:g}sec"
        if router.major_version >= 7:
            # the real v7 form: no interface=, the interface in the address (helpmt-bfd capture)
            values = {"multihop": "no", "remote-address": f"{peer['address']}%{peer['interface']}"}
            values |= {"state": peer["state"], "state-changes": "1" if up else "0", "uptime": peer["uptime"]}
            values |= {"desired-tx-interval": f"{peer['tx']}ms", "required-min-rx": f"{peer['rx']}ms"}
            values |= {"multiplier": peer["multiplier"], "packets-rx": "0", "packets-tx": "0"}
            add(router, BFD_V7, values, "U" if up else "")
            continue
        values = {"state": peer["state"], "address": peer["address"], "interface": peer["interface"]}
        values |= {"protocols": "ospf", "multihop": "no", "state-changes": "1" if up else "0"}
        values["uptime"] = peer["uptime"]
        values |= {"desired-tx-interval": tx, "actual-tx-interval": tx, "required-min-rx": rx}
        values |= {"remote-min-rx": rx if up else "0sec", "multiplier": peer["multiplier"], "hold-time": ""}
        values |= {"packets-rx": "0", "packets-tx": "0"}
        add(router, BFD, values, "U" if up else "")


def fill_routes(router: Router, routes: list[dict[str, object]]) -> None:
    """Replace the OSPF entries of `/ip route` (flag `o`) with zebra's; connected/static stay."""
    items = router.config.items(ROUTE)
    items[:] = [i for i in items if not (i.dynamic and i.status.get("ospf") == "yes")]
    for route in routes:
        hops = route["hops"]
        assert isinstance(hops, list)
        if router.major_version >= 7:  # v7: next hops as IP%iface, no gateway-status (as the fabric)
            gateways = ",".join(f"{gw}%{iface}" for gw, iface in hops)
            values = {"dst-address": str(route["prefix"]), "gateway": gateways, "immediate-gw": gateways}
            values |= {"distance": "110", "scope": "20", "target-scope": "10"}
            add(router, ROUTE, values, ("A" if route["selected"] else "") + "Do")
            continue
        values = {"dst-address": str(route["prefix"]), "gateway": ",".join(gw for gw, _ in hops)}
        values |= {"gateway-status": ",".join(f"{gw} reachable via  {iface}" for gw, iface in hops)}
        values |= {"distance": "110", "scope": "20", "target-scope": "10"}
        values["ospf-metric"] = str(route["metric"])
        if route.get("type"):
            values["ospf-type"] = str(route["type"])
        add(router, ROUTE, values, ("A" if route["selected"] else "") + "Do")
    dynamic = [i for i in items if i.dynamic]
    dynamic.sort(key=lambda i: (int(ip_network(i.get("dst-address"), strict=False).network_address),
                                ip_network(i.get("dst-address"), strict=False).prefixlen))
    items[:] = [i for i in items if not i.dynamic] + dynamic


def fill(
    router: Router,
    sas: list[IkeSa],
    neighbors: list[dict[str, str]],
    bfd: list[dict[str, str]] | None = None,
    routes: list[dict[str, object]] | None = None,
    links: dict[str, bool] | None = None,
) -> None:
    """Replace the router's dynamic IPsec, OSPF neighbour and BFD items with what the daemons report
    (RouterOS layout, fabric flags); `routes` and `links` (when read) replace the OSPF routes and set EoIP
    `running`. Connected routes and dynamic addresses stay the fabric's (configuration, not protocol)."""
    for path in OWNED:
        items = router.config.items(path)
        items[:] = [i for i in items if not i.dynamic]
    fill_policies(router, sas)
    if bfd is not None:
        fill_bfd(router, bfd)
    if routes is not None:
        fill_routes(router, routes)
    if links is not None:
        fill_eoip(router, sas, links)
    for sa in sas:
        if sa.state != "ESTABLISHED":
            continue
        local, remote = sa.addresses.get("local", ""), sa.addresses.get("remote", "")
        installed = [c for c in sa.children if c.state == "INSTALLED"]
        values = {"id": sa.ids.get("remote", ""), "local-address": local, "remote-address": remote}
        values |= {"state": "established", "side": "initiator" if sa.initiator else "responder"}
        if not sa.initiator and "remote" in sa.vips:
            values["dynamic-address"] = sa.vips["remote"]
        values |= {"uptime": format_duration(sa.established_s), "ph2-total": str(len(installed))}
        add(router, ACTIVE_PEERS, values, "" if sa.initiator else "R")
        for child in installed:
            enc, auth = proposal_names(child.algorithms)
            algorithms = sa_algorithms(enc, auth)
            for direction, (src, dst) in (("in", (remote, local)), ("out", (local, remote))):
                v = {"spi": "0x" + (child.spi.get(direction, "0").upper().lstrip("0") or "0")}
                v |= {"src-address": src, "dst-address": dst, "state": "mature", **algorithms}
                added = router.now() - timedelta(seconds=child.installed_s)
                v |= {"addtime": format_date(added), "expires-in": format_duration(child.expires_s)}
                v["add-lifetime"] = ""  # charon reports time left, not the configured soft/hard pair
                v |= {"current-bytes": str(child.bytes.get(direction, 0))}
                v |= {"current-packets": str(child.packets.get(direction, 0)), "replay": "128"}
                add(router, INSTALLED_SA, v, "E")
    for nb in neighbors:
        values = {"instance": "default", **{k: nb[k] for k in ("router-id", "address", "interface", "state")}}
        values |= {"priority": nb["priority"], "dr-address": "0.0.0.0", "backup-dr-address": "0.0.0.0"}
        values |= {"state-changes": "1", "ls-retransmits": "0", "ls-requests": "0", "db-summaries": "0"}
        values["adjacency"] = nb.get("adjacency", "0s")
        add(router, OSPF_NEIGHBOR, values, "")
