"""The HTML fleet map (`verify --format html`, `report --html`): one self-contained file, checked in a real
headless Chromium: no console error, no request beyond the file itself, one node per router, nodes and
visible labels inside the window and not overlapping, at 5 branches (a real lab verify) and at 1,000
(a built report with a recorded history)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, chromium
from fleet_lab import BACKUP_PASSWORD, start_converged
from recorded import report as recorded_report

from ikefleet.cli import main
from ikefleet.lab.manager import Lab
from ikefleet.reports.fleet_layout import layout
from ikefleet.reports.html import render_html, render_html_with_history
from ikefleet.verify.engine import CheckResult, Report
from ikefleet.verify.gather import HostState
from ikefleet.verify.history import History

needs_browser = pytest.mark.skipif(
    chromium() is None, reason="chromium is not installed (apt-get install chromium; CI installs it)"
)
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
HOSTILE = "</script><script>document.title='owned'</script><!--"
CHECKS = ("host.reachable", "ike.peer", "ipsec.sa", "eoip.tunnel", "ospf.neighbor", "cert.valid")

# Geometry read in the page: each node's box, each visible label's four corners on screen (labels are
# rotated, so their real outline, not the axis-aligned box), the map's box and the window.
GEOMETRY_JS = """(() => {
  const corners = t => { const b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]); };
  const visible = e => getComputedStyle(e).display !== "none" && getComputedStyle(e).visibility !== "hidden";
  const r = document.getElementById("map").getBoundingClientRect();
  return {
    window: [innerWidth, innerHeight], map: [r.left, r.top, r.right, r.bottom],
    nodes: [...document.querySelectorAll("#map .node")].map(n => { const b = n.getBoundingClientRect();
      return {host: n.dataset.host, state: n.dataset.state, box: [b.left, b.top, b.right, b.bottom]}; }),
    labels: [...document.querySelectorAll("#map text")].filter(visible)
      .map(t => ({text: t.textContent, corners: corners(t)})),
  };
})()"""


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no embedded data"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def _overlap(a: list[list[float]], b: list[list[float]]) -> bool:
    """Separating axis test for two convex quadrilaterals (touching edges do not count)."""
    for poly in (a, b):
        for i in range(4):
            (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % 4]
            nx, ny = y2 - y1, x1 - x2
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            if max(pa) <= min(pb) + 1e-6 or max(pb) <= min(pa) + 1e-6:
                return False
    return True


def overlapping_labels(labels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    boxes = [(lab["text"], lab["corners"], _aabb(lab["corners"])) for lab in labels]
    boxes.sort(key=lambda b: b[2][0])
    found = []
    for i, (text, corners, box) in enumerate(boxes):
        for other, other_corners, other_box in boxes[i + 1 :]:
            if other_box[0] >= box[2]:
                break
            if other_box[1] < box[3] and box[1] < other_box[3] and _overlap(corners, other_corners):
                found.append((text, other))
    return found


def _aabb(corners: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def overlapping_nodes(nodes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Circles given by their boxes: centres closer than the sum of the radii."""
    circles = sorted(
        ((n["host"], (n["box"][0] + n["box"][2]) / 2, (n["box"][1] + n["box"][3]) / 2,
          (n["box"][2] - n["box"][0]) / 2) for n in nodes),
        key=lambda c: c[1],
    )
    found = []
    for i, (h, x, y, r) in enumerate(circles):
        for h2, x2, y2, r2 in circles[i + 1 :]:
            if x2 - x >= r + r2:
                break
            if (x - x2) ** 2 + (y - y2) ** 2 < (r + r2 - 0.01) ** 2:
                found.append((h, h2))
    return found


def assert_layout(geometry: dict[str, Any]) -> None:
    left, top, right, bottom = geometry["map"]
    width, height = geometry["window"]
    assert left >= 0 and top >= 0 and right <= width and bottom <= height
    outside = [n["host"] for n in geometry["nodes"] if not (
        left <= n["box"][0] and top <= n["box"][1] and n["box"][2] <= right and n["box"][3] <= bottom)]
    assert outside == []
    for lab in geometry["labels"]:
        x0, y0, x1, y1 = _aabb(lab["corners"])
        assert left <= x0 and top <= y0 and x1 <= right and y1 <= bottom, lab
    assert overlapping_labels(geometry["labels"]) == []
    assert overlapping_nodes(geometry["nodes"]) == []


