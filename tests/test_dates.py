"""The main job on other dates: the whole process (ikefleet and the in-process lab) a year ahead, then across
the certificate renewal window, so no date can break the build or a fleet again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from tests_support import rolled_out_lab

from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.verify.engine import Report

DAYS_VALID, RENEW_WINDOW = 3650, 30  # inventory/defaults.yaml (the lab's inventory copies it)


def cert_days(report: Report) -> dict[str, float]:
    return {
        r.host: float(r.metrics["certificate_days_left"]) for r in report.results if r.check == "cert.valid"
    }


def test_a_year_ahead_then_inside_the_renewal_window(tmp_path: Path) -> None:
    ahead = datetime.now(UTC) + timedelta(days=365)
    with (
        time_machine.travel(ahead, tick=True),
        rolled_out_lab(tmp_path, branches=2, convergence_delay=0.05) as lab,
    ):
        config = lab.directory / "config.yaml"
        first = Verify(VerifyOptions(config=config, record=False)).run()
        assert first.compliant, [(r.host, r.check, r.observed) for r in first.failures()]
        issued = cert_days(first)
        assert issued and all(days > DAYS_VALID - 2 for days in issued.values()), issued

        # Nine years and eleven months on: every branch certificate is inside its renewal window.
        inside = ahead + timedelta(days=DAYS_VALID - RENEW_WINDOW + 5)
        with time_machine.travel(inside, tick=True):
            lab.settle()
            due = Verify(VerifyOptions(config=config, record=False)).run()
            warned = {r.host for r in due.results if r.check == "cert.valid" and r.status == "warn"}
            assert {"br1", "br2"} <= warned, [(r.host, r.check, r.status) for r in due.results]
            summary = Rollout(RolloutOptions(config=config, gate_timeout_s=30.0)).run()
            assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
            lab.settle()
            renewed = Verify(VerifyOptions(config=config, record=False)).run()
            assert renewed.compliant, [(r.host, r.check, r.observed) for r in renewed.failures()]
            after = cert_days(renewed)
            assert all(after[h] > RENEW_WINDOW for h in ("br1", "br2")), after
