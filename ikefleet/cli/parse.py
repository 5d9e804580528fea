"""`ikefleet parse --command "<command>" FILE`: parse a saved RouterOS output and print JSON records."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ikefleet.parsers import (
    CommandFailed,
    ParseError,
    parse_generic,
    parser_for,
    supported_commands,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="parse a saved RouterOS command output into JSON records",
        description="Parse saved RouterOS console output; the command text chooses the parser.",
    )
    parser.add_argument("--command", required=True, help="the command that printed it, e.g. /ip route print")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="read any menu's print output untyped (RouterOS names and strings)",
    )
    parser.add_argument("file", metavar="FILE", help="saved output, or - for stdin")
    parser.set_defaults(func=run)


def _generic(command: str) -> Callable[[str], list[Any]]:
    return lambda text: parse_generic(text, command)


def run(args: argparse.Namespace) -> int:
    parser = _generic(args.command) if args.generic else parser_for(args.command)
    if parser is None:
        print(f"no parser for command {args.command!r}; supported commands:", file=sys.stderr)
        for command in supported_commands():
            print(f"  {command}", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8", errors="replace", newline="") as handle:
                text = handle.read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        records = parser(text)
    except CommandFailed as exc:
        print(json.dumps({"error": exc.error.kind, "text": exc.error.text}), file=sys.stderr)
        return 1
    except ParseError as exc:
        print(f"parse error: {exc}", file=sys.stderr)
        return 2
    json.dump(records, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
