"""Console summary: one line per host (worst first), then each host's problems with their hints."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ikefleet.verify.engine import STATUSES, Report, Result

STYLE = {"error": "bold magenta", "fail": "bold red", "warn": "yellow", "skip": "dim", "pass": "green"}
NOTHING = "no router was checked"
LABEL = {"error": "COULD NOT CHECK", "fail": "FAIL", "warn": "WARN", "skip": "SKIP", "pass": "OK"}


def _rank(status: str) -> int:
    return STATUSES.index(status)


def _since(r: Result) -> str:
    return f" (since {r.since[:19].replace('T', ' ')})" if r.since and r.status != "pass" else ""


def _reachable(report: Report, host: str) -> bool:
    return all(r.status != "error" for r in report.results if r.host == host and r.check == "host.reachable")


def print_report(report: Report, console: Console, *, verbose: bool = False) -> None:
    hosts = sorted(report.hosts, key=lambda h: (_rank(report.host_status(h)), h))
    if any(r.host == "fleet" for r in report.results):
        hosts.append("fleet")
    table = Table(title="ikefleet verify", show_lines=False)
    for column in ("host", "status", "pass", "problems"):
        table.add_column(column)
    for host in hosts:
        mine = [r for r in report.results if r.host == host]
        worst = min((r.status for r in mine), key=_rank, default="pass")
        bad = [r for r in mine if r.status in ("error", "fail", "warn")]
        if not _reachable(report, host):
            names = "host.reachable (nothing else could be checked)"
        else:
            names = ", ".join(sorted({r.check for r in bad}))
        passed = str(sum(1 for r in mine if r.status == "pass"))
        table.add_row(escape(host), f"[{STYLE[worst]}]{LABEL[worst]}[/]", passed, escape(names))
    console.print(table)
    for host in hosts:
        shown = [
            r for r in report.results if r.host == host and (verbose or r.status not in ("pass", "skip"))
        ]
        if not _reachable(report, host):  # one line, not one "could not check" per check
            shown = [r for r in shown if r.check == "host.reachable"]
        if not shown:
            continue
        console.print(f"\n[bold]{escape(host)}[/]")
        for r in sorted(shown, key=lambda r: (_rank(r.status), r.check, r.subject)):
            subject = f" ({r.subject})" if r.subject else ""
            text = escape(f"{r.check}{subject}: {r.title}{_since(r)}")
            console.print(
                f"  [{STYLE[r.status]}]{LABEL[r.status]:>15}[/] {text}",
                markup=True,
                highlight=False,
            )
            if r.status != "pass":
                console.print(f"{'':18}expected: {r.expected}", markup=False, highlight=False)
                console.print(f"{'':18}observed: {r.observed}", markup=False, highlight=False)
                if r.hint:
                    console.print(f"{'':18}hint: {r.hint}", markup=False, highlight=False)
    counts = report.counts
    verdict = "COMPLIANT" if report.compliant else "NOT COMPLIANT"
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) if report.hosts else NOTHING
    console.print(f"\n{verdict}: {summary}", markup=False, highlight=False)


def render_console(report: Report, *, verbose: bool = False, width: int = 120, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="auto" if color else None)
    print_report(report, console, verbose=verbose)
    return buffer.getvalue()
