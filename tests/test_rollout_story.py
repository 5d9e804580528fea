"""Issue 21.7: a rollout's results tell the story: what a dry run would send and do to certificates, every
certificate action on the record, and a failed host's failing command, RouterOS's words and whether it was
put back (checked by a re-read)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests_support import fast_keys

from ikefleet.cli.rollout import print_summary
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary


def rollout(lab: Lab, **options: object) -> Summary:
    lab.settle()
    opts = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0, **options)  # type: ignore[arg-type]
    return Rollout(opts).run()


def shown(summary: Summary) -> str:
    """The console summary as an operator reads it."""
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=300, color_system=None))
    return out.getvalue()


def results(summary: Summary) -> dict[str, dict[str, object]]:
    """results.jsonl, the last line per host."""
    lines = (summary.run_dir / "results.jsonl").read_text().splitlines()
    return {row["host"]: row for row in map(json.loads, lines)}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as started:
        fast_keys(started.directory)
        yield started


def test_dry_run_counts_and_lists_the_commands_it_would_send(lab: Lab) -> None:
    summary = rollout(lab, dry_run=True)
    for name in ("hub", "br1", "br2"):
        outcome = summary.hosts[name]
        listed = (summary.run_dir / "diffs" / f"{name}.commands").read_text().splitlines()
        assert outcome.status == "would-change" and outcome.commands == len(listed) > 0, name
        assert all(line.startswith("/") for line in listed), name
        assert results(summary)[name]["commands"] == outcome.commands
        assert json.loads((summary.run_dir / "summary.json").read_text())["hosts"][name]["commands"] \
            == outcome.commands
    text = shown(summary)
    hub = summary.hosts["hub"]
    assert f"--- hub: {len(hub.changes)} change(s), {hub.commands} command(s) would be sent" in text
    assert f"│ hub  │ would-change │ {hub.commands:<8} │" in text


def test_the_commands_file_masks_secrets(tmp_path: Path) -> None:
    from ikefleet.rundir import RunDir
    from ikefleet.tasks.converge import write_commands

    run = RunDir(tmp_path, "rollout")
    write_commands(run, "br1", ['/ppp secret add name=x password="s3cret value"', "/ip address add"])
    text = (run.path / "diffs" / "br1.commands").read_text()
    assert "s3cret" not in text and text.splitlines()[0] == "/ppp secret add name=x password=********"
    assert (run.path / "diffs" / "br1.commands").stat().st_mode & 0o077 == 0
