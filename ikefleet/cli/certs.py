"""`ikefleet certs status|renew BRANCH...|revoke BRANCH`: the fleet's certificates, from the hub (the CA).

`renew` takes many branches (names, groups, or --limit as other commands take it) and renews them in one
run: the keys are made at the same time where the routers can (7.9+), else on the hub in the background."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ikefleet.problems import InventoryError
from ikefleet.rundir import LockedError
from ikefleet.secrets import SecretsError

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "certs", help="certificate status, renewal and revocation (the hub is the CA)", description=__doc__
    )
    p.add_argument("action", choices=("status", "renew", "revoke"))
    p.add_argument("branch", nargs="*", help="the branch to revoke; the branches (or groups) to renew")
    p.add_argument(
        "--limit", action="append", default=[], metavar="HOST|GROUP",
        help="renew: these branches or groups (repeatable, or comma-separated), as rollout's --limit",
    )
    p.add_argument(
        "-c", "--config", default="config.yaml", help="Nornir/ikefleet config (default: %(default)s)"
    )
    p.add_argument("--secrets", type=Path, help="YAML secrets file (chmod 600); overrides config")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ikefleet.runbooks.certs import Certs, CertsError, CertsInputError

    chosen = [*args.branch, *args.limit]
    if args.action != "status" and not chosen:
        print(
            f"ikefleet certs {args.action}: name the branch, e.g. `ikefleet certs {args.action} br1`",
            file=sys.stderr,
        )
        return EXIT_INPUT
    if args.action == "revoke" and (len(args.branch) != 1 or args.limit):
        print("ikefleet certs revoke: one branch at a time, e.g. `ikefleet certs revoke br1`",
              file=sys.stderr)
        return EXIT_INPUT
    try:
        certs = Certs(Path(args.config), args.secrets, args.accept_new_hostkeys)
        if args.action == "status":
            rows = certs.status()
            if args.json:
                print(json.dumps([asdict(r) for r in rows], indent=2))
            else:
                table = Table(title="certificates (issued by the hub)")
                for column in ("name", "role", "branch", "days left", "flags", "on branch", "fingerprint"):
                    table.add_column(column)
                for r in rows:
                    days = "" if r.days_left is None else str(r.days_left)
                    table.add_row(
                        Text(r.name),
                        r.role,
                        Text(r.branch),
                        days,
                        Text(r.flags),
                        r.on_branch,
                        Text(r.fingerprint[:16]),
                    )
                Console().print(table)
            bad = [r for r in rows if r.flags or r.on_branch not in ("current", "n/a")]
            return EXIT_FAILED if bad else EXIT_OK
        if args.action == "renew":
            done = certs.renew_many(certs.selected(chosen))
            for message in done.renewed.values():
                print(message)
            for why in done.failed.values():
                print(f"ikefleet certs renew: {why}", file=sys.stderr)
            print(f"record: {done.record}")
            return EXIT_FAILED if done.failed else EXIT_OK
        (branch,) = args.branch
        revocation = certs.revoke(branch)
        summary = revocation.summary
        hub = summary.hosts.get(revocation.hub)
        if hub is None or not revocation.converged:
            why = hub.error if hub else summary.stopped
            print(f"{branch}: certificate revoked, but the hub did not converge: {why}; record: "
                  f"{summary.run_dir}", file=sys.stderr)
            for warning in hub.warnings if hub else []:
                print(f"warning: {warning}", file=sys.stderr)
            return EXIT_FAILED
        for line in hub.certificates:  # what was revoked, by name, as the run directory records it
            print(f"{hub.host}: {line}")
        print(
            f"{branch}: certificate revoked on the hub (CRL), its identity removed "
            f"({hub.commands} commands); rollouts skip it until `ikefleet certs renew {branch}`; "
            f"record: {summary.run_dir}"
        )
        if revocation.held:  # as the rollout says it, and exits: its hub run kept a certificate due
            print(f"ikefleet certs revoke: {hub.host}: {revocation.held}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    except InventoryError as exc:
        print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except (CertsError, SecretsError, LockedError) as exc:
        print(f"ikefleet certs {args.action}: {exc}", file=sys.stderr)
        failed = isinstance(exc, CertsError) and not isinstance(exc, CertsInputError)
        return EXIT_FAILED if failed else EXIT_INPUT
