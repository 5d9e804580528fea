"""dashboards/ikefleet.json: a valid Grafana dashboard (panels with titles and places, a Prometheus
datasource variable every query uses) whose every PromQL query names only metrics that
ikefleet/reports/prometheus.py writes, and that shows each of them a runbook alerts on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from recorded import report

from ikefleet.reports.prometheus import render_prometheus
from ikefleet.verify.gather import HostState

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "ikefleet.json"
# The topics of the issue: tunnels up, OSPF full, SAs, certificate days left, last check age, compliance.
REQUIRED = {
    "ikefleet_tunnel_up", "ikefleet_ospf_full", "ikefleet_sa_count", "ikefleet_certificate_days_left",
    "ikefleet_last_check_timestamp_seconds", "ikefleet_compliant",
}
PANEL_TYPES = {"stat", "timeseries", "table", "bargauge", "state-timeline", "gauge", "row", "text"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label names in
    matchers or grouping clauses, strings, durations or dashboard variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def exporter_metrics() -> set[str]:
    sample = report(
        {"br2": lambda t: t.replace('state="Full"', 'state="ExStart"')},
        br1=HostState("br1", error="ConnectionRefusedError: refused"),
    )
    return {s.name for f in text_string_to_metric_families(render_prometheus(sample)) for s in f.samples}


def load() -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
        return dict(pairs)

    return json.loads(DASHBOARD.read_text(), object_pairs_hook=no_duplicates)  # type: ignore[no-any-return]


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    found = [(f"panel {p['title']!r} target {t['refId']}", t["expr"])
             for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            found.append((f"variable {var['name']}", inner.group(1) if inner else query))
    return found


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (branch) (rate(ikefleet_sa_count{branch=~"$branch"}[5m]))', {"ikefleet_sa_count"}),
        ("time() - max(ikefleet_compliant offset 1h) > bool 3600", {"ikefleet_compliant"}),
        ('count(ikefleet_tunnel_upp == 0) or vector(0)', {"ikefleet_tunnel_upp"}),
        ('a / on (host) group_left(check) b{x="y"} offset 1h', {"a", "b"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_query_names_only_metrics_the_exporter_writes() -> None:
    written = exporter_metrics()
    assert written >= REQUIRED
    used: set[str] = set()
    for where, expr in queries(load()):
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= written, f"{where}: {sorted(names - written)} are not written by prometheus.py"
        used |= names
    assert used >= REQUIRED, f"no panel shows {sorted(REQUIRED - used)}"


def test_dashboard_is_valid() -> None:
    dashboard = load()
    assert dashboard["title"] and dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    source = variables["datasource"]
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    panels = dashboard["panels"]
    assert len(panels) >= 6 and len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        assert p["type"] in PANEL_TYPES and p["title"].strip(), p
        g = p["gridPos"]
        assert all(isinstance(g[k], int) and g[k] >= 0 for k in "xywh") and g["w"] > 0 and g["h"] > 0
        assert g["x"] + g["w"] <= 24, f"panel {p['title']!r} is wider than the grid"
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"panel {p['title']!r} overlaps another"
        cells |= mine
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["expr"].strip() and t.get("datasource", p["datasource"]) == p["datasource"], p["title"]
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, v["name"]