def search(browser: Browser, text: str) -> None:
    """Type into the search box."""
    browser.js(f"(() => {{ const s = document.getElementById('search'); s.value = {json.dumps(text)};"
               "s.dispatchEvent(new Event('input')); })()")


# ---- a built report of 1,000 branches with a recorded history -------------------------------------


def branch_results(host: str, index: int) -> list[CheckResult]:
    """Every 13th branch unreachable, every 7th with OSPF stuck, every 11th a certificate warning."""
    if index % 13 == 0:
        return [CheckResult(c, c, host, "error", "critical", observed=f"{host} unreachable",
                       hint=f"could not check {c} on {host}: TimeoutError: no answer on port 22")
                for c in CHECKS]
    results = []
    for check in CHECKS:
        status = "pass"
        if check == "ospf.neighbor" and index % 7 == 0:
            status = "fail"
        if check == "cert.valid" and index % 11 == 0:
            status = "warn"
        hint = "" if status == "pass" else (
            f"{check} on {host}: compare the MTU of the EoIP interface on both ends and check that the hub "
            "answers on the tunnel address; `ikefleet rollout --limit` repairs a drifted configuration."
        )
        observed = "ExStart" if status == "fail" else "ok"
        if check == "ospf.neighbor" and index == 7:
            observed = HOSTILE
        results.append(
            CheckResult(check, check, host, status, "major", expected="Full", observed=observed, hint=hint)
        )
    return results


