"""`ikefleet report`: the latest verification recorded in the history, again, without touching a router.

`--html` writes the fleet map (ikefleet.reports.html) for a change ticket or a jump host; without it the
console summary. Exit 0 when the report was written, 2 when there is no history or the file cannot be
written (a report is not a check: `ikefleet compliance` gives the verdict as its exit code).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INPUT = 0, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_text = "the latest recorded verification again (console, or --html for the fleet map)"
    p = subparsers.add_parser("report", help=help_text, description=help_text)
    p.add_argument("-c", "--config", default="config.yaml", help="Nornir/ikefleet config (%(default)s)")
    p.add_argument("--html", action="store_true", help="the self-contained HTML fleet map")
    p.add_argument("--output", type=Path, help="write to FILE, owner-only (default: standard output)")
    p.add_argument("--runs", type=int, default=20, help="runs in each host's history strip (%(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ikefleet.reports.console import render_console
    from ikefleet.reports.html import render_html_with_history, write_private
    from ikefleet.verify.history import History, history_path

    path = history_path(Path(args.config))
    report = History(path).latest() if path.exists() else None
    if report is None:
        print(f"no verification recorded yet ({path}): run `ikefleet verify` first", file=sys.stderr)
        return EXIT_INPUT
    if args.runs < 1:
        print(f"--runs {args.runs}: give 1 or more runs for the history strips", file=sys.stderr)
        return EXIT_INPUT
    text = render_html_with_history(report, path, args.runs) if args.html else render_console(report)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_private(args.output, text)
    except OSError as exc:
        print(f"cannot write the report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK
