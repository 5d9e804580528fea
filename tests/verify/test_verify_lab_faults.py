"""Against a converged lab (hub + 3 branches): a healthy fleet passes, and each fault is caught by the
right check on the right host with a useful hint; nothing secret appears in any report."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fleet_lab import BACKUP_PASSWORD
from netmiko import ConnectHandler
from ruamel.yaml import YAML

from ikefleet.cli import main
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.verify.engine import CheckResult, Report


def verify(lab: Lab, config: Path | None = None) -> Report:
    lab.settle()
    return Verify(VerifyOptions(config or lab.directory / "config.yaml", record=False)).run()


def ssh(lab: Lab, router: str, *commands: str) -> None:
    """Type commands into the router's console over SSH, as an operator would."""
    spec = lab.spec(router)
    conn = ConnectHandler(
        device_type="mikrotik_routeros",
        host=spec.host,
        port=spec.port,
        username=spec.username,
        password=spec.password,
    )
    try:
        for command in commands:
            out = conn.send_command(command, expect_string=r"\] >\s*$")
            assert "failure" not in out and "bad command" not in out and "syntax error" not in out, out
    finally:
        conn.disconnect()


def results(report: Report, check: str, host: str | None = None) -> list[CheckResult]:
    return [r for r in report.results if r.check == check and (host is None or r.host == host)]


def failing(report: Report) -> set[tuple[str, str]]:
    return {(r.check, r.host) for r in report.results if r.status in ("fail", "error")}


@contextmanager
def fault(lab: Lab, router: str, name: str, value: object = None) -> Iterator[None]:
    lab.fault(router, name, value)
    try:
        yield
    finally:
        lab.clear_faults(router)
        lab.settle()


def test_healthy_fleet_is_compliant(fleet: Lab) -> None:
    report = verify(fleet)
    assert report.compliant, [r for r in report.failures()]
    assert set(report.hosts) == {"hub", "br1", "br2", "br3"}
    assert len(results(report, "hub.peers")) == 3 and len(results(report, "ike.peer")) == 3


def test_wan_cut_on_one_branch(fleet: Lab) -> None:
    with fault(fleet, "br1", "wan-down"):
        report = verify(fleet)
    (peer,) = results(report, "ike.peer", "br1")
    assert peer.status == "fail" and "WAN" in peer.hint
    assert ("ike.peer", "br2") not in failing(report) and ("ike.peer", "br3") not in failing(report)
    (hub_side,) = [r for r in results(report, "hub.peers") if r.subject == "br1"]
    assert hub_side.status == "fail"
    assert {r.status for r in results(report, "hub.peers") if r.subject != "br1"} == {"pass"}


def test_mismatched_proposal_on_one_branch(fleet: Lab) -> None:
    ssh(fleet, "br2", "/ip ipsec proposal set [find name=ikefleet] enc-algorithms=aes-128-cbc")
    try:
        report = verify(fleet)
    finally:
        ssh(fleet, "br2", "/ip ipsec proposal set [find name=ikefleet] enc-algorithms=aes-256-cbc")
    (sa,) = results(report, "ipsec.sa", "br2")
    assert sa.status == "fail" and "proposal" in sa.hint
    (drift,) = results(report, "config.drift", "br2")
    assert drift.status == "fail" and "aes-128-cbc" in drift.observed
    assert results(report, "ipsec.sa", "br1")[0].status == "pass"


def test_expired_certificate(fleet: Lab) -> None:
    with fault(fleet, "br3", "clock-offset", 11 * 366 * 86400):
        report = verify(fleet)
    (cert,) = results(report, "cert.valid", "br3")
    assert cert.status == "fail" and "expired" in cert.observed and "renew" in cert.hint
    assert results(report, "clock.sync", "br3")[0].status == "fail"
    assert results(report, "cert.valid", "br1")[0].status == "pass"


def test_ospf_mtu_mismatch(fleet: Lab) -> None:
    with fault(fleet, "br1", "mtu", 1400):
        report = verify(fleet)
    stuck = [
        r
        for r in [
            *results(report, "ospf.neighbor", "br1"),
            *[r for r in results(report, "hub.ospf") if r.subject == "br1"],
        ]
        if r.status == "fail"
    ]
    assert stuck and all("MTU" in r.hint for r in stuck)
    assert results(report, "ipsec.sa", "br1")[0].status == "pass"  # IPsec itself is fine


