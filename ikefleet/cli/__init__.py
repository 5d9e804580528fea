"""`ikefleet` command line: a thin layer; each subcommand lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Each module defines `register(subparsers) -> None`; the parser it adds sets `func(args) -> int`.
SUBCOMMANDS = [
    "ikefleet.cli.demo",
    "ikefleet.cli.plan",
    "ikefleet.cli.render",
    "ikefleet.cli.lab",
    "ikefleet.cli.rollout",
    "ikefleet.cli.certs",
    "ikefleet.cli.parse",
    "ikefleet.cli.verify",
    "ikefleet.cli.report",
]
# Subcommands that connect to routers: they take --accept-new-hostkeys (ikefleet.hostkeys).
HOSTKEY_COMMANDS = ("rollout", "verify", "compliance", "certs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ikefleet",
        description="Roll out, verify and keep compliant a MikroTik RouterOS IKEv2 + EoIP + OSPF VPN.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    for command in HOSTKEY_COMMANDS:
        if command in subparsers.choices:
            subparsers.choices[command].add_argument(
                "--accept-new-hostkeys", action="store_true",
                help="a router's SSH host key changed on purpose (replaced/reinstalled): pin the new key",
            )
    return parser


def quiet_libraries() -> None:
    """ikefleet reports every host's failure itself; Nornir's and paramiko's tracebacks are noise."""
    for name in ("nornir", "paramiko", "netmiko", "asyncssh"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    quiet_libraries()
    args = build_parser().parse_args(argv)
    if getattr(args, "accept_new_hostkeys", False):  # read by inventory.init_nornir (ikefleet.hostkeys)
        os.environ["IKEFLEET_ACCEPT_NEW_HOSTKEYS"] = "1"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
