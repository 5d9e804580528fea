"""Check evaluators: one function per check id of checks.yaml, comparing gathered state with the expected.

An evaluator returns `Finding`s (status, expected, observed, the hint's reason and facts); the engine adds
the check's title, severity and hint text. Host-scoped evaluators get `(ctx, host)`, fleet-scoped `(ctx)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from ipaddress import IPv4Network, ip_network
from typing import Any, TypeVar

from ikefleet.diff import MARKER, remediate
from ikefleet.plan import client_base
from ikefleet.routeros.clock import clock_utc, ros_datetime, to_utc
from ikefleet.routeros.config import Config
from ikefleet.routeros.schema import load_schema

from .expected import Expected, Tunnel
from .gather import HostState

T = TypeVar("T")


@dataclass
class Finding:
    status: str  # pass | fail | warn | skip | error
    expected: str = ""
    observed: str = ""
    subject: str = ""
    reason: str = "default"
    facts: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Context:
    expected: Expected
    states: dict[str, HostState]
    settings: dict[str, Any]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    _cache: dict[str, Any] = field(default_factory=dict)

    def state(self, host: str) -> HostState:
        return self.states[host]

    def index(self, name: str, build: Callable[[Context], T]) -> T:
        """A lookup table built once per run (hub checks loop over every branch: keep them linear)."""
        if name not in self._cache:
            self._cache[name] = build(self)
        table: T = self._cache[name]
        return table


Evaluator = Callable[..., list[Finding]]
EVALUATORS: dict[str, Evaluator] = {}
NEEDS: dict[str, tuple[str, ...]] = {}


def check(check_id: str, *needs: str) -> Callable[[Evaluator], Evaluator]:
    """Register an evaluator for `check_id`; `needs` are the gathered sections it reads."""

    def wrap(fn: Evaluator) -> Evaluator:
        EVALUATORS[check_id] = fn
        NEEDS[check_id] = needs
        return fn

    return wrap


# --- helpers -----------------------------------------------------------------------------------------------

def router_time(state: HostState) -> datetime | None:
    """The router's clock in UTC: `/system clock` shows local time; `gmt-offset` says how far from UTC."""
    return clock_utc(next(iter(state.get("clock")), None))


def router_utc(state: HostState, local: datetime | None) -> datetime | None:
    """A time the router printed (its local time, as every RouterOS date is) in UTC, by its `gmt-offset`."""
    return to_utc(next(iter(state.get("clock")), None), local)


