"""`ikefleet verify`, `ikefleet compliance` and `ikefleet history`: thin layers over runbooks.verify.

Exit codes: 0 compliant, 1 violations (a failed check, or a host that could not be checked), 2 the run
could not happen (bad inventory or secrets, no host reachable, unwritable output), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ikefleet import private
from ikefleet.cli.values import count
from ikefleet.interrupt import EXIT_INTERRUPTED, Interrupted
from ikefleet.problems import InventoryError
from ikefleet.redact import scrub

if TYPE_CHECKING:
    from ikefleet.verify.engine import Report

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2
FORMATS = ("console", "json", "junit", "prom", "html")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, help_text, default_format in (
        ("verify", "gather every router's state and check it against the plan", "console"),
        (
            "compliance",
            "non-interactive verify for cron/systemd: exit 0 compliant, 1 violations, 2 error",
            "json",
        ),
    ):
        p = subparsers.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-c", "--config", default="config.yaml", help="Nornir/ikefleet config (%(default)s)")
        p.add_argument("--secrets", type=Path, help="YAML secrets file (chmod 600); overrides config")
        p.add_argument(
            "--format", choices=FORMATS, default=default_format, help="report format (%(default)s)"
        )
        p.add_argument("--output", type=Path, help="write the report to FILE (default: standard output)")
        p.add_argument("--limit", action="append", default=[], metavar="HOST|GROUP",
                       help="only these hosts or groups (repeatable, or comma-separated)")
        p.add_argument("--verbose", action="store_true", help="console: list passing checks too")
        p.add_argument("--no-history", action="store_true", help="do not record this run in the history")
        p.add_argument("--quiet", action="store_true", default=name == "compliance",
                       help="no progress while reading, only the report (for cron)"
                       + ("; always on for compliance" if name == "compliance" else ""))
        p.set_defaults(func=run)
    h = subparsers.add_parser("history", help="past verification results of one host")
    h.add_argument("host")
    h.add_argument("-c", "--config", default="config.yaml", help="Nornir/ikefleet config (%(default)s)")
    h.add_argument("--runs", type=count("--runs", "10", minimum=1), default=10,
                   help="how many past runs (%(default)s)")
    h.add_argument("--all", action="store_true", help="passing checks too")
    h.set_defaults(func=history)


def render(report: Report, fmt: str, verbose: bool = False, config: Path | None = None) -> str:
    """The report in `fmt`; each renderer is imported only when asked for (html and prom are not light)."""
    if fmt == "json":
        from ikefleet.reports.json_report import render_json

        return render_json(report)
    if fmt == "junit":
        from ikefleet.reports.junit import render_junit

        return render_junit(report)
    if fmt == "prom":
        from ikefleet.reports.prometheus import render_prometheus

        return render_prometheus(report)
    if fmt == "html":  # the fleet map, with each host's strip from the history beside the config
        from ikefleet.reports.html import render_html_with_history
        from ikefleet.verify.history import history_path

        return render_html_with_history(report, history_path(config or Path("config.yaml")))
    from ikefleet.reports.console import render_console

    return render_console(report, verbose=verbose)


def run(args: argparse.Namespace) -> int:
    # (imported here, not at the top: `verify --help` and a bad argument need none of them, and the
    # selection's imports take paramiko, Nornir and the inventory's YAML; rich only for a console report)
    from ikefleet.verify.collector import settled

    with settled():  # modules, like the fleet's set-up below, live to the end: no collector pass over them
        from ikefleet.cli.progress import shown
        from ikefleet.runbooks.verify import Verify, VerifyOptions
        from ikefleet.secrets import SecretsError
        from ikefleet.selection import SelectionError

    try:
        options = VerifyOptions(Path(args.config), args.secrets, tuple(args.limit), not args.no_history,
                                accept_new_hostkeys=args.accept_new_hostkeys)
        with shown(args.quiet) as progress:  # on standard error: the report may be standard output
            with settled():
                verify = Verify(options, progress)
            report = verify.run()
    except InventoryError as exc:
        print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except SecretsError as exc:
        print(f"secrets: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SelectionError as exc:
        print(f"ikefleet {getattr(args, 'command', 'verify')}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except Interrupted as exc:  # Ctrl-C: no report (a partial one could read as compliant), no history
        print(f"ikefleet verify: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        print(scrub(f"verify could not run: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return EXIT_INPUT
    try:
        if args.output is not None:
            text = render(report, args.format, args.verbose, Path(args.config))
            if args.format == "prom":
                from ikefleet.reports.prometheus import write_textfile

                write_textfile(args.output, text)
            elif args.format == "html":
                from ikefleet.reports.html import write_private

                write_private(args.output, text)
            else:
                private.write_text(args.output, text)  # owner-only, whatever the umask
        elif args.format == "console":
            from rich.console import Console

            from ikefleet.reports.console import print_report

            print_report(report, Console(), verbose=args.verbose)
        else:
            sys.stdout.write(render(report, args.format, args.verbose, Path(args.config)))
    except OSError as exc:
        print(f"cannot write the report: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if report.could_not_run:
        return EXIT_INPUT
    return EXIT_OK if report.compliant else EXIT_VIOLATIONS


def history(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ikefleet.verify.history import History, history_path

    path = history_path(Path(args.config))
    if not path.exists():
        print(f"no history yet ({path}): run `ikefleet verify` first", file=sys.stderr)
        return EXIT_INPUT
    entries = History(path).host(args.host, args.runs)
    if not entries:
        print(f"no results for host {args.host!r} in {path}", file=sys.stderr)
        return EXIT_INPUT
    console = Console()
    for e in entries:
        if e.status == "pass" and not args.all:
            continue
        subject = f" ({e.subject})" if e.subject else ""
        since = f" since {_when(e.since)}" if e.status != "pass" else ""
        console.print(
            f"{_when(e.time)}  {e.status:<5} {e.check}{subject}{since}: {e.observed}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    latest = entries[0].time
    bad = [e for e in entries if e.time == latest and e.status != "pass"]
    console.print(
        f"latest run {_when(latest)}: {'all checks pass' if not bad else f'{len(bad)} problem(s)'}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_OK


def _when(iso: str) -> str:
    """`2026-11-27T01:00:00.123+00:00` -> `2026-11-27 01:00:00` (history times are UTC)."""
    return iso[:19].replace("T", " ")
