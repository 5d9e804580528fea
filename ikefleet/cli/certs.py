"""`ikefleet certs status|renew BRANCH|revoke BRANCH`: the fleet's certificates, from the hub (the CA)."""

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
    p.add_argument("branch", nargs="?", help="the branch to renew or revoke")
    p.add_argument(
        "-c", "--config", default="config.yaml", help="Nornir/ikefleet config (default: %(default)s)"
    )
    p.add_argument("--secrets", type=Path, help="YAML secrets file (chmod 600); overrides config")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ikefleet.runbooks.certs import Certs, CertsError

    if args.action != "status" and not args.branch:
        print(
            f"ikefleet certs {args.action}: name the branch, e.g. `ikefleet certs {args.action} br1`",
            file=sys.stderr,
        )
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
            print(certs.renew(args.branch))
            return EXIT_OK
        summary = certs.revoke(args.branch)
        hub = summary.hosts.get(certs.fleet.hub.name)
        if hub is None or hub.status == "failed":
            why = hub.error if hub else summary.stopped
            print(f"{args.branch}: certificate revoked, but the hub did not converge: {why}", file=sys.stderr)
            return EXIT_FAILED
        for line in hub.certificates:  # what was revoked, by name, as the run directory records it
            print(f"{hub.host}: {line}")
        print(
            f"{args.branch}: certificate revoked on the hub (CRL), its identity removed "
            f"({hub.commands} commands); rollouts skip it until `ikefleet certs renew {args.branch}`; "
            f"record: {summary.run_dir}"
        )
        return EXIT_OK
    except InventoryError as exc:
        print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INPUT
    except (CertsError, SecretsError, LockedError) as exc:
        print(f"ikefleet certs {args.action}: {exc}", file=sys.stderr)
        return EXIT_FAILED if isinstance(exc, CertsError) else EXIT_INPUT
