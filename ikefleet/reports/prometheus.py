"""Prometheus textfile for node_exporter's textfile collector: tunnel health per branch, certificate
days left, check outcomes, each router's cause (its first failing layer) and the time of the last check.
Write it atomically (`write_textfile`)."""

from __future__ import annotations

import math
from pathlib import Path

from ikefleet import private
from ikefleet.verify.engine import Report

TUNNEL_CHECKS = ("ike.peer", "eoip.tunnel", "ospf.neighbor")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return repr(round(float(value), 3))


def render_prometheus(report: Report) -> str:
    lines: list[str] = []

    def family(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            lines.append(f"{name}{_labels(**labels) if labels else ''} {_num(value)}")

    def metric(check: str, key: str) -> list[tuple[dict[str, str], float]]:
        return [
            ({"host": r.host}, r.metrics[key])
            for r in report.results
            if r.check == check and key in r.metrics and not r.subject
        ]

    branches = sorted({r.host for r in report.results if r.check == "ike.peer"})
    statuses = {host: {r.check: r.status for r in mine} for host, mine in report.results_by_host().items()}
    tunnel = []
    for b in branches:
        mine = statuses.get(b, {})
        tunnel.append(({"branch": b}, 1.0 if all(mine.get(c) == "pass" for c in TUNNEL_CHECKS) else 0.0))
    family(
        "ikefleet_tunnel_up", "1 when the branch's IKE peer, EoIP tunnel and OSPF adjacency are up.", tunnel
    )
    family(
        "ikefleet_sa_count",
        "Mature IPsec SAs between the branch and the hub.",
        [({"branch": h["host"]}, v) for h, v in metric("ipsec.sa", "sa_count")],
    )
    family(
        "ikefleet_ospf_full",
        "1 when the branch's OSPF neighbour on the tunnel is Full.",
        [({"branch": h["host"]}, v) for h, v in metric("ospf.neighbor", "ospf_full")],
    )
    family(
        "ikefleet_certificate_days_left",
        "Days until the router's own certificate expires.",
        metric("cert.valid", "certificate_days_left"),
    )
    family(
        "ikefleet_host_reachable",
        "1 when the router's state could be read.",
        [
            ({"host": r.host}, 1.0 if r.status == "pass" else 0.0)
            for r in report.results
            if r.check == "host.reachable"
        ],
    )
    family(
        "ikefleet_check_ok",
        "1 when the check passed (warn and skip count as passed).",
        [
            (
                {"check": r.check, "host": r.host, "subject": r.subject},
                1.0 if r.status in ("pass", "warn", "skip") else 0.0,
            )
            for r in report.results
        ],
    )
    family(
        "ikefleet_host_cause",
        "1 for each router with a problem, labelled with the first failing layer and its check (the cause).",
        [({"host": s.host, "layer": s.layer, "check": s.cause.check}, 1.0) for s in report.stories()],
    )
    family("ikefleet_compliant", "1 when every check passed.", [({}, 1.0 if report.compliant else 0.0)])
    family(
        "ikefleet_last_check_timestamp_seconds",
        "When the last verification ran (Unix time).",
        [({}, report.finished.timestamp())],
    )
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """node_exporter must never read a half-written file: write beside it, then rename (owner-only, 0600)."""
    private.replace_text(Path(path), text)
