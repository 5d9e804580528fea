"""JSON report: the schema documented in docs/verify.md (`schema: 1`)."""

from __future__ import annotations

import json

from ikefleet.verify.engine import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n"
