"""`ikefleet plan`: validate the inventory and show the address plan (table, or JSON with --json)."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from ikefleet.inventory import Fleet, load_inventory
from ikefleet.plan import Plan, build_plan
from ikefleet.validate import InventoryError

COLUMNS = (  # (header, BranchPlan attribute): the table layout as data
    ("branch", "name"),
    ("id", "branch_id"),
    ("ipsec", "ipsec_address"),
    ("eoip /30", "eoip_network"),
    ("hub side", "hub_eoip_address"),
    ("branch side", "branch_eoip_address"),
    ("hub interface", "hub_interface"),
    ("branch interface", "branch_interface"),
    ("router-id", "router_id"),
    ("certificate", "client_certificate"),
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default="config.yaml", help="Nornir/ikefleet config (config.yaml)")


def load_or_report(config: str) -> Fleet | None:
    """The validated fleet, or None after printing every inventory problem to stderr."""
    try:
        return load_inventory(config)
    except InventoryError as exc:
        print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def plan_table(fleet: Fleet, plan: Plan) -> Table:
    hub = plan.hub
    title = (f"hub {hub.name}: wan {hub.wan_address}, ipsec {hub.ipsec_address}, router-id {hub.router_id}, "
             f"certificates {hub.ca_certificate}/{hub.server_certificate}")
    table = Table(title=title)
    for header, _ in COLUMNS:
        table.add_column(header)
    for branch in plan.branches:
        table.add_row(*(str(getattr(branch, attr)) for _, attr in COLUMNS))
    return table


def run(args: argparse.Namespace) -> int:
    fleet = load_or_report(args.config)
    if fleet is None:
        return 2
    plan = build_plan(fleet)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        Console(width=200).print(plan_table(fleet, plan))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="validate the inventory and show the address plan")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(func=run)
