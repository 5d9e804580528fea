import json
import subprocess
import sys
from pathlib import Path

import pytest

from ikefleet.rundir import LockedError, RunDir, exclusive


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    busy = pytest.raises(LockedError, match="another rollout is running")
    with exclusive(tmp_path), busy, exclusive(tmp_path):
        pass
    with exclusive(tmp_path):  # released after the first holder left
        pass


def test_lock_released_when_holder_is_killed(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from ikefleet.rundir import exclusive\n"
        "with exclusive(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError), exclusive(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive(tmp_path):
        pass


def test_run_dir_keeps_results_as_json_lines(tmp_path: Path) -> None:
    run = RunDir(tmp_path, "rollout")
    run.append_result({"host": "br1", "status": "changed"})
    run.append_result({"host": "br2", "status": "failed"})
    run.write_json("plan.json", {"hosts": 2})
    lines = (run.path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["host"] for line in lines] == ["br1", "br2"]
    assert json.loads((run.path / "plan.json").read_text()) == {"hosts": 2}
    assert run.path.parent == tmp_path / "runs" and run.path.name.endswith("-rollout")
    assert (run.path.stat().st_mode & 0o077) == 0


def test_run_directories_are_pruned_to_the_newest_kept(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [RunDir(tmp_path, "rollout", now=start + timedelta(minutes=i), keep=3).path for i in range(5)]
    left = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert left == [p.name for p in made[-3:]]


def test_the_retention_setting_is_checked() -> None:
    import pytest

    from ikefleet.rundir import DEFAULT_KEEP_RUNS, SettingError, keep_runs

    assert keep_runs(None) == DEFAULT_KEEP_RUNS and keep_runs({"keep": 7}) == 7
    for bad in ({"keep": 0}, {"keep": "10"}, {"keep": True}, {"kept": 3}, "10"):
        with pytest.raises(SettingError, match=r"ikefleet\.runs"):
            keep_runs(bad)
