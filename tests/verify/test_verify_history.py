"""History: results kept per run in SQLite; `since` is the start of the current streak of a status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorded import report

from ikefleet.verify.engine import Report
from ikefleet.verify.history import LAST_RUN, History, history_path

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def stuck() -> dict:  # type: ignore[type-arg]
    return {"br2": lambda t: t.replace('state="Full"', 'state="ExStart"')}


def at(rep: Report, when: datetime) -> Report:
    rep.started = rep.finished = when
    return rep


def one(rep: Report, check: str, host: str):  # type: ignore[no-untyped-def]
    (r,) = [r for r in rep.results if r.check == check and r.host == host]
    return r


def test_since_is_the_first_run_of_the_failing_streak(tmp_path: Path) -> None:
    history = History(tmp_path / ".ikefleet" / "history.sqlite")
    history.record(at(report(), T0))
    first = at(report(stuck()), T0 + timedelta(hours=1))
    history.record(first)
    second = at(report(stuck()), T0 + timedelta(hours=2))
    history.record(second)
    assert one(first, "ospf.neighbor", "br2").since == (T0 + timedelta(hours=1)).isoformat()
    assert one(second, "ospf.neighbor", "br2").since == (T0 + timedelta(hours=1)).isoformat()
    assert one(second, "ike.peer", "br2").since == T0.isoformat()  # passing since the first run
    healed = at(report(), T0 + timedelta(hours=3))
    history.record(healed)
    assert one(healed, "ospf.neighbor", "br2").since == (T0 + timedelta(hours=3)).isoformat()


def test_host_history_newest_first_and_limited(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    for hour in range(3):
        history.record(at(report(stuck() if hour else None), T0 + timedelta(hours=hour)))
    entries = history.host("br2", limit=2)
    assert {e.time for e in entries} == {(T0 + timedelta(hours=h)).isoformat() for h in (1, 2)}
    assert entries[0].time > entries[-1].time
    bad = [e for e in entries if e.status == "fail"]
    assert {e.check for e in bad} == {"ospf.neighbor"} and len(bad) == 2
    assert history.host("nobody") == []


def test_history_lives_beside_the_config() -> None:
    assert history_path(Path("/srv/fleet/config.yaml")) == Path("/srv/fleet/.ikefleet/history.sqlite")


def test_the_previous_run_is_found_by_index_not_by_scanning_all_history(tmp_path: Path) -> None:
    """A compliance check every five minutes keeps millions of results: finding the last run's must not
    read them all."""
    history = History(tmp_path / "h.sqlite")
    history.record(at(report(), T0))
    with history._db() as db:
        plan = " | ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + LAST_RUN))
    assert "results USING INDEX results_run" in plan, plan
    assert "SCAN results" not in plan, plan
