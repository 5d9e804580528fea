"""History is kept by a processor (ikefleet.processors.RecordHistory) that a user attaches to a run of
their own: plain InitNornir on a converged lab's config.yaml, `nr.with_processors([...]).run(task=gather)`.
A router that could not be read is recorded as not compliant, never as passing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from nornir import InitNornir
from tests_support import rolled_out_lab

from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.plan import build_plan
from ikefleet.processors import RecordHistory
from ikefleet.tasks import gather
from ikefleet.verify.history import History


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with rolled_out_lab(tmp_path_factory.mktemp("history-processor"), branches=2) as lab:
        yield lab


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_users_own_run_with_the_processor_records_history_and_an_unread_router_is_never_green(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = lab.directory / "config.yaml"
    fleet = load_inventory(config)
    path = tmp_path / "history.sqlite"
    history = History(path)

    nr = InitNornir(config_file=str(config), logging={"enabled": False})
    try:
        recorder = RecordHistory(history, fleet, build_plan(fleet))
        nr.with_processors([recorder]).run(task=gather)
    finally:
        nr.close_connections()
    assert recorder.report is not None and recorder.report.compliant
    assert rows(path, "SELECT compliant FROM runs") == [(1,)]
    hosts = {h for (h,) in rows(path, "SELECT DISTINCT host FROM results")}
    assert {"hub", "br1", "br2"} <= hosts
    assert rows(path, "SELECT status FROM results WHERE status IN ('fail', 'error')") == []

    # br1 refuses the login: its reads fail, and the run is recorded as not compliant with br1's checks errors
    monkeypatch.setenv("IKEFLEET_PASSWORD_BR1", "not-the-password")
    nr = InitNornir(config_file=str(config), logging={"enabled": False})
    try:
        refused = RecordHistory(history, fleet, build_plan(fleet))
        result = nr.with_processors([refused]).run(task=gather)
        assert result.failed_hosts.keys() == {"br1"}

        # Nornir skips a host that failed earlier in the same program (on_failed=False): not read either
        skipped = RecordHistory(history, fleet, build_plan(fleet))
        assert "br1" not in nr.with_processors([skipped]).run(task=gather)
    finally:
        nr.close_connections()
    for report in (refused.report, skipped.report):
        assert report is not None and not report.compliant
        br1 = {r.status for r in report.results if r.host == "br1"}
        assert br1 and "pass" not in br1 and "error" in br1, br1
    assert rows(path, "SELECT compliant FROM runs ORDER BY id") == [(1,), (0,), (0,)]
    recorded_br1 = {s for (s,) in rows(path, "SELECT status FROM results WHERE host = 'br1' AND run_id > 1")}
    assert "error" in recorded_br1 and "pass" not in recorded_br1
    assert {h for (h,) in rows(path, "SELECT DISTINCT host FROM results WHERE run_id = 3")} >= {"br1", "br2"}