def big_report(branches: int, when: datetime, skip: frozenset[str] = frozenset(), hub: str = "hub") -> Report:
    names = [f"br{i}" for i in range(1, branches + 1) if f"br{i}" not in skip]
    results = [CheckResult("host.reachable", "reachable", hub, "pass", "critical"),
               CheckResult("hub.peers", "hub peers", hub, "pass", "major")]
    for name in names:
        results.extend(branch_results(name, int(name[2:])))
    return Report(when, when + timedelta(seconds=40), [hub, *names], results)


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 branches, three runs in the history; the last one did not check br999 and br1000."""
    directory = tmp_path_factory.mktemp("map-1000")
    history = History(directory / ".ikefleet" / "history.sqlite")
    for run in range(2):
        history.record(big_report(1000, T0 + timedelta(hours=run)))
    last = big_report(1000, T0 + timedelta(hours=2), skip=frozenset({"br999", "br1000"}))
    history.record(last)
    path = directory / "fleet.html"
    path.write_text(render_html_with_history(last, history.path))
    return path


def test_thousand_branches_fit_in_two_megabytes_and_say_what_is_wrong(thousand: Path) -> None:
    html = thousand.read_text()
    assert thousand.stat().st_size < 2 * 1024 * 1024
    data = page_data(html)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert len(nodes) == 1001 and data["nodes"][0]["name"] == "hub"
    assert nodes["br999"]["state"] == "unchecked" and nodes["br999"]["strip"] == "pp-"
    assert nodes["br13"]["state"] == "down"
    assert [p["check"] for p in nodes["br13"]["problems"]] == ["host.reachable"]  # one cause, not six
    assert nodes["br11"]["state"] == "degraded" and nodes["br1"]["state"] == "compliant"
    (ospf,) = nodes["br14"]["problems"]
    assert ospf["check"] == "ospf.neighbor" and ospf["since"] == T0.isoformat() and "MTU" in ospf["hint"]
    assert nodes["br14"]["strip"] == "fff" and len(data["runs"]) == 3
    assert not data["labels"] and 1 < len(data["clusters"]) <= 30
    assert HOSTILE not in html  # router text cannot close the data script


def test_page_is_self_contained(thousand: Path) -> None:
    html = thousand.read_text()
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", html)
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"]  # a name, not a fetch


@needs_browser
def test_thousand_branches_in_chromium(thousand: Path, tmp_path: Path) -> None:
    with Browser(1400, 900) as browser:
        browser.open(thousand)
        geometry = browser.js(GEOMETRY_JS)
        assert browser.console_errors() == []
        assert browser.requests() == [thousand.resolve().as_uri()]
        assert len(geometry["nodes"]) == 1001 and len({n["host"] for n in geometry["nodes"]}) == 1001
        states = {n["host"]: n["state"] for n in geometry["nodes"]}
        assert (states["br13"], states["br14"], states["br11"], states["br999"]) == (
            "down", "down", "degraded", "unchecked")
        assert_layout(geometry)
        assert len(geometry["labels"]) == len(page_data(thousand.read_text())["clusters"]) + 1  # + the hub
        browser.screenshot(tmp_path / "map-1000.png")
        assert (tmp_path / "map-1000.png").stat().st_size > 10_000
        # search: one host found is shown with its cause, hint and since-when
        search(browser, "br14")
        hits = browser.js("[...document.querySelectorAll('#map .node.hit')].map(n => n.dataset.host)")
        assert sorted(hits) == ["br14", *(f"br{i}" for i in range(140, 150))]  # br14 itself is shown
        panel = browser.js("document.getElementById('panel').innerText")
        assert "br14" in panel and "ospf.neighbor" in panel and "MTU" in panel
        assert "since 2026-11-27 01:00:00" in panel
        # the list view: one row per router, the search still applied
        browser.js("document.getElementById('toggle').click()")
        assert browser.js("document.querySelectorAll('#list tbody tr').length") == 1001
        shown = browser.js("[...document.querySelectorAll('#list tbody tr')].filter(r => !r.hidden).length")
        assert shown == 11
        assert browser.js("document.getElementById('map').getBoundingClientRect().height") == 0
        # router text is shown as text, never run as markup
        search(browser, "br7")
        browser.js("document.querySelector('#list tr[data-host=\"br7\"]').click()")
        assert HOSTILE in browser.js("document.getElementById('panel').innerText")
        assert browser.js("document.title") != "owned" and browser.console_errors() == []


LONG = [f"branch-office-frankfurt-main-{i:03d}-router" for i in range(100)]  # alike but for the number


@needs_browser
@pytest.mark.parametrize("names", [[f"br{i}" for i in range(1, 51)], LONG], ids=["50-short", "100-long"])
def test_up_to_a_hundred_branches_keep_telling_names_on_the_map(names: list[str], tmp_path: Path) -> None:
    results = [CheckResult("hub.peers", "hub peers", "hub", "pass", "major")]
    results += [CheckResult("ike.peer", "ike peer", n, "fail" if i % 5 == 0 else "pass", "major")
                for i, n in enumerate(names)]
    path = tmp_path / "fleet.html"
    path.write_text(render_html(Report(T0, T0, ["hub", *names], results)))
    with Browser(1400, 900) as browser:
        browser.open(path)
        geometry = browser.js(GEOMETRY_JS)
        assert browser.console_errors() == []
        labels = [lab["text"] for lab in geometry["labels"]]
        assert len(labels) == len(set(labels)) == len(names) + 1  # one distinct name per router
        assert all(len(label) <= 24 for label in labels)
        assert_layout(geometry)


def test_the_hub_is_named_from_the_history_when_a_run_left_it_out(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite")
    history.record(big_report(3, T0, hub="core1"))
    full = big_report(3, T0 + timedelta(hours=1), hub="core1")
    limited = Report(full.started, full.finished, ["br1"], [r for r in full.results if r.host == "br1"])
    data = page_data(render_html_with_history(limited, history.path))
    assert [(n["name"], n["role"], n["state"]) for n in data["nodes"]] == [
        ("core1", "hub", "unchecked"), ("br1", "branch", "compliant"),
        ("br2", "branch", "unchecked"), ("br3", "branch", "unchecked")]
    assert page_data(render_html(limited))["nodes"][0]["name"] == "(hub)"  # no history: no name to give


# ---- a real lab verify at 5 branches --------------------------------------------------------------


@pytest.fixture(scope="module")
def lab5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = start_converged(tmp_path_factory.mktemp("map-lab5"), branches=5)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def lab_map(lab5: Lab) -> Path:
    """`ikefleet verify --format html` twice (healthy, then br2 refusing SSH), under umask 0."""
    config = lab5.directory / "config.yaml"
    out = lab5.directory / "fleet.html"
    healthy = lab5.directory / "healthy.json"
    assert main(["verify", "-c", str(config), "--format", "json", "--output", str(healthy)]) == 0
    lab5.fault("br2", "refuse")
    old = os.umask(0)
    try:
        assert main(["verify", "-c", str(config), "--format", "html", "--output", str(out)]) == 1
    finally:
        os.umask(old)
        lab5.clear_faults("br2")
        lab5.settle()
    return out


def test_lab_verify_writes_the_map_owner_only(lab_map: Path) -> None:
    assert stat.S_IMODE(lab_map.stat().st_mode) == 0o600
    html = lab_map.read_text()
    assert BACKUP_PASSWORD not in html
    data = page_data(html)
    states = {n["name"]: n["state"] for n in data["nodes"]}
    assert states == {"hub": "compliant", "br1": "compliant", "br2": "down", "br3": "compliant",
                      "br4": "compliant", "br5": "compliant"}
    nodes = {n["name"]: n for n in data["nodes"]}
    assert [p["check"] for p in nodes["br2"]["problems"]] == ["host.reachable"]
    assert nodes["br2"]["strip"] == "pe" and nodes["br1"]["strip"] == "pp"


def test_report_renders_the_latest_run_from_history(lab_map: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    config = lab_map.parent / "config.yaml"
    assert main(["report", "-c", str(config), "--html", "--output", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again, first = page_data(out.read_text()), page_data(lab_map.read_text())
    assert [(n["name"], n["state"], n["strip"]) for n in again["nodes"]] == [
        (n["name"], n["state"], n["strip"]) for n in first["nodes"]]
    (cause,) = next(n for n in again["nodes"] if n["name"] == "br2")["problems"]
    assert cause["check"] == "host.reachable" and cause["since"] and cause["hint"]


def test_a_limited_run_shows_the_rest_as_not_checked(lab_map: Path, tmp_path: Path) -> None:
    """`--limit br1`: the hub (named from the history) and the other branches are drawn, not checked."""
    out = tmp_path / "br1.html"
    config = lab_map.parent / "config.yaml"
    assert main(["verify", "-c", str(config), "--limit", "br1", "--no-history", "--format", "html",
                 "--output", str(out)]) == 0
    states = {n["name"]: n["state"] for n in page_data(out.read_text())["nodes"]}
    assert states == {"hub": "unchecked", "br1": "compliant", "br2": "unchecked", "br3": "unchecked",
                      "br4": "unchecked", "br5": "unchecked"}
    assert next(iter(states)) == "hub"  # the centre of the map


def test_report_prints_the_latest_run(lab_map: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "-c", str(lab_map.parent / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "NOT COMPLIANT" in out and "COULD NOT CHECK" in out and "br2" in out


def test_report_without_history_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "-c", str(tmp_path / "config.yaml"), "--html"]) == 2
    assert "run `ikefleet verify` first" in capsys.readouterr().err


@needs_browser
def test_five_branch_lab_map_in_chromium(lab_map: Path, tmp_path: Path) -> None:
    with Browser(1400, 900) as browser:
        browser.open(lab_map)
        geometry = browser.js(GEOMETRY_JS)
        assert browser.console_errors() == []
        assert browser.requests() == [lab_map.resolve().as_uri()]
        assert sorted(n["host"] for n in geometry["nodes"]) == ["br1", "br2", "br3", "br4", "br5", "hub"]
        assert sorted(lab["text"] for lab in geometry["labels"]) == ["br1", "br2", "br3", "br4", "br5", "hub"]
        assert_layout(geometry)
        browser.screenshot(tmp_path / "map-5.png")
        browser.js("document.querySelector('#map .node[data-host=\"br2\"]')"
                   ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        panel = browser.js("document.getElementById('panel').innerText")
        assert "host.reachable" in panel and "hint:" in panel and "since" in panel
        tooltip = browser.js("document.querySelector('#map .node[data-host=\"br2\"] title').textContent")
        assert tooltip.startswith("br2 — down") and "host.reachable" in tooltip


# ---- layout at sizes between ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 5, 50, 100, 101, 1000, 3000])
def test_layout_keeps_nodes_apart(count: int) -> None:
    where = layout("hub", [f"site{i}-br{i % 9}" if i % 3 else f"br{i}" for i in range(count)])
    assert len(where.nodes) == count and where.labels == (count <= 100)
    points = [(n.x, n.y) for n in where.nodes] + [(where.hub.x, where.hub.y)]
    assert all(0 < x < 1600 and 0 < y < 1000 for x, y in points)
    close = sorted(points)
    for i, (x, y) in enumerate(close):
        for x2, y2 in close[i + 1 :]:
            if x2 - x >= 2 * where.node_r:
                break
            assert (x - x2) ** 2 + (y - y2) ** 2 >= (2 * where.node_r) ** 2 - 0.5, (x, y, x2, y2)


def test_a_small_report_embeds_every_host() -> None:
    rep = recorded_report(br1=HostState("br1", error="ConnectionRefusedError: refused"))
    data = page_data(render_html(rep))
    assert [n["name"] for n in data["nodes"]] == ["hub", "br1", "br2", "br3"]
    assert [n["state"] for n in data["nodes"]] == ["compliant", "down", "compliant", "compliant"]
    assert data["runs"] == [] and all(n["strip"] == "" for n in data["nodes"])
