"""Your own flow from ikefleet's tasks and processors, with plain Nornir: read every router (a line per
router read, the slow ones named), run verify's checks on what was read, then converge one branch as a
dry run (what would be sent, recorded in a run directory) and print it with nornir_utils' print_result.

    python own_flow.py path/to/config.yaml BRANCH

Exit 0 when the fleet passes verify's checks and the dry run worked, 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core.inventory import Host
from nornir.core.task import MultiResult
from nornir_utils.plugins.functions import print_result

from ikefleet.cli.lines import Lines
from ikefleet.fleet import with_versions
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan, resolve_clients
from ikefleet.processors import Progress, RunRecord
from ikefleet.processors.events import RunStarted
from ikefleet.reports.console import render_console
from ikefleet.rundir import RunDir
from ikefleet.tasks import converge, gather
from ikefleet.verify.engine import evaluate
from ikefleet.verify.expected import expected_state


def record(host: Host, result: MultiResult) -> dict[str, Any] | None:
    """The converge task's outcome, as the rollout records it (one line of results.jsonl)."""
    outcome = result[0].result
    return outcome.to_json() if hasattr(outcome, "to_json") else {"host": host.name, "status": "failed"}


def main(config: str, branch: str) -> int:
    nr = InitNornir(config_file=config, dry_run=True)  # tasks that change routers only say what they would do
    show = Lines(print)  # plain lines; ikefleet.cli.live.LiveView is the terminal's display
    try:
        # 1. read every router as verify does
        show(RunStarted("verify", tuple(nr.inventory.hosts)))
        gathered = nr.with_processors([Progress(show)]).run(task=gather)
        states = {name: multi[0].result for name, multi in gathered.items()}

        # 2. verify's checks, in the dialect each router reports, with the certificate names the hub holds
        fleet = load_inventory(config)
        fleet = with_versions(fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
        hub = states[fleet.hub.name]
        plan = resolve_clients(build_plan(fleet), [c.get("name", "") for c in hub.get("certificate")])
        report = evaluate(expected_state(fleet, plan, list(states)), states)
        print(render_console(report))

        # 3. one branch converged as a dry run, its outcome recorded in a run directory of its own
        run = RunDir(Path(config).resolve().parent / ".ikefleet", "own-flow")
        result = nr.filter(name=branch).with_processors([RunRecord(run, record)]).run(
            task=converge, intended_script=render_host(fleet, plan, branch)
        )
        print_result(result)
        print(f"run directory: {run.path}")
        return 0 if report.compliant and not result.failed else 1
    finally:
        nr.close_connections()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
