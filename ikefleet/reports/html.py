"""The fleet map: one self-contained HTML file (inline CSS, JS and SVG, data as embedded JSON) that opens
on a jump host without network access or attaches to a change ticket.

Each branch is coloured by its state (compliant / degraded / down / not checked); a click shows its
failing checks with hint and since-when, hover its first cause; each host has a strip of its last runs
from the history. The template is `fleet.html.j2`; the page draws the SVG from the data, so 1,000
branches stay well under 2 MB.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from ikefleet.verify.engine import CheckResult, Report
from ikefleet.verify.history import History

from .fleet_layout import layout, short

# A host's worst result status -> its state on the map.
STATE = {"error": "down", "fail": "down", "warn": "degraded", "skip": "compliant", "pass": "compliant"}
# History strips travel as one letter per run (1,000 hosts x 20 runs of words would be most of the file).
STRIP_RUNS = 20  # runs in each host's history strip
LETTER = {"error": "e", "fail": "f", "warn": "w", "skip": "s", "pass": "p"}


@cache
def _template() -> jinja2.Template:
    text = resources.files("ikefleet.reports").joinpath("fleet.html.j2").read_text()
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(text)


UNKNOWN_HUB = "(hub)"  # no run checked the hub yet: the centre of the map has no name


def hub_of(report: Report, known: str = "") -> str:
    """The host the hub-scope checks ran on; else `known` (from the history: `--limit` left the hub
    out); else the first host that is not a branch."""
    hub = next((r.host for r in report.results if r.check.startswith("hub.")), "") or known
    branches = {r.host for r in report.results if r.check == "ike.peer"}
    return hub or next((h for h in report.hosts if h not in branches and h != "fleet"), UNKNOWN_HUB)


def _problem(r: CheckResult) -> dict[str, str]:
    return {
        "check": r.check,
        "subject": r.subject,
        "status": r.status,
        "title": r.title,
        "expected": r.expected,
        "observed": r.observed,
        "hint": r.hint,
        "since": r.since,
    }


def _problems(results: list[CheckResult]) -> list[dict[str, str]]:
    bad = [r for r in results if r.status in ("error", "fail", "warn")]
    if any(r.check == "host.reachable" and r.status == "error" for r in bad):
        bad = [r for r in bad if r.check == "host.reachable"]  # one cause, not one per check
    order = ("error", "fail", "warn")
    return [_problem(r) for r in sorted(bad, key=lambda r: (order.index(r.status), r.check, r.subject))]


def fleet_data(
    report: Report,
    strips: dict[str, list[tuple[str, str]]] | None = None,
    fleet_hosts: list[str] | None = None,
    hub: str = "",
) -> dict[str, Any]:
    """Everything the page shows, as data: hosts with state, problems, strip and map position.

    `fleet_hosts` (the inventory) adds the hosts this run did not check (`--limit`): "not checked"."""
    strips = strips or {}
    by_host: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_host.setdefault(r.host, []).append(r)
    hub = hub_of(report, hub)
    hosts = list(dict.fromkeys([*report.hosts, *(fleet_hosts or [])]))
    branches = [h for h in hosts if h != hub and h != "fleet"]
    runs = sorted({t for strip in strips.values() for t, _ in strip})
    where = layout(hub, branches)
    placed = {n.name: n for n in [where.hub, *where.nodes]}
    nodes = []
    for name in [hub, *branches]:
        mine = by_host.get(name, [])
        checked = any(r.status != "skip" for r in mine)
        statuses = {r.status for r in mine}
        worst = next((s for s in ("error", "fail", "warn", "skip", "pass") if s in statuses), "")
        marks = dict(strips.get(name, []))
        n = placed[name]
        nodes.append({
            "name": name,
            "label": short(name),
            "role": "hub" if name == hub else "branch",
            "state": STATE[worst] if checked else "unchecked",
            "x": n.x,
            "y": n.y,
            "a": n.angle,
            "c": n.cluster,
            "problems": _problems(mine),
            "strip": "".join(LETTER.get(marks[t], "-") if t in marks else "-" for t in runs),
        })
    return {
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat(),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "compliant": report.compliant,
        "runs": runs,
        "labels": where.labels,
        "nodeR": where.node_r,
        "clusters": [{"label": c.label, "x": c.x, "y": c.y, "r": c.r, "a": c.angle} for c in where.clusters],
        "fleet": _problems(by_host.get("fleet", [])),
        "nodes": nodes,
    }


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: router output can hold `</script>` or `<!--`."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(
    report: Report,
    strips: dict[str, list[tuple[str, str]]] | None = None,
    fleet_hosts: list[str] | None = None,
    hub: str = "",
) -> str:
    data = fleet_data(report, strips, fleet_hosts, hub)
    verdict = "compliant" if report.compliant else "not compliant"
    return _template().render(
        title=f"ikefleet fleet map — {verdict} — {report.finished.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        data=_script_json(data),
    )


def render_html_with_history(report: Report, history: Path, runs: int = STRIP_RUNS) -> str:
    """The map with each host's strip of its last `runs` runs from the history (none yet: no strips).

    Hosts of those runs that this report did not check (`--limit`) are drawn as "not checked"."""
    if not history.exists():
        return render_html(report)
    known = History(history)
    strips = known.strips(runs)
    return render_html(report, strips, [h for h in strips if h != "fleet"], known.hub())


def write_private(path: Path, text: str) -> None:
    """Owner-only under any umask (the map names every router and its faults), written beside the target
    and renamed, so a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
