"""Issue 17.7: a --limit that matches no router is bad input (exit 2, the nearest names), the same forms
(hosts, groups, comma lists) work in every command, and a report over no router is never compliant."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, forbid_network, hub, write_inventory
from prometheus_client.parser import text_string_to_metric_families

from ikefleet.cli import main
from ikefleet.inventory import load_inventory
from ikefleet.reports.console import render_console
from ikefleet.reports.json_report import render_json
from ikefleet.reports.junit import render_junit
from ikefleet.reports.prometheus import render_prometheus
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.selection import SelectionError, select
from ikefleet.verify.engine import Report


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    return forbid_network(monkeypatch)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    hosts = {"hub": hub(), "br1": branch(1), "br2": branch(2), "br7": branch(7)}
    hosts["br2"]["groups"] = ["initiators", "moscow"]
    return write_inventory(tmp_path, hosts=hosts, groups={"responder": {}, "initiators": {}, "moscow": {}})


@pytest.mark.parametrize(
    ("limit", "chosen"),
    [((), ["hub", "br1", "br2", "br7"]), (("initiators",), ["br1", "br2", "br7"]), (("responder",), ["hub"]),
     (("br7,hub",), ["hub", "br7"]), (("br1", "moscow"), ["br1", "br2"]), ((" br1 , br1,",), ["br1"])],
)
def test_hosts_groups_and_comma_lists(config: Path, limit: tuple[str, ...], chosen: list[str]) -> None:
    assert select(load_inventory(config), limit) == chosen
    assert Verify(VerifyOptions(config, limit=limit, record=False)).hosts() == chosen


@pytest.mark.parametrize("limit", [("bt7",), ("br1,bt7",), ("initiator",), (",",)])
def test_a_name_matching_nothing_is_refused(config: Path, limit: tuple[str, ...]) -> None:
    with pytest.raises(SelectionError) as caught:
        select(load_inventory(config), limit)
    assert "fix:" in str(caught.value)
    if limit == ("bt7",):
        assert "'bt7' (nearest: br7)" in str(caught.value)
    if limit == ("initiator",):
        assert "nearest: initiators" in str(caught.value)


@pytest.mark.parametrize("command", [["compliance", "--format", "prom"], ["verify"], ["rollout"]])
def test_cli_exits_2_before_contacting_anything(
    config: Path, capsys: pytest.CaptureFixture[str], command: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "ikefleet.prom"
    extra = ["--output", str(out)] if command[0] == "compliance" else []
    code = main([*command, "-c", str(config), "--limit", "bt7", *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert "no host or group named 'bt7' (nearest: br7" in captured.err
    assert "COMPLIANT" not in captured.out and not out.exists()
    assert not (config.parent / ".ikefleet" / "runs").exists()  # no rollout run was opened


def test_verify_with_only_revoked_branches_selected_is_refused(config: Path) -> None:
    (config.parent / ".ikefleet").mkdir()
    (config.parent / ".ikefleet" / "revoked.json").write_text('["br7"]\n')
    with pytest.raises(SelectionError, match="only revoked branches"):
        Verify(VerifyOptions(config, limit=("br7",), record=False))


def test_a_report_over_no_router_is_never_compliant() -> None:
    now = datetime.now(UTC)
    report = Report(now, now, hosts=[], results=[])
    assert not report.compliant and report.could_not_run
    assert json.loads(render_json(report))["compliant"] is False
    families = {f.name: f for f in text_string_to_metric_families(render_prometheus(report))}
    assert [s.value for s in families["ikefleet_compliant"].samples] == [0.0]
    root = ET.fromstring(render_junit(report))
    assert root.get("errors") == "1" and root.find("testsuite/testcase/error") is not None
    text = render_console(report)
    assert "NOT COMPLIANT: no router was checked" in text