def test_removed_routing_filter_leaks_tunnel_nets(fleet: Lab) -> None:
    ssh(fleet, "br3", "/routing filter remove [find chain=ospf-in]")
    try:
        report = verify(fleet)
    finally:
        ssh(
            fleet,
            "br3",
            "/routing filter add action=discard chain=ospf-in comment=ikefleet "
            "prefix=172.16.0.0/20 prefix-length=30",
        )
    (leak,) = results(report, "routes.no-tunnel-nets", "br3")
    assert leak.status == "fail" and "172.16.0." in leak.observed and "filter" in leak.hint
    assert results(report, "routes.no-tunnel-nets", "br1")[0].status == "pass"
    assert results(report, "config.drift", "br3")[0].status == "fail"


def test_tunnel_id_changed_on_one_end(fleet: Lab) -> None:
    ssh(fleet, "br1", "/interface eoip set [find name=eoip-hub] tunnel-id=77")
    try:
        report = verify(fleet)
    finally:
        ssh(fleet, "br1", "/interface eoip set [find name=eoip-hub] tunnel-id=1")
    (eoip,) = results(report, "eoip.tunnel", "br1")
    assert eoip.status == "fail" and "77" in eoip.hint and "same id" in eoip.hint
    (ids,) = results(report, "fleet.tunnel-ids")
    assert ids.status == "fail" and "br1" in ids.observed
    assert results(report, "eoip.tunnel", "br2")[0].status == "pass"


def test_unknown_extra_peer_on_the_hub(fleet: Lab, tmp_path: Path) -> None:
    """The inventory no longer lists br3, but br3 still connects: the hub has a peer nobody planned."""
    for name in ("config.yaml", "secrets.yaml"):
        shutil.copy2(fleet.directory / name, tmp_path / name)
    shutil.copytree(fleet.directory / "inventory", tmp_path / "inventory")
    yaml = YAML()
    hosts_file = tmp_path / "inventory" / "hosts.yaml"
    hosts = yaml.load(hosts_file.read_text())
    del hosts["br3"]
    with hosts_file.open("w") as fh:
        yaml.dump(hosts, fh)
    report = verify(fleet, tmp_path / "config.yaml")
    (unknown,) = results(report, "hub.unknown-peers", "hub")
    assert unknown.status == "fail" and "br3-client" in unknown.observed
    assert "br3" not in report.hosts


def test_unreachable_host_is_could_not_check(fleet: Lab) -> None:
    with fault(fleet, "br2", "refuse"):
        report = verify(fleet)
    mine = [r for r in report.results if r.host == "br2"]
    assert mine and {r.status for r in mine} == {"error"}
    (reach,) = results(report, "host.reachable", "br2")
    assert reach.hint.startswith("could not check br2")
    assert not report.compliant and not report.could_not_run
    assert results(report, "ike.peer", "br1")[0].status == "pass"


def test_manual_change_to_a_managed_item_is_drift(fleet: Lab) -> None:
    ssh(fleet, "br1", "/routing ospf interface set [find interface=bridge] cost=20")
    try:
        report = verify(fleet)
    finally:
        ssh(fleet, "br1", "/routing ospf interface set [find interface=bridge] cost=10")
    (drift,) = results(report, "config.drift", "br1")
    assert drift.status == "fail" and "cost" in drift.observed and "20" in drift.observed
    assert failing(report) == {("config.drift", "br1")}


