"""Console summary: one line per router (worst first), then each router's story: the cause with its hint
first, the failures it explains folded under it (ikefleet/verify/story.py)."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.segment import Segment, Segments

from ikefleet.verify.engine import STATUSES, CheckResult, Report
from ikefleet.verify.story import Outcome, Story

STYLE = {"error": "bold magenta", "fail": "bold red", "warn": "yellow", "skip": "dim", "pass": "green"}
NOTHING = "no router was checked"
LABEL = {"error": "COULD NOT CHECK", "fail": "FAIL", "warn": "WARN", "skip": "SKIP", "pass": "OK"}
PAD = " " * 8
TITLE = "ikefleet verify"
COLUMNS = ("router", "status", "pass", "cause")
Row = tuple[str, str, str, str]  # router, status, passing checks, cause (plain text)


def _rank(status: str) -> int:
    return STATUSES.index(status)


def _since(r: Outcome) -> str:
    return f" (since {r.since[:19].replace('T', ' ')})" if r.since and r.status != "pass" else ""


def _where(r: Outcome, router: str) -> str:
    """A result seen on another router than the story's (the hub's view of a branch) says where."""
    subject = f" ({r.subject})" if r.subject else ""
    return f"{r.check}{subject}" + (f" on {r.host}" if r.host != router else "")


def _line(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _story(console: Console, story: Story, verbose: bool) -> None:
    cause = story.cause
    console.print(
        f"\n[bold]{escape(story.host)}[/]: [{STYLE[story.status]}]{LABEL[story.status]}[/], "
        f"cause in layer {escape(cause.layer or '-')}",
        highlight=False,
    )
    console.print(
        f"  [{STYLE[cause.status]}]{LABEL[cause.status]}[/] {escape(_where(cause, story.host))}: "
        f"{escape(cause.title)}{escape(_since(cause))}",
        highlight=False,
    )
    if cause.hint:
        _line(console, f"{PAD}hint: {cause.hint}")
    _line(console, f"{PAD}expected: {cause.expected}")
    _line(console, f"{PAD}observed: {cause.observed}")
    symptoms = list(story.symptoms)
    if not symptoms:
        return
    _line(console, f"  {len(symptoms)} more, explained by the cause above:")
    unreachable = cause.check == "host.reachable" and cause.status == "error"
    unread = [s for s in symptoms if unreachable and s.host == story.host and s.status == "error"]
    if unread:  # one line, not one "could not check" per check of an unreachable router
        _line(console, f"{PAD}{len(unread)} checks could not run: {', '.join(s.check for s in unread)}")
    for s in symptoms:
        if any(s is u for u in unread):
            continue
        console.print(
            f"{PAD}[{STYLE[s.status]}]{LABEL[s.status]}[/] "
            f"{escape(_where(s, story.host))}: {escape(s.observed)}",
            highlight=False,
        )
        if verbose and s.hint:
            _line(console, f"{PAD}  hint: {s.hint}")


def _summary(console: Console, rows: list[Row]) -> None:
    """The one-line-per-router table, drawn as rich's Table (heavy head, a column as wide as its widest
    cell, the title centred over it) draws it, byte for byte, colours included: rich's layout of 200 rows
    cost 50 ms of CPU. A table wider than the console (rich would wrap its cells), a console without
    UTF-8 (rich would draw ASCII borders) or a cell that is not plain printable text is left to rich."""
    cells = [(host, LABEL[status], passed, cause) for host, status, passed, cause in rows]
    widths = [max(cell_len(text) for text in column) for column in zip(COLUMNS, *cells, strict=True)]
    if (sum(widths) + 3 * len(widths) + 1 > console.width or console.options.ascii_only
            or console.legacy_windows or not all(text.isprintable() for row in cells for text in row)):
        _rich_table(console, rows)
        return
    header, title = console.get_style("table.header"), console.get_style("table.title")
    table_width = sum(widths) + 3 * len(widths) + 1
    left = (table_width - cell_len(TITLE)) // 2
    out = [Segment(" " * left + TITLE + " " * (table_width - left - cell_len(TITLE)), title), Segment.line()]

    def rule(left: str, middle: str, right: str, line: str) -> None:
        out.extend((Segment(left + middle.join(line * (w + 2) for w in widths) + right), Segment.line()))

    rule("┏", "┳", "┓", "━")
    out.append(Segment("┃"))
    for name, width in zip(COLUMNS, widths, strict=True):
        out.extend((Segment(" ", header), Segment(name.ljust(width), header), Segment(" ", header),
                    Segment("┃")))
    out.append(Segment.line())
    rule("┡", "╇", "┩", "━")
    for (_, status, _, _), row in zip(rows, cells, strict=True):
        out.append(Segment("│"))
        for column, (text, width) in enumerate(zip(row, widths, strict=True)):
            style = console.get_style(STYLE[status]) if column == 1 else None
            out.extend((Segment(" "), Segment(text, style), Segment(" " * (width - cell_len(text)) + " │")))
        out.append(Segment.line())
    rule("└", "┴", "┘", "─")
    console.print(Segments(out))


def _rich_table(console: Console, rows: list[Row]) -> None:
    from rich.table import Table

    table = Table(title=TITLE, show_lines=False)
    for column in COLUMNS:
        table.add_column(column)
    for host, status, passed, cause in rows:
        table.add_row(escape(host), f"[{STYLE[status]}]{LABEL[status]}[/]", passed, escape(cause))
    console.print(table)


def print_report(report: Report, console: Console, *, verbose: bool = False) -> None:
    stories = {s.host: s for s in report.stories()}
    routers = [*report.hosts, *(h for h in stories if h not in report.hosts)]
    routers.sort(key=lambda h: (h == "fleet", _rank(stories[h].status) if h in stories else _rank("pass"), h))
    # each router's passing results, in one pass (a scan of them all per router: 200 x 3,400 at 200 branches)
    passed: dict[str, list[CheckResult]] = {}
    for r in report.results:
        if r.status == "pass":
            passed.setdefault(r.about or r.host, []).append(r)
    rows: list[Row] = []
    for host in routers:
        story = stories.get(host)
        cause = f"{story.layer}: {story.cause.check}" if story else ""
        if story and story.symptoms:
            cause += f" (+{len(story.symptoms)} explained)"
        rows.append((host, story.status if story else "pass", str(len(passed.get(host, ()))), cause))
    _summary(console, rows)
    for host in routers:
        if host in stories:
            _story(console, stories[host], verbose)
    if verbose:
        for host in routers:
            if host in passed:
                names = ", ".join(_where(r, host) for r in passed[host])
                _line(console, f"\n{host} passed: {names}")
    counts = report.counts
    verdict = "COMPLIANT" if report.compliant else "NOT COMPLIANT"
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) if report.hosts else NOTHING
    console.print(f"\n{verdict}: {summary}", markup=False, highlight=False)


def render_console(report: Report, *, verbose: bool = False, width: int = 120, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="auto" if color else None)
    print_report(report, console, verbose=verbose)
    return buffer.getvalue()
