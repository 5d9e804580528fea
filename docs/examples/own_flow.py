"""Your own flow from ikefleet's tasks and processors, with plain Nornir: read every router (a line per
router read, the slow ones named) and keep verify's checks on what was read in the history (as `ikefleet
verify` does), then converge one branch as a dry run (what would be sent, recorded in a run directory) and
print it with nornir_utils' print_result.

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
from ikefleet.plan import build_plan
from ikefleet.processors import Progress, RecordHistory, RunRecord
from ikefleet.processors.events import RunStarted
from ikefleet.reports.console import render_console
from ikefleet.rundir import RunDir
from ikefleet.tasks import converge, gather
from ikefleet.verify.history import History, history_path
from ikefleet.verify.judge import resolved, states_of


def record(host: Host, result: MultiResult) -> dict[str, Any] | None:
    """The converge task's outcome, as the rollout records it (one line of results.jsonl)."""
    outcome = result[0].result
    return outcome.to_json() if hasattr(outcome, "to_json") else {"host": host.name, "status": "failed"}


def main(config: str, branch: str) -> int:
    nr = InitNornir(config_file=config, dry_run=True)  # tasks that change routers only say what they would do
    show = Lines(print)  # plain lines; ikefleet.cli.live.LiveView is the terminal's display
    try:
        # 1. read every router as verify does; 2. verify's checks on what was read, kept in the history
        fleet = load_inventory(config)
        plan = build_plan(fleet)
        history = RecordHistory(History(history_path(Path(config))), fleet, plan)
        show(RunStarted("verify", tuple(nr.inventory.hosts)))
        gathered = nr.with_processors([Progress(show), history]).run(task=gather)
        report = history.report
        assert report is not None  # the run completed, so the processor judged and recorded it
        print(render_console(report))

        # the branch's configuration in the dialect it reports, with the certificate names the hub holds
        states = states_of(gathered, nr.inventory.hosts)
        running = with_versions(fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
        plan = resolved(fleet, plan, states)

        # 3. one branch converged as a dry run, its outcome recorded in a run directory of its own
        run = RunDir(Path(config).resolve().parent / ".ikefleet", "own-flow")
        result = nr.filter(name=branch).with_processors([RunRecord(run, record)]).run(
            task=converge, intended_script=render_host(running, plan, branch)
        )
        print_result(result)
        print(f"run directory: {run.path}")
        return 0 if report.compliant and not result.failed else 1
    finally:
        nr.close_connections()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
