"""`ikefleet plan`: validate the inventory and show the address plan (table, or JSON with --json)."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from ikefleet.cli.inventory_args import add_config_argument, fleet_or_report
from ikefleet.fleet import Fleet
from ikefleet.plan import Plan, build_plan

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


def plan_table(fleet: Fleet, plan: Plan) -> Table:
    hub = plan.hub
    title = (f"{hub.name} (hub): wan {hub.wan_address}, ipsec {hub.ipsec_address}, "
             f"router-id {hub.router_id}, "
             f"certificates {hub.ca_certificate}/{hub.server_certificate}")
    table = Table(title=title)
    for header, _ in COLUMNS:
        table.add_column(header)
    for branch in plan.branches:
        table.add_row(*(str(getattr(branch, attr)) for _, attr in COLUMNS))
    return table


def run(args: argparse.Namespace) -> int:
    fleet = fleet_or_report(args.config)
    if fleet is None:
        return 2
    plan = build_plan(fleet)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        # The terminal's width; piped to a file or a pager, a wide table rather than one wrapped at 80.
        Console(width=None if sys.stdout.isatty() else 200).print(plan_table(fleet, plan))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("plan", help="validate the inventory and show the address plan")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(func=run)
