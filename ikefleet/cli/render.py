"""`ikefleet render HOST`: print the full RouterOS script HOST should run (its intended configuration)."""

from __future__ import annotations

import argparse
import sys

from ikefleet.cli.inventory_args import add_config_argument, fleet_or_report
from ikefleet.intent import render_host
from ikefleet.plan import build_plan


def run(args: argparse.Namespace) -> int:
    fleet = fleet_or_report(args.config)
    if fleet is None:
        return 2
    try:
        fleet.site(args.host)
    except KeyError as exc:
        print(f"render: {exc.args[0]}", file=sys.stderr)
        return 2
    sys.stdout.write(render_host(fleet, build_plan(fleet), args.host))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("render", help="print the script a router should run")
    parser.add_argument("host", metavar="HOST", help="inventory host name")
    add_config_argument(parser)
    parser.set_defaults(func=run)