@pytest.mark.parametrize("fmt", ["console", "json", "junit", "prom"])
def test_cli_reports_hold_no_secret(
    fleet: Lab, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"report.{fmt}"
    with fault(fleet, "br2", "bad-password"):
        code = main(
            ["verify", "-c", str(fleet.directory / "config.yaml"), "--format", fmt, "--output", str(out)]
        )
    captured = capsys.readouterr()
    text = out.read_text() + captured.out + captured.err
    assert code == 1 and "br2" in text
    secrets = YAML(typ="safe").load((fleet.directory / "secrets.yaml").read_text())
    assert secrets["backup_password"] == BACKUP_PASSWORD and secrets["password"]
    for value in (secrets["password"], secrets["backup_password"]):
        assert value not in text


def test_compliance_exit_codes_and_history(
    fleet: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(fleet.directory / "config.yaml")
    fleet.settle()
    assert main(["compliance", "-c", config, "--output", str(tmp_path / "ok.json")]) == 0
    with fault(fleet, "br3", "wan-down"):
        assert main(["compliance", "-c", config, "--output", str(tmp_path / "bad.json")]) == 1
        assert (
            main(["compliance", "-c", config, "--format", "junit", "--output", str(tmp_path / "j.xml")]) == 1
        )
    capsys.readouterr()
    assert main(["history", "br3", "-c", config]) == 0
    out = capsys.readouterr().out
    assert "ike.peer" in out and "fail" in out and "since" in out
    assert main(["compliance", "-c", str(tmp_path / "missing.yaml")]) == 2


def test_compliance_could_not_run_when_nothing_answers(fleet: Lab, tmp_path: Path) -> None:
    for name in ("hub", "br1", "br2", "br3"):
        fleet.fault(name, "refuse")
    try:
        code = main(
            [
                "compliance",
                "-c",
                str(fleet.directory / "config.yaml"),
                "--no-history",
                "--output",
                str(tmp_path / "r.json"),
            ]
        )
    finally:
        for name in ("hub", "br1", "br2", "br3"):
            fleet.clear_faults(name)
        fleet.settle()
    assert code == 2


def test_refused_command_falls_back_to_one_command_at_a_time(fleet: Lab) -> None:
    """RouterOS refuses the whole batch line when one read fails: each read is then sent on its own,
    and only the checks needing the refused read say 'could not check'."""
    fleet.fault("br1", "fail-command", "routing bfd", "failure: simulated")
    try:
        report = verify(fleet)
    finally:
        fleet.clear_faults("br1")
        fleet.settle()
    assert failing(report) == {("bfd.neighbor", "br1")}
    (bfd,) = results(report, "bfd.neighbor", "br1")
    assert bfd.status == "error" and "simulated" in bfd.observed


def test_wan_cut_is_one_story_in_every_report(
    fleet: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator reads br2's story, its cause and hint first: not a dozen failures sorted by check id."""
    config = str(fleet.directory / "config.yaml")
    with fault(fleet, "br2", "wan-down"):
        report = verify(fleet)
        for fmt in ("console", "json", "junit"):
            args = ["verify", "-c", config, "--no-history", "--format", fmt]
            assert main([*args, "--output", str(tmp_path / f"report.{fmt}")]) == 1
    capsys.readouterr()
    stories = {s.host: s for s in report.stories()}
    assert "br1" not in stories and "br3" not in stories and "hub" not in stories
    br2 = stories["br2"]
    assert br2.layer in ("reachability", "ike") and br2.cause.hint.startswith("br2's WAN is down")
    about_br2 = {(r.check, r.host, r.subject) for r in report.failures() if "br2" in (r.host, r.subject)}
    assert {(r.check, r.host, r.subject) for r in (br2.cause, *br2.symptoms)} == about_br2
    assert {"hub.peers", "hub.ospf"} <= {r.check for r in br2.symptoms if r.host == "hub"}

    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data["stories"]) <= {"br2", "fleet"}
    cause = data["stories"]["br2"]["cause"]
    assert cause["check"] == "ike.peer" and cause["hint"].startswith("br2's WAN is down")
    assert len(data["stories"]["br2"]["symptoms"]) == len(about_br2) - 1

    text = (tmp_path / "report.console").read_text()
    block = text[text.index("\nbr2: ") :]
    assert block.index("hint: br2's WAN is down") < block.index("explained by the cause above")
    assert block.index("explained by the cause above") < block.index("hub.peers (br2) on hub")

    root = ET.fromstring((tmp_path / "report.junit").read_text())
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "stories")
    failed = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    failed = {name: f for name, f in failed.items() if f is not None}
    assert set(failed) <= {"br2", "fleet"}
    assert (failed["br2"].get("message") or "").startswith("br2's WAN is down")  # type: ignore[union-attr]
    assert "hub.ospf [br2] on hub" in (failed["br2"].text or "")  # type: ignore[union-attr]


def test_removed_routing_filter_is_its_own_cause(fleet: Lab) -> None:
    ssh(fleet, "br3", "/routing filter remove [find chain=ospf-in]")
    try:
        report = verify(fleet)
    finally:
        ssh(
            fleet,
            "br3",
            "/routing filter add action=discard chain=ospf-in comment=ikefleet "
            "prefix=172.16.0.0/20 prefix-length=30",
        )
    (story,) = report.stories()
    assert (story.host, story.layer, story.cause.check) == ("br3", "filters", "routes.no-tunnel-nets")
    assert [s.check for s in story.symptoms] == ["config.drift"]  # the removed filter, told under it
