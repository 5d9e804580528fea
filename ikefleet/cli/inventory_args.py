"""Shared CLI plumbing for commands that read the inventory: -c/--config, --secrets, problem reporting.

Commands that only plan (plan, render) need `--config`; commands that connect add `--secrets` and build
Nornir with `nornir_or_report(args)`. Both print every problem with its fix and let the caller exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ikefleet.fleet import Fleet
from ikefleet.inventory import load_fleet_and_files, load_inventory
from ikefleet.nornir_init import init_nornir
from ikefleet.problems import InventoryError
from ikefleet.secrets import SecretsError


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default="config.yaml", help="Nornir/ikefleet config (config.yaml)")


def add_secrets_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secrets", metavar="FILE", default=None,
                        help="credentials YAML (chmod 600); overrides ikefleet.secrets_file in config.yaml")


def report_inventory_error(exc: InventoryError) -> None:
    print(f"inventory: {len(exc.problems)} problem(s), nothing was contacted:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def fleet_or_report(config: str) -> Fleet | None:
    """The validated fleet, or None after printing every inventory problem to stderr (caller exits 2)."""
    try:
        return load_inventory(config)
    except InventoryError as exc:
        report_inventory_error(exc)
        return None


def nornir_or_report(args: argparse.Namespace, **kwargs: Any) -> tuple[Fleet, Any] | None:
    """(Fleet, Nornir with credentials bound), or None after printing why (caller exits 2). No connection."""
    try:
        fleet, files = load_fleet_and_files(args.config)
        return fleet, init_nornir(args.config, getattr(args, "secrets", None), inventory=files, **kwargs)
    except InventoryError as exc:
        report_inventory_error(exc)
    except SecretsError as exc:
        print(f"secrets: {exc}", file=sys.stderr)
    return None
