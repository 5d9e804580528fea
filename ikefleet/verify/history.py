"""Verification history in SQLite (`<config dir>/.ikefleet/history.sqlite`): since when a check fails.

Each run stores every result; a result's `since` is when its current unbroken streak of the same
non-passing status began (the earliest run of that streak), so reports say "failing since ...".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ikefleet import private

from .engine import CheckResult, Report, load_checks

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    compliant INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    time TEXT NOT NULL,
    check_id TEXT NOT NULL,
    host TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    expected TEXT NOT NULL,
    observed TEXT NOT NULL,
    hint TEXT NOT NULL,
    since TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_key ON results(host, check_id, subject, run_id);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
"""
# The previous run's results, the reference for each result's `since`. Compliance checks run every few
# minutes over hundreds of routers: by run_id's own index, not a scan of every result ever kept.
LAST_RUN = (
    "SELECT host, check_id, subject, status, since FROM results WHERE run_id = (SELECT MAX(id) FROM runs)"
)
FILE_NAME = "history.sqlite"
STRIP_STATUSES = ("error", "fail", "warn", "pass")  # worst first


def history_path(config: Path) -> Path:
    return Path(config).resolve().parent / ".ikefleet" / FILE_NAME


@dataclass(frozen=True)
class Entry:
    time: str
    check: str
    host: str
    subject: str
    status: str
    observed: str
    since: str


class History:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        private.directory(self.path.parent)
        private.open_file(self.path, "a").close()  # 0600 before SQLite creates it 0644 (its journals copy it)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.executescript(SCHEMA)
            with db:
                yield db
        finally:
            db.close()

    def record(self, report: Report) -> int:
        """Store the report's results and fill in each result's `since`; returns the run id."""
        with self._db() as db:
            last = {(h, c, s): (status, since) for h, c, s, status, since in db.execute(LAST_RUN)}
            cur = db.execute(
                "INSERT INTO runs (started, finished, compliant) VALUES (?, ?, ?)",
                (report.started.isoformat(), report.finished.isoformat(), int(report.compliant)),
            )
            run_id = int(cur.lastrowid or 0)
            now = report.started.isoformat()
            for r in report.results:
                previous = last.get((r.host, r.check, r.subject))
                r.since = previous[1] if previous and previous[0] == r.status else now
            db.executemany(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, now, r.check, r.host, r.subject, r.status, r.expected, r.observed, r.hint, r.since)
                 for r in report.results),
            )
        return run_id

    def host(self, host: str, limit: int = 20) -> list[Entry]:
        """The host's results of its last `limit` runs, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT time, check_id, host, subject, status, observed, since FROM results "
                "WHERE host = ? AND run_id IN (SELECT DISTINCT run_id FROM results WHERE host = ? "
                "ORDER BY run_id DESC LIMIT ?) ORDER BY run_id DESC, check_id, subject",
                (host, host, limit),
            ).fetchall()
        return [Entry(*row) for row in rows]

    def strips(self, limit: int = 20) -> dict[str, list[tuple[str, str]]]:
        """Each host's worst status in each of the last `limit` runs, oldest first: the map's history strip
        (skip is not applicable, so it counts as pass as in the verdict).

        One query over those runs' rows (by the run index), worst status per host and run in SQL."""
        rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STRIP_STATUSES))
        with self._db() as db:
            rows = db.execute(
                f"SELECT run_id, host, MIN(CASE status {rank} ELSE {len(STRIP_STATUSES) - 1} END), MIN(time) "
                "FROM results WHERE run_id IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?) "
                "GROUP BY run_id, host ORDER BY run_id",
                (limit,),
            ).fetchall()
        strips: dict[str, list[tuple[str, str]]] = {}
        for _run, host, worst, time in rows:
            strips.setdefault(host, []).append((time, STRIP_STATUSES[worst]))
        return strips

    def hub(self) -> str:
        """The host the hub checks last ran on ("" if none did): the map's centre when a run left it out."""
        with self._db() as db:
            row = db.execute(
                "SELECT host FROM results WHERE check_id LIKE 'hub.%' ORDER BY run_id DESC LIMIT 1"
            ).fetchone()
        return str(row[0]) if row else ""

    def latest(self) -> Report | None:
        """The last recorded run as a Report (titles and severities from checks.yaml; no metrics kept)."""
        specs = {s.id: s for s in load_checks()[0]}
        with self._db() as db:
            run = db.execute("SELECT id, started, finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            if run is None:
                return None
            rows = db.execute(
                "SELECT check_id, host, subject, status, expected, observed, hint, since FROM results "
                "WHERE run_id = ? ORDER BY rowid",
                (run[0],),
            ).fetchall()
        results = []
        for check, host, subject, status, expected, observed, hint, since in rows:
            spec = specs.get(check)
            title, severity = (spec.title, spec.severity) if spec else (check, "minor")
            results.append(
                CheckResult(check, title, host, status, severity, subject, expected, observed, hint, since)
            )
        hosts = list(dict.fromkeys(r.host for r in results if r.host != "fleet"))
        return Report(datetime.fromisoformat(run[1]), datetime.fromisoformat(run[2]), hosts, results)
