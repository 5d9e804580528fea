"""`ikefleet render HOST`: print the full RouterOS script HOST should run (its intended configuration).

`--against EXPORT_FILE` prints instead the commands a rollout would send to a router whose `/export` (terse
or not) is that file, computed as the rollout computes them (same dialect choice, same diff, same
ownership rules) without contacting anything: an offline plan to review against a real router's export.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ikefleet.cli.inventory_args import add_config_argument, fleet_or_report
from ikefleet.diff import Remediation
from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import host_major, render_host
from ikefleet.plan import Plan, build_plan
from ikefleet.redact import mask_command
from ikefleet.routeros.script import ScriptError, parse_script
from ikefleet.tasks.converge import plan_changes
from ikefleet.tasks.version import Detected

# The first line of every export: `# oct/18/2025 07:40:52 by RouterOS 6.49.19` (7.x: `# 2025-10-18 ...`).
_EXPORTED_BY = re.compile(r"^#.* by RouterOS (\d+\.\d+(?:\.\d+)?)", re.MULTILINE)


def exported_version(text: str) -> str | None:
    """The RouterOS version an export's header names (None: a header-less excerpt)."""
    match = _EXPORTED_BY.search(text[:2000])
    return match.group(1) if match else None


def offline_plan(fleet: Fleet, plan: Plan, host: str, text: str) -> tuple[Remediation, str]:
    """The rollout's remediation for the router whose `/export` is `text` (ScriptError: not a complete
    export) and a warning about its version ('' when none)."""
    current = parse_script(text)
    version = exported_version(text)
    warning = ""
    if version is not None:  # the rollout follows the router's own version, not the inventory's claim
        warning = Detected(host, version, fleet.site(host).ros_version).warning
        fleet = with_versions(fleet, {host: version})
    return plan_changes(current, render_host(fleet, plan, host), host_major(fleet, host)), warning


def against(fleet: Fleet, plan: Plan, host: str, path: str) -> int:
    """Print the commands a rollout would send to the router `path` is the export of; exit code."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"render: --against {path}: cannot read it ({why}); give a file `/export` wrote",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        remediation, warning = offline_plan(fleet, plan, host, text)
    except ScriptError as exc:
        print(f"render: --against {path}: {exc}; give the router's complete `/export` (terse or not)",
              file=sys.stderr)  # fmt: skip
        return 2
    if warning:
        print(f"render: {warning}", file=sys.stderr)
    if remediation.conflicts:
        for conflict in remediation.conflicts:
            print(f"render: {host}: {conflict}", file=sys.stderr)
        print(f"render: {host}: a rollout would send nothing to this router", file=sys.stderr)
        return 1
    for command in remediation.commands:
        print(mask_command(command))
    return 0


def run(args: argparse.Namespace) -> int:
    fleet = fleet_or_report(args.config)
    if fleet is None:
        return 2
    try:
        fleet.site(args.host)
    except KeyError as exc:
        print(f"render: {exc.args[0]}", file=sys.stderr)
        return 2
    plan = build_plan(fleet)
    if args.against is not None:
        return against(fleet, plan, args.host, args.against)
    sys.stdout.write(render_host(fleet, plan, args.host))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("render", help="print the script a router should run")
    parser.add_argument("host", metavar="HOST", help="inventory host name")
    parser.add_argument("--against", metavar="EXPORT_FILE", default=None,
                        help="print the commands a rollout would send to the router this `/export` is of "
                             "(nothing is contacted)")  # fmt: skip
    add_config_argument(parser)
    parser.set_defaults(func=run)
