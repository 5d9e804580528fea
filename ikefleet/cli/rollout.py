"""`ikefleet rollout`: the main job. Thin: options in, runbooks.rollout does the work, summary out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ikefleet.cli.values import count, seconds
from ikefleet.interrupt import EXIT_INTERRUPTED
from ikefleet.problems import InventoryError
from ikefleet.processors.ledger import Summary
from ikefleet.rundir import LockedError
from ikefleet.secrets import SecretsError
from ikefleet.waves import Amount

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "rollout",
        help="converge the hub, then the branches in waves (idempotent, safe mode, dry run)",
        description="Roll the intended configuration out: hub first, then a canary wave and waves of "
        "branches; each wave waits until its branches pass verify's checks. Re-runs send only what differs.",
    )
    p.add_argument(
        "-c", "--config", default="config.yaml", help="Nornir/ikefleet config (default: %(default)s)"
    )
    p.add_argument("--secrets", type=Path, help="YAML secrets file (chmod 600); overrides config")
    p.add_argument("--dry-run", action="store_true", help="show the per-host diff, change nothing")
    p.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="HOST|GROUP",
        help="only these hosts or groups (repeatable, or comma-separated; groups: responder, initiators, "
        "and those of groups.yaml)",
    )
    p.add_argument(
        "--canary",
        type=count("--canary", "1"),
        default=1,
        metavar="N",
        help="branches in the first wave (%(default)s)",
    )
    p.add_argument(
        "--wave-size",
        default="25%",
        metavar="N|P%",
        help="branches per later wave, a count or a percentage (%(default)s)",
    )
    p.add_argument(
        "--max-fail",
        default=None,
        metavar="N|P%",
        help="stop further waves once more hosts than this have failed (count or percent; "
        "default: the first failure stops them)",
    )
    p.add_argument(
        "--keep-failed",
        action="store_true",
        help="a branch that fails its wave's gate keeps this run's change, for debugging (default: it is "
        "put back to its configuration before this run)",
    )
    p.add_argument(
        "--gate-timeout",
        type=seconds("--gate-timeout", "120"),
        default=120.0,
        metavar="SECONDS",
        help="how long a wave may take to bring its tunnels up (%(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the run summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress, only the final summary (for cron)")
    p.set_defaults(func=run)


def _table(summary: Summary) -> Table:
    table = Table(title="rollout summary")
    for column in ("host", "status", "commands", "detail"):
        table.add_column(column)
    order = {"failed": 0, "interrupted": 0, "skipped": 1, "changed": 2, "would-change": 3, "unchanged": 4}
    for name, outcome in sorted(summary.hosts.items(), key=lambda kv: (order.get(kv[1].status, 9), kv[0])):
        table.add_row(Text(name), Text(outcome.status), str(outcome.commands), Text(outcome.error))
    return table


def run(args: argparse.Namespace) -> int:
    from ikefleet.cli.progress import shown
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    try:
        options = RolloutOptions(
            config=Path(args.config),
            dry_run=args.dry_run,
            limit=tuple(args.limit),
            canary=args.canary,
            wave_size=Amount.parse(args.wave_size, option="--wave-size"),
            max_fail=None if args.max_fail is None else Amount.parse(args.max_fail, option="--max-fail"),
            gate_timeout_s=args.gate_timeout,
            secrets_file=args.secrets,
            accept_new_hostkeys=args.accept_new_hostkeys,
            keep_failed=args.keep_failed,
        )
        # on standard error: a live display on a terminal, plain lines elsewhere (cron, CI), none if --quiet
        with shown(args.quiet) as progress:
            summary = Rollout(options, progress=progress).run()
    except InventoryError as exc:
        print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except (ValueError, SecretsError, LockedError, FileNotFoundError) as exc:
        print(f"ikefleet rollout: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps(summary.to_json(), indent=2, sort_keys=True))
    else:
        console = Console()
        print_summary(summary, console)
        console.print(f"run directory: {summary.run_dir}", markup=False)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summary.failed else EXIT_OK


def print_summary(summary: Summary, console: Console) -> None:
    if summary.dry_run:  # the per-host diff is what a dry run is for
        for name, outcome in summary.hosts.items():
            if outcome.changes:
                sent = (f", {outcome.commands} command(s) would be sent (the run directory's "
                        f"diffs/{name}.commands)" if outcome.commands else "")
                console.print(f"--- {name}: {len(outcome.changes)} change(s){sent}", markup=False,
                              soft_wrap=True)
                for line in outcome.changes:
                    console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    else:  # the configuration's changes are in the diff files; certificate work is said here
        for name, outcome in summary.hosts.items():
            for line in outcome.certificates:
                console.print(f"{name}: {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(_table(summary))
    if summary.stopped:
        console.print(f"stopped: {summary.stopped}", markup=False)
