"""IKEv2 phase 1 and phase 2 between lab routers: who reaches whom, who authenticates, which SAs result.

`negotiate()` is pure with respect to configuration: it reads peers, identities, profiles, proposals,
mode-configs, policy templates and certificates of both ends and returns `Tunnel`s (established or with the
reason they failed). `ikefleet.lab.fabric` turns them into `/ip ipsec active-peers`, `installed-sa`,
dynamic policies and mode-config addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ikefleet.routeros.config import Item

from ..router import Router
from . import firewall
from .book import Book, fingerprint, subject, verify
from .common import clock, enabled, host, network, parse_duration, value, words

PEER, IDENTITY, PROFILE = "/ip ipsec peer", "/ip ipsec identity", "/ip ipsec profile"
PROPOSAL, MODE_CONFIG, POLICY = "/ip ipsec proposal", "/ip ipsec mode-config", "/ip ipsec policy"
EOIP = "/interface eoip"

# Messages RouterOS writes to /log (topics "ipsec,error"). Marked unverified where no capture was at hand.
LOG = {
    "timeout": "phase1 negotiation failed due to time up {local}[500]<=>{remote}[500]",
    "no-peer": "no peer config found for {remote}",  # unverified
    "exchange-mode": "exchange mode mismatch with {remote}",  # unverified
    "no-proposal": "no suitable proposal found",
    "notify-no-proposal": "{remote} received notify: NO_PROPOSAL_CHOSEN",  # unverified
    "no-identity": "identity not found for peer: ADDR {remote} ID: {id}",  # unverified wording
    "id-mismatch": "peer's ID does not match certificate",
    "verify": "certificate verification failed: {reason}",  # unverified detail
    "no-cert": "can't find certificate {name}",  # unverified
    "no-key": "no private key for certificate {name}",  # unverified
    "notify-auth": "{remote} received notify: AUTHENTICATION_FAILED",  # unverified
}


@dataclass
class Phase2:
    """One generated policy pair: initiator `src -> dst`, mirrored on the responder."""

    src: str  # initiator side, e.g. 10.0.0.2/32
    dst: str  # responder side, e.g. 10.0.0.1/32
    protocol: str
    i_proposal: str
    r_proposal: str
    level: str = "unique"
    algorithms: dict[str, str] | None = None  # None: no-phase2
    i_item: Item | None = None  # a configured (static) policy on that end; None: a generated one
    r_item: Item | None = None


@dataclass
class Tunnel:
    initiator: Router
    responder: Router
    i_peer: Item
    i_addr: str
    r_addr: str
    r_peer: Item | None = None
    i_identity: Item | None = None
    r_identity: Item | None = None
    i_id: str = ""  # the initiator's ID as the responder sees it (certificate subject)
    r_id: str = ""
    mode_address: str = ""  # e.g. 10.0.0.2/32, handed out by the responder's mode-config
    phase2: list[Phase2] = field(default_factory=list)
    error: tuple[str, str] | None = None  # (router name, log message) of the first failure
    notice: str = ""  # what the initiator logs when the responder refused it (a notify it received)

    @property
    def established(self) -> bool:
        return self.error is None and self.r_peer is not None

    @property
    def key(self) -> str:
        return f"ike:{self.initiator.name}:{self.i_peer.get('name')}:{self.responder.name}"


def wan_index(routers: list[Router]) -> dict[str, Router]:
    return {host(r.spec.wan_address): r for r in routers}


def _profile_match(a: Item | None, b: Item | None) -> bool:
    """Phase 1: hash, encryption and DH group must intersect; prf too unless one side says `auto`."""

    def algos(item: Item | None, name: str) -> set[str]:
        return set(words(value(item or Item(0), PROFILE, name)))

    for name in ("hash-algorithm", "enc-algorithm", "dh-group"):
        if not algos(a, name) & algos(b, name):
            return False
    prf_a, prf_b = algos(a, "prf-algorithm"), algos(b, "prf-algorithm")
    return "auto" in prf_a or "auto" in prf_b or bool(prf_a & prf_b)


_ENC = re.compile(r"^(?P<name>[a-z0-9]+)-(?P<size>\d+)-(?P<mode>cbc|ctr|gcm)$")


def sa_algorithms(enc: str, auth: str) -> dict[str, str]:
    """Proposal names -> installed-sa fields: `aes-256-cbc` -> enc-algorithm=aes-cbc enc-key-size=256."""
    match = _ENC.match(enc)
    if match:
        size = int(match["size"]) + (32 if match["mode"] in ("gcm", "ctr") else 0)
        algorithm, key_size = f"{match['name']}-{match['mode']}", str(size)
    else:
        algorithm, key_size = enc, {"3des": "192", "des": "64", "null": "0"}.get(enc, "0")
    result = {"enc-algorithm": algorithm, "enc-key-size": key_size}
    if not algorithm.endswith("gcm") and auth != "null":
        result = {"auth-algorithm": auth, **result}
    return result


def proposal_match(a: Item | None, b: Item | None) -> dict[str, str] | None:
    """The algorithms both proposals allow (initiator's preference first), or None: no suitable proposal."""
    if a is None or b is None:
        return None
    chosen: dict[str, str] = {}
    for name in ("auth-algorithms", "enc-algorithms", "pfs-group"):
        theirs = set(words(value(b, PROPOSAL, name)))
        common = [w for w in words(value(a, PROPOSAL, name)) if w in theirs]
        if not common:
            return None
        chosen[name] = common[0]
    lifetime = min(parse_duration(value(x, PROPOSAL, "lifetime")) for x in (a, b))
    return {
        **sa_algorithms(chosen["enc-algorithms"], chosen["auth-algorithms"]),
        "pfs-group": chosen["pfs-group"],
        "lifetime": str(int(lifetime)),
    }


def _own_cert(book: Book, identity: Item) -> tuple[Item | None, str]:
    name = identity.get("certificate")
    cert = book.cert(name)
    if cert is None:
        return None, LOG["no-cert"].format(name=name)
    if "key" not in cert.private:
        return None, LOG["no-key"].format(name=name)
    return cert, ""


def _verify(verifier: Book, cert: Item, now: datetime) -> str | None:
    at = clock(verifier.router, now)
    reason = verify(cert.private["certificate"], verifier.trusted_cas, verifier.crls, at)
    return LOG["verify"].format(reason=reason) if reason else None


def _expects(book: Book, identity: Item, cert: Item) -> bool:
    """Does `identity` accept a peer presenting `cert` (match-by / remote-certificate / remote-id)?"""
    wanted = identity.get("remote-certificate")
    pem = cert.private["certificate"]
    if value(identity, IDENTITY, "match-by") == "certificate" or wanted not in ("", "none"):
        expected = book.cert(wanted)
        return expected is not None and fingerprint(expected.private["certificate"]) == fingerprint(pem)
    remote_id = value(identity, IDENTITY, "remote-id")
    return remote_id == "auto" or remote_id.split(":", 1)[-1] in subject(pem)


def _responder_peer(responder: Router, i_addr: str, r_addr: str) -> Item | None:
    source = network(i_addr)
    for peer in enabled(responder.config.items(PEER)):
        net = network(value(peer, PEER, "address"))
        local = host(value(peer, PEER, "local-address"))
        if (
            net is not None
            and source is not None
            and source.subnet_of(net)
            and local in ("", "0.0.0.0", r_addr)
        ):
            return peer
    return None


def _phase1(t: Tunnel, books: dict[str, Book], now: datetime) -> None:
    """Fill identities, IDs and `error` of `t` (IKE_SA_INIT + IKE_AUTH)."""
    i, r = t.initiator, t.responder
    ib, rb = books[i.name], books[r.name]
    t.r_peer = _responder_peer(r, t.i_addr, t.r_addr)
    if t.r_peer is None:
        t.error = (r.name, LOG["no-peer"].format(remote=t.i_addr))
        return
    if value(t.i_peer, PEER, "exchange-mode") != value(t.r_peer, PEER, "exchange-mode"):
        t.error = (r.name, LOG["exchange-mode"].format(remote=t.i_addr))
        return
    i_profile = ib.named(PROFILE, value(t.i_peer, PEER, "profile"))
    r_profile = rb.named(PROFILE, value(t.r_peer, PEER, "profile"))
    if not _profile_match(i_profile, r_profile):
        t.error = (r.name, LOG["no-proposal"])
        t.notice = LOG["notify-no-proposal"].format(remote=t.r_addr)
        return
    i_name, r_name = t.i_peer.get("name"), t.r_peer.get("name")
    t.i_identity = next(iter(ib.identities(i_name)), None)
    if t.i_identity is None:
        t.error = (i.name, "")  # a peer without identity: RouterOS does not even start negotiating
        return
    i_cert, problem = _own_cert(ib, t.i_identity)
    if i_cert is None:
        t.error = (i.name, problem)
        return
    t.i_id = subject(i_cert.private["certificate"])
    candidates = rb.identities_for(r_name, i_cert.private["certificate"])
    t.r_identity = next((x for x in candidates if _expects(rb, x, i_cert)), None)
    if t.r_identity is None:
        t.error = (r.name, LOG["no-identity"].format(remote=t.i_addr, id=t.i_id))
        t.notice = LOG["notify-auth"].format(remote=t.r_addr)
        return
    problem = _verify(rb, i_cert, now)
    if problem:
        t.error = (r.name, problem)
        t.notice = LOG["notify-auth"].format(remote=t.r_addr)
        return
    r_cert, problem = _own_cert(rb, t.r_identity)
    if r_cert is None:
        t.error = (r.name, problem)
        t.notice = LOG["notify-auth"].format(remote=t.r_addr)
        return
    t.r_id = subject(r_cert.private["certificate"])
    if not _expects(ib, t.i_identity, r_cert):
        t.error = (i.name, LOG["id-mismatch"])
        return
    problem = _verify(ib, r_cert, now)
    if problem:
        t.error = (i.name, problem)


def _inner_address(responder: Book, mode_address: str) -> str:
    """The responder end of the generated policy: its EoIP local-address toward `mode_address`."""
    eoip = responder.eoip_to(mode_address)
    return f"{host(eoip.get('local-address'))}/32" if eoip is not None and eoip.get("local-address") else ""


def _covers(prefix: str, address: str) -> bool:
    net, addr = network(prefix), network(address)
    return net is not None and addr is not None and addr.subnet_of(net)


def _mode_config(t: Tunnel, books: dict[str, Book]) -> None:
    i_mode = value(t.i_identity, IDENTITY, "mode-config")  # type: ignore[arg-type]
    r_mode = value(t.r_identity, IDENTITY, "mode-config")  # type: ignore[arg-type]
    if i_mode in ("none", "") or r_mode in ("none", ""):
        return
    config = books[t.responder.name].named(MODE_CONFIG, r_mode)
    if config is None or value(config, MODE_CONFIG, "responder") != "yes" or not config.get("address"):
        return
    length = value(config, MODE_CONFIG, "address-prefix-length")
    t.mode_address = f"{host(config.get('address'))}/{length}"


def _phase2(t: Tunnel, books: dict[str, Book]) -> None:
    """Policies generated from templates (generate-policy) for the mode-config address."""
    assert t.i_identity is not None and t.r_identity is not None
    if not t.mode_address or value(t.i_identity, IDENTITY, "generate-policy") == "no":
        return
    src = f"{host(t.mode_address)}/32"
    ib, rb = books[t.initiator.name], books[t.responder.name]
    for i_tpl in ib.templates(value(t.i_identity, IDENTITY, "policy-template-group")):
        if not _covers(value(i_tpl, POLICY, "src-address"), src):
            continue
        dst = _inner_address(rb, src) or value(i_tpl, POLICY, "dst-address")
        r_templates = rb.templates(value(t.r_identity, IDENTITY, "policy-template-group"))
        r_tpl = next(
            (
                x
                for x in r_templates
                if _covers(value(x, POLICY, "dst-address"), src)
                and _covers(value(x, POLICY, "src-address"), dst)
            ),
            None,
        )
        i_prop = value(i_tpl, POLICY, "proposal")
        r_prop = value(r_tpl, POLICY, "proposal") if r_tpl else ""
        algorithms = None
        if r_tpl is not None and value(t.r_identity, IDENTITY, "generate-policy") != "no":
            algorithms = proposal_match(ib.named(PROPOSAL, i_prop), rb.named(PROPOSAL, r_prop))
        protocol = value(i_tpl, POLICY, "protocol")
        protocol = "all" if protocol == "255" else protocol
        t.phase2.append(Phase2(src, dst, protocol, i_prop, r_prop, "unique", algorithms))
        return


def _static_policies(t: Tunnel, books: dict[str, Book]) -> None:
    """Configured policies naming the tunnel's peers: the responder needs the mirror image (a configured
    policy, or a template its identity may generate from); the proposals must intersect."""
    assert t.i_identity is not None and t.r_identity is not None and t.r_peer is not None
    ib, rb = books[t.initiator.name], books[t.responder.name]
    mine = ib.static_policies(t.i_peer.get("name"))
    theirs = rb.static_policies(t.r_peer.get("name"))
    generates = value(t.r_identity, IDENTITY, "generate-policy") != "no"
    r_templates = rb.templates(value(t.r_identity, IDENTITY, "policy-template-group")) if generates else []
    for item in mine:
        src, dst = value(item, POLICY, "src-address"), value(item, POLICY, "dst-address")
        mirror = next(
            (
                x
                for x in theirs
                if _covers(value(x, POLICY, "src-address"), dst)
                and _covers(value(x, POLICY, "dst-address"), src)
            ),
            None,
        )
        template = None
        if mirror is None:
            template = next(
                (
                    x
                    for x in r_templates
                    if _covers(value(x, POLICY, "src-address"), dst)
                    and _covers(value(x, POLICY, "dst-address"), src)
                ),
                None,
            )
        match = mirror or template
        i_prop = value(item, POLICY, "proposal")
        r_prop = value(match, POLICY, "proposal") if match else ""
        algorithms = proposal_match(ib.named(PROPOSAL, i_prop), rb.named(PROPOSAL, r_prop)) if match else None
        protocol = value(item, POLICY, "protocol")
        protocol = "all" if protocol == "255" else protocol
        level = "unique" if mirror is None else value(mirror, POLICY, "level")
        t.phase2.append(Phase2(src, dst, protocol, i_prop, r_prop, level, algorithms, item, mirror))


def negotiate(
    routers: list[Router], now: datetime, wan_interfaces: dict[str, str], wan_up: dict[str, bool]
) -> list[Tunnel]:
    """Every initiator peer of every router, negotiated against the router owning its `address`.

    `wan_interfaces`/`wan_up`: each router's WAN interface and whether it carries traffic (no `wan_down`
    fault, WAN address and interface present and enabled)."""
    by_wan = wan_index(routers)
    books = {r.name: Book(r) for r in routers}
    tunnels: list[Tunnel] = []
    for router in routers:
        for peer in enabled(router.config.items(PEER)):
            if value(peer, PEER, "passive") == "yes" or not peer.get("address"):
                continue
            target = by_wan.get(host(peer.get("address")))
            i_addr = host(router.spec.wan_address)
            if target is None or target is router:
                continue
            t = Tunnel(router, target, peer, i_addr, host(target.spec.wan_address))
            tunnels.append(t)
            lost = router.faults.ike_drop or target.faults.ike_drop
            down = not (wan_up.get(router.name, True) and wan_up.get(target.name, True))
            ike = firewall.Packet(
                "17", t.i_addr, t.r_addr, 500, 500, wan_interfaces.get(target.name, "ether1")
            )
            if lost or down or not firewall.accepts(target, ike):
                t.error = (router.name, LOG["timeout"].format(local=t.i_addr, remote=t.r_addr))
                continue
            _phase1(t, books, now)
            if t.established:
                _mode_config(t, books)
                _phase2(t, books)
                _static_policies(t, books)
    return tunnels
