"""`ikefleet restore HOST --run RUN_ID | --rev REV [--dry-run]`: a router's managed configuration as a backup
shows it, through the same diff, safe mode and post-check as a rollout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ikefleet.cli.inventory_args import add_config_argument, add_secrets_argument, report_inventory_error
from ikefleet.config_repo import RepoError
from ikefleet.problems import InventoryError
from ikefleet.rundir import LockedError
from ikefleet.secrets import SecretsError
from ikefleet.selection import SelectionError


def run(args: argparse.Namespace) -> int:
    from ikefleet.runbooks.restore import RestoreError, RestoreOptions, restore

    options = RestoreOptions(
        Path(args.config), args.host, run_id=args.run, rev=args.rev, dry_run=args.dry_run,
        secrets_file=Path(args.secrets) if args.secrets else None,
        accept_new_hostkeys=args.accept_new_hostkeys,
    )
    try:
        outcome = restore(options)
    except InventoryError as exc:
        report_inventory_error(exc)
        return 2
    except (RestoreError, SelectionError, SecretsError, LockedError, RepoError) as exc:
        print(f"ikefleet restore: {exc}", file=sys.stderr)
        return 2
    source = f"run {args.run}" if args.run else f"backups revision {args.rev}"
    for change in outcome.changes:
        print(change)
    words = {
        "unchanged": "already as the backup shows: nothing to send",
        "would-change": f"{len(outcome.changes)} change(s) would be sent (dry run: nothing sent)",
        "changed": f"put back to {source}: {outcome.commands} command(s) in safe mode, checked by re-read",
        "failed": f"not restored: {outcome.error}",
    }
    print(f"{args.host}: {words.get(outcome.status, outcome.status)}", file=sys.stderr)
    return 1 if outcome.status == "failed" else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="put a router's managed configuration back to a backup (a run's, or a backups commit)",
        description=__doc__.split(": ", 1)[1].replace("\n", " "),
    )
    parser.add_argument("host", metavar="HOST", help="inventory host name")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID", help="a run directory's name (.ikefleet/runs/): the "
                       "export read before that run changed it")
    which.add_argument("--rev", metavar="REV",
                       help="a commit of the backups repository (main, main~2, a hash)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, send nothing")
    add_config_argument(parser)
    add_secrets_argument(parser)
    parser.set_defaults(func=run)
