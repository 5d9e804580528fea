"""`ikefleet backup`: read every router now and commit the exports to the backups repository (for cron)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ikefleet.cli.inventory_args import add_config_argument, add_secrets_argument, report_inventory_error
from ikefleet.config_repo import RepoError
from ikefleet.problems import InventoryError
from ikefleet.secrets import SecretsError
from ikefleet.selection import SelectionError


def run(args: argparse.Namespace) -> int:
    from ikefleet.runbooks.backup import backup

    try:
        summary = backup(Path(args.config), Path(args.secrets) if args.secrets else None, tuple(args.limit))
    except InventoryError as exc:
        report_inventory_error(exc)
        return 2
    except (RepoError, SelectionError, SecretsError) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2
    commit = summary.commit
    if commit is None and summary.read:
        print(f"backup: {len(summary.read)} router(s) read, no configuration changed ({summary.repository})")
    elif commit is not None:
        changed = ", ".join(commit.changed)
        print(f"backup: {len(summary.read)} router(s) read; committed {commit.rev[:12]} to "
              f"{summary.repository} (changed: {changed})")
    for host, why in sorted(summary.unreadable.items()):
        print(f"backup: {host}: could not be read, not backed up: {why}", file=sys.stderr)
    return 1 if summary.failed else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="read every router's /export terse hide-sensitive and commit what changed to git",
        description=__doc__.split(": ", 1)[1] + " The repository is ikefleet.backups.repository in "
        "config.yaml (default .ikefleet/backups.git beside it); exit 1 when a router could not be read.",
    )
    add_config_argument(parser)
    add_secrets_argument(parser)
    parser.add_argument("--limit", action="append", default=[], metavar="HOST|GROUP",
                        help="only these hosts or groups (repeatable, or comma-separated)")
    parser.set_defaults(func=run)