_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def classify(lines: list[str], kinds: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(kind, message) of the log lines matching a kind, most recent first."""
    out = []
    for line in reversed(lines):
        for kind, needles in kinds.items():
            if any(n in line for n in needles):
                out.append((kind, line.split("message=", 1)[-1].strip()))
                break
    return out


def tunnel_log(ctx: Context, t: Tunnel, kinds: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    """The most recent reason the tunnel's logs give: the branch's own first, then hub lines that are about
    this branch (its address or certificate) or about no one in particular (no address at all)."""
    hub = ctx.states.get(ctx.expected.hub)
    hub_lines = [
        line
        for line in (hub.get("log") if hub else [])
        if t.branch_wan in line
        or client_base(t.client_certificate) in line
        or not _IPV4.search(line.split("message=")[-1])
    ]
    for lines in (ctx.state(t.branch).get("log"), hub_lines):
        found = classify(lines, kinds)
        if found:
            return found[0]
    return "default", ""


def addr(text: Any) -> str:
    """`203.0.113.1:500` or `203.0.113.1/32` -> `203.0.113.1`."""
    return (
        str(text or "").split("/")[0].rsplit(":", 1)[0]
        if str(text or "").count(":") == 1
        else str(text or "").split("/")[0]
    )


def ospf_routes(state: HostState) -> list[dict[str, Any]]:
    return [r for r in state.get("route") if r.get("ospf") and not r.get("disabled")]


def rows_by(ctx: Context, host: str, section: str, field: str) -> dict[Any, list[dict[str, Any]]]:
    """A host's records of one section grouped by one field, in print order, built once per run: the hub
    checks look up every branch in the hub's tables (a scan per branch would grow with the fleet squared)."""

    def build(c: Context) -> dict[Any, list[dict[str, Any]]]:
        out: dict[Any, list[dict[str, Any]]] = {}
        for row in c.state(host).get(section):
            out.setdefault(row.get(field), []).append(row)
        return out

    return ctx.index(f"{host}/{section}/{field}", build)


def routes_missing(ctx: Context, host: str, prefixes: tuple[IPv4Network, ...]) -> list[str]:
    def build(c: Context) -> set[str]:
        return {str(r.get("dst_address")) for r in ospf_routes(c.state(host)) if r.get("active", True)}

    have = ctx.index(f"{host}/active-ospf-routes", build)
    return [str(p) for p in prefixes if str(p) not in have]


PROPOSAL_LOG = ("no suitable proposal", "NO_PROPOSAL_CHOSEN")
CERT_LOG = ("certificate verification failed", "AUTHENTICATION_FAILED", "can't find certificate")
TIMEOUT_LOG = ("negotiation failed due to time up",)


# --- branch checks ------------------------------------------------------------------------------------------


def _tunnel(ctx: Context, host: str) -> Tunnel:
    return ctx.expected.tunnels[host]


@check("ike.peer", "active_peers", "log")
def ike_peer(ctx: Context, host: str) -> list[Finding]:
    t = _tunnel(ctx, host)
    peers = [p for p in ctx.state(host).get("active_peers") if addr(p.get("remote_address")) == t.hub_wan]
    states = sorted({str(p.get("state")) for p in peers})
    facts: dict[str, Any] = {"expected_peer": t.hub_wan, "log": ""}
    expected = f"established to {t.hub_wan}"
    if "established" in states:
        return [Finding("pass", expected, "established", facts=facts)]
    reason, facts["log"] = tunnel_log(
        ctx, t, {"certificate": CERT_LOG, "proposal": PROPOSAL_LOG, "wan": TIMEOUT_LOG}
    )
    observed = ", ".join(states) if states else "no active peer"
    return [Finding("fail", expected, observed, reason=reason, facts=facts)]


@check("ipsec.sa", "installed_sa", "log")
def ipsec_sa(ctx: Context, host: str) -> list[Finding]:
    t, e = _tunnel(ctx, host), ctx.expected
    facts: dict[str, Any] = {"branch_wan": t.branch_wan, "hub_wan": t.hub_wan, "log": ""}
    ends = {t.branch_wan, t.hub_wan}
    sas = [
        s
        for s in ctx.state(host).get("installed_sa")
        if {addr(s.get("src_address")), addr(s.get("dst_address"))} == ends
    ]
    mature = [s for s in sas if s.get("state") == "mature"]
    want = ", ".join(sorted(f"{a}/{enc}-{bits}" for a in e.auth_algorithms for enc, bits in e.enc_algorithms))
    got = sorted(
        {f"{s.get('auth_algorithm')}/{s.get('enc_algorithm')}-{s.get('enc_key_size')}" for s in mature}
    )
    directions = {(addr(s.get("src_address")), addr(s.get("dst_address"))) for s in mature}
    metrics = {"sa_count": float(len(mature))}
    wrong = [
        s
        for s in mature
        if s.get("auth_algorithm") not in e.auth_algorithms
        or (s.get("enc_algorithm"), int(s.get("enc_key_size") or 0)) not in e.enc_algorithms
    ]
    if len(directions) == 2 and not wrong:
        return [
            Finding(
                "pass",
                f"2 mature SAs {want}",
                f"{len(mature)} mature SAs {', '.join(got)}",
                facts=facts,
                metrics=metrics,
            )
        ]
    if wrong:
        return [Finding("fail", want, ", ".join(got), reason="algorithms", facts=facts, metrics=metrics)]
    reason = "default"
    kind, line = tunnel_log(ctx, t, {"proposal": PROPOSAL_LOG})
    if kind == "proposal":
        reason, facts["log"] = "proposal", line
    observed = f"{len(mature)} mature SA(s) of {len(sas)}"
    return [Finding("fail", f"2 mature SAs {want}", observed, reason=reason, facts=facts, metrics=metrics)]


@check("ipsec.policy", "policy")
def ipsec_policy(ctx: Context, host: str) -> list[Finding]:
    t = _tunnel(ctx, host)
    src, dst = f"{t.branch_ipsec}/32", f"{t.hub_ipsec}/32"
    expected = f"{src} -> {dst} established"
    found = [
        p
        for p in ctx.state(host).get("policy")
        if p.get("dynamic") and p.get("src_address") == src and p.get("dst_address") == dst
    ]
    if any(p.get("ph2_state") == "established" for p in found):
        return [Finding("pass", expected, "established")]
    observed = ", ".join(str(p.get("ph2_state", "?")) for p in found) or "no dynamic policy"
    return [Finding("fail", expected, observed)]


def _eoip(
    ctx: Context, host: str, name: str, tunnel_id: int, local: str, remote: str, subject: str
) -> Finding:
    facts: dict[str, Any] = {"interface": name, "planned_id": tunnel_id, "observed_id": ""}
    expected = f"{name} running tunnel-id={tunnel_id} {local}->{remote}"
    eoip = next(iter(rows_by(ctx, host, "eoip", "name").get(name, ())), None)
    if eoip is None:
        return Finding("fail", expected, "missing", subject=subject, reason="missing", facts=facts)
    facts["observed_id"] = eoip.get("tunnel_id")
    observed = (
        f"{name} {'running' if eoip.get('running') else 'not running'} tunnel-id={eoip.get('tunnel_id')} "
        f"{eoip.get('local_address')}->{eoip.get('remote_address')}"
    )
    if eoip.get("tunnel_id") != tunnel_id:
        return Finding("fail", expected, observed, subject=subject, reason="tunnel-id", facts=facts)
    ok = eoip.get("running") and (eoip.get("local_address"), eoip.get("remote_address")) == (local, remote)
    return Finding(
        "pass" if ok else "fail",
        expected,
        observed,
        subject=subject,
        facts=facts,
        metrics={"tunnel_up": 1.0 if eoip.get("running") else 0.0},
    )


@check("eoip.tunnel", "eoip")
def eoip_tunnel(ctx: Context, host: str) -> list[Finding]:
    t = _tunnel(ctx, host)
    return [_eoip(ctx, host, t.branch_interface, t.tunnel_id, t.branch_ipsec, t.hub_ipsec, "")]


def _on_tunnel(neighbour: dict[str, Any], interface: str, address: str) -> bool:
    """v6 names the neighbour's interface; v7 does not, so its address (the far tunnel end) maps it."""
    if neighbour.get("interface"):
        return neighbour.get("interface") == interface
    return bool(address) and str(neighbour.get("address", "")).split("%")[0] == address


def _neighbour(
    ctx: Context, host: str, router_id: str, interface: str, subject: str, address: str = ""
) -> Finding:
    facts: dict[str, Any] = {"interface": interface, "state": ""}
    expected = f"{router_id} Full on {interface}"
    found = rows_by(ctx, host, "ospf_neighbor", "router_id").get(router_id, [])
    full = [n for n in found if n.get("state") == "Full" and _on_tunnel(n, interface, address)]
    if full:
        return Finding("pass", expected, "Full", subject=subject, facts=facts, metrics={"ospf_full": 1.0})
    states = [str(n.get("state")) for n in found]
    facts["state"] = states[0] if states else ""
    reason = "mtu" if any(s in ("ExStart", "Exchange") for s in states) else "default"
    observed = ", ".join(f"{n.get('state')} on {n.get('interface')}" for n in found) or "no neighbour"
    return Finding(
        "fail", expected, observed, subject=subject, reason=reason, facts=facts, metrics={"ospf_full": 0.0}
    )


@check("ospf.neighbor", "ospf_neighbor")
def ospf_neighbor(ctx: Context, host: str) -> list[Finding]:
    t = _tunnel(ctx, host)
    return [_neighbour(ctx, host, t.hub_router_id, t.branch_interface, "", t.hub_eoip)]


def _bfd_state(session: dict[str, Any]) -> str:
    """A session's state as the operator reads it; a v7 inactive session prints no state, only its reason."""
    if session.get("inactive"):
        return f"inactive ({session['comment']})" if session.get("comment") else "inactive"
    return str(session.get("state", "unknown"))


@check("bfd.neighbor", "bfd")
def bfd_neighbor(ctx: Context, host: str) -> list[Finding]:
    t = _tunnel(ctx, host)
    rows = [b for b in ctx.state(host).get("bfd") if b.get("interface") == t.branch_interface]
    facts = {"interface": t.branch_interface}
    if any(b.get("up") or b.get("state") == "up" for b in rows):
        return [Finding("pass", f"up on {t.branch_interface}", "up", facts=facts)]
    observed = ", ".join(_bfd_state(b) for b in rows) or "no BFD session"
    return [Finding("fail", f"up on {t.branch_interface}", observed, facts=facts)]


@check("routes.learned", "route")
def routes_learned(ctx: Context, host: str) -> list[Finding]:
    want = ctx.expected.hub_lans
    missing = routes_missing(ctx, host, want)
    expected = ", ".join(str(p) for p in want)
    if not missing:
        return [Finding("pass", expected, expected)]
    return [Finding("fail", expected, f"missing {', '.join(missing)}", facts={"missing": ", ".join(missing)})]


# --- every host --------------------------------------------------------------------------------------------


@check("routes.no-tunnel-nets", "route")
def routes_no_tunnel_nets(ctx: Context, host: str) -> list[Finding]:
    pool = ctx.expected.eoip_pool
    leaked = sorted(
        str(r.get("dst_address"))
        for r in ospf_routes(ctx.state(host))
        if _inside(str(r.get("dst_address")), pool)
    )
    facts = {"leaked": ", ".join(leaked), "pool": str(pool)}
    expected = f"no OSPF route inside {pool}"
    if not leaked:
        return [Finding("pass", expected, "none", facts=facts)]
    return [Finding("fail", expected, ", ".join(leaked), facts=facts)]


# Every branch holds every other branch's LAN route: the same prefixes are asked on every host.
@lru_cache(maxsize=1 << 16)
def _inside(prefix: str, pool: IPv4Network) -> bool:
    try:
        net = ip_network(prefix, strict=False)
    except ValueError:
        return False
    return net.version == 4 and net.subnet_of(pool)


@check("cert.valid", "certificate", "clock")
def cert_valid(ctx: Context, host: str) -> list[Finding]:
    e = ctx.expected
    name = e.certificate_of(host)
    state = ctx.state(host)
    certs = {c.get("name"): c for c in state.get("certificate")}
    if host != e.hub:
        name = _in_use(state.config, certs, name)
    cert, ca = certs.get(name), certs.get(e.ca_certificate)
    now = router_time(state) or ctx.now
    facts: dict[str, Any] = {
        "certificate": name,
        "clock": now.strftime("%Y-%m-%d %H:%M"),
        "min_days": e.min_certificate_days,
        "days_left": "",
    }
    expected = f"{name} with key, issued by {e.ca_certificate}, > {e.min_certificate_days} days left"
    if cert is None:
        return [Finding("fail", expected, "missing", facts=facts)]
    # invalid-after is printed in the router's local time, like its clock: both go to UTC the same way.
    end = router_utc(state, ros_datetime(str(cert.get("invalid_after", ""))))
    days = (end - now).total_seconds() / 86400 if end else float("nan")
    facts["days_left"] = f"{days:.0f}"
    metrics = {"certificate_days_left": days}
    problems = []
    if not cert.get("private_key"):
        problems.append("no private key")
    if cert.get("ca") != e.ca_certificate and cert.get("issuer") != f"CN={e.ca_certificate}":
        problems.append(f"issued by {cert.get('issuer') or '?'}")
    if ca is None or not ca.get("trusted"):
        problems.append(f"CA {e.ca_certificate} missing or not trusted")
    if cert.get("revoked"):
        problems.append("revoked")
    observed = f"{days:.0f} days left" + (f"; {', '.join(problems)}" if problems else "")
    if cert.get("expired") or days <= 0:
        return [
            Finding("fail", expected, f"expired; {observed}", reason="expired", facts=facts, metrics=metrics)
        ]
    if problems:
        return [Finding("fail", expected, observed, facts=facts, metrics=metrics)]
    if days < e.min_certificate_days:
        return [Finding("warn", expected, observed, reason="renew", facts=facts, metrics=metrics)]
    return [Finding("pass", expected, observed, facts=facts, metrics=metrics)]


@check("cert.crl", "certificate_settings")
def cert_crl(ctx: Context, host: str) -> list[Finding]:
    settings: dict[str, Any] = next(iter(ctx.state(host).get("certificate_settings")), {})
    value = settings.get("crl-use", "?")
    return [Finding("pass" if value == "yes" else "fail", "crl-use=yes", f"crl-use={value}")]


@check("clock.sync", "clock", "ntp")
def clock_sync(ctx: Context, host: str) -> list[Finding]:
    state = ctx.state(host)
    tolerance = float(ctx.settings.get("clock_tolerance_s", 60))
    at = router_time(state)
    reference = state.read_at or ctx.now
    offset = (at - reference).total_seconds() if at else float("nan")
    ntp: dict[str, Any] = next(iter(state.get("ntp")), {})
    ntp_on = bool(ntp.get("enabled"))
    # 6.x builds that print a `status` say whether NTP has actually synchronised, not just "enabled".
    status = str(ntp.get("status") or (ntp.get("extra") or {}).get("status") or "")
    if status and not status.startswith("synchroni"):
        ntp_on = False
    facts = {"offset_s": offset, "tolerance_s": int(tolerance)}
    expected = f"within {tolerance:.0f}s" + (", NTP client enabled" if ctx.expected.ntp_expected else "")
    observed = f"{offset:+.0f}s off, NTP {'on' if ntp_on else 'off'}"
    ok = at is not None and abs(offset) <= tolerance and (ntp_on or not ctx.expected.ntp_expected)
    return [
        Finding(
            "pass" if ok else "fail",
            expected,
            observed,
            facts=facts,
            metrics={"clock_offset_seconds": offset},
        )
    ]


def _in_use(config: Config | None, certs: dict[Any, Any], expected: str) -> str:
    """The client certificate the branch's own identity names, when it holds one by that name (during a
    renewal it may still be the old one, or already the new one: config.drift tells which the rollout
    wants); else `expected`."""
    for item in config.items("/ip ipsec identity") if config is not None else []:
        used = item.get("certificate")
        if item.comment == MARKER and used in certs and client_base(used) == client_base(expected):
            return str(used)
    return expected


def _shared(_: Context) -> dict[Any, Any]:
    """The run's memo for config.drift's remediations (`ikefleet.diff.remediate`'s `shared`)."""
    return {}


@check("config.drift", "config")
def config_drift(ctx: Context, host: str) -> list[Finding]:
    """One finding per managed item that is missing (`+` to add), extra (`-` to remove) or different."""
    current = ctx.state(host).config
    intended = ctx.expected.intended.get(host)
    if current is None or intended is None:
        return [Finding("error", "intended configuration", "no configuration read")]
    # The intended script is in the host's dialect: v7 scripts carry interface-templates.
    major = 7 if intended.menus.get("/routing ospf interface-template") else 6
    made = ctx.expected.diffs.get(host)
    if made is None:  # the menus alike on many routers are worked out once per run
        made = remediate(current, intended, load_schema(major), shared=ctx.index("config.drift", _shared))
    changes = made.changes
    if not changes:
        return [Finding("pass", "no difference", "no difference")]
    items: dict[tuple[str, str], list[Any]] = {}
    for change in changes:
        items.setdefault((change.path, change.key), []).append(change)
    out = []
    for (path, key), group in items.items():
        op = group[0].op
        reason = {"+": "missing", "-": "extra"}.get(op, "different")
        expected = {"missing": "present", "extra": "absent"}.get(reason, "as intended")
        observed = "; ".join(c.text() for c in group)
        out.append(
            Finding(
                "fail",
                expected,
                observed,
                subject=f"{path} {key}",
                reason=reason,
                facts={"count": len(items), "item": f"{path} {key}"},
            )
        )
    return out


# --- hub checks (one finding per branch) -------------------------------------------------------------------


def _hub_peers(ctx: Context) -> list[dict[str, Any]]:
    return [p for p in ctx.state(ctx.expected.hub).get("active_peers") if p.get("state") == "established"]


def _peer_branch(ctx: Context, peer: dict[str, Any]) -> str | None:
    """The branch a hub peer belongs to, by certificate id or WAN address (indexes built once per run)."""
    by_id, by_wan = ctx.index("peer_owner", _peer_indexes)
    return by_id.get(str(peer.get("id"))) or by_wan.get(addr(peer.get("remote_address")))


def _peer_indexes(ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
    tunnels = ctx.expected.tunnels.values()
    return {f"CN={client_base(t.client_certificate)}": t.branch for t in tunnels}, {
        t.branch_wan: t.branch for t in tunnels
    }


@check("hub.peers", "active_peers")
def hub_peers(ctx: Context, host: str) -> list[Finding]:
    per_branch: dict[str | None, int] = {}
    for p in _hub_peers(ctx):
        owner = _peer_branch(ctx, p)
        per_branch[owner] = per_branch.get(owner, 0) + 1
    out = []
    for name in ctx.expected.tunnels:
        count = per_branch.get(name, 0)
        observed = f"{count} established"
        out.append(
            Finding(
                "pass" if count == 1 else "fail",
                "1 established",
                observed,
                subject=name,
                facts={"count": count},
            )
        )
    return out


@check("hub.unknown-peers", "active_peers")
def hub_unknown_peers(ctx: Context, host: str) -> list[Finding]:
    unknown = [
        f"{p.get('id') or '?'} from {addr(p.get('remote_address'))}"
        for p in ctx.state(host).get("active_peers")
        if _peer_branch(ctx, p) is None
    ]
    if not unknown:
        return [Finding("pass", "none", "none")]
    return [Finding("fail", "none", ", ".join(unknown))]


@check("hub.eoip", "eoip")
def hub_eoip(ctx: Context, host: str) -> list[Finding]:
    return [
        _eoip(ctx, host, t.hub_interface, t.tunnel_id, t.hub_ipsec, t.branch_ipsec, t.branch)
        for t in ctx.expected.tunnels.values()
    ]


@check("hub.ospf", "ospf_neighbor")
def hub_ospf(ctx: Context, host: str) -> list[Finding]:
    return [
        _neighbour(ctx, host, t.branch_router_id, t.hub_interface, t.branch, t.branch_eoip)
        for t in ctx.expected.tunnels.values()
    ]


@check("hub.routes", "route")
def hub_routes(ctx: Context, host: str) -> list[Finding]:
    out = []
    for t in ctx.expected.tunnels.values():
        missing = routes_missing(ctx, host, t.branch_lans)
        expected = ", ".join(str(p) for p in t.branch_lans)
        status = "fail" if missing else "pass"
        observed = f"missing {', '.join(missing)}" if missing else expected
        out.append(
            Finding(status, expected, observed, subject=t.branch, facts={"missing": ", ".join(missing)})
        )
    return out


# --- fleet checks ------------------------------------------------------------------------------------------


@check("fleet.tunnel-ids", "eoip")
def fleet_tunnel_ids(ctx: Context) -> list[Finding]:
    e = ctx.expected
    hub = ctx.state(e.hub)
    names = {t.hub_interface: t for t in e.tunnels.values()}
    problems = []
    seen: dict[int, str] = {}
    hub_ids: dict[str, Any] = {}  # interface -> tunnel id (the first of a name, as the hub lists them)
    for i in hub.get("eoip"):
        tid = i.get("tunnel_id")
        if tid in seen:
            problems.append(f"tunnel-id {tid} used by {seen[tid]} and {i.get('name')} on the hub")
        seen[tid] = str(i.get("name"))
        hub_ids.setdefault(i.get("name"), tid)
    for iface, t in names.items():
        hub_id = hub_ids.get(iface)
        branch = ctx.states.get(t.branch)
        if branch is None or not branch.reachable or "eoip" in branch.problems:
            continue
        br_id = next(
            (i.get("tunnel_id") for i in branch.get("eoip") if i.get("name") == t.branch_interface), None
        )
        if hub_id != br_id:
            problems.append(f"{t.branch}: hub {hub_id}, branch {br_id}")
    expected = "unique, hub = branch = plan"
    if problems:
        return [Finding("fail", expected, "; ".join(problems))]
    return [Finding("pass", expected, f"{len(seen)} unique ids")]


@check("fleet.counts", "active_peers", "installed_sa", "ospf_neighbor", "policy")
def fleet_counts(ctx: Context) -> list[Finding]:
    e = ctx.expected
    hub = ctx.state(e.hub)
    n = len(e.tunnels)
    counts = {
        "peers": len(_hub_peers(ctx)),
        "mature SAs": sum(1 for s in hub.get("installed_sa") if s.get("state") == "mature"),
        "Full neighbours": sum(1 for x in hub.get("ospf_neighbor") if x.get("state") == "Full"),
        "established policies": sum(
            1 for p in hub.get("policy") if p.get("dynamic") and p.get("ph2_state") == "established"
        ),
    }
    want = {"peers": n, "mature SAs": 2 * n, "Full neighbours": n, "established policies": n}
    expected = ", ".join(f"{k}={v}" for k, v in want.items())
    observed = ", ".join(f"{k}={v}" for k, v in counts.items())
    return [Finding("pass" if counts == want else "fail", expected, observed)]
