"""v7 console fidelity against the real captures: legend grouping (flags of one column joined by ",",
columns by ";"), table legends naming only the flags shown, the ISO export header date; and the
`lab upgrade` command end to end (CLI -> control socket -> the running lab)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from ikefleet.cli import main
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Router, RouterSpec

from .test_sshd import read_until, shell

# Copies of shared/routeros-samples in the repository (CI's clone has no ../shared): the parsers' golden
# samples, and tests/data for captures no parser reads.
SAMPLES = Path(__file__).resolve().parents[1] / "parsers" / "golden"
DATA = Path(__file__).resolve().parents[1] / "data"


def capture_line(name: str, number: int) -> str:
    """Line `number` (1 = the command) of a capture, trailing spaces kept."""
    path = SAMPLES / name if (SAMPLES / name).exists() else DATA / name
    return path.read_text().splitlines()[number - 1]


@pytest.fixture
def v7(tmp_path: Path) -> Session:
    spec = RouterSpec(name="R1", role="responder", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24", version="7.16.1")
    session = Session(Router(spec, tmp_path, config=initial_config(spec)), "admin", width=80)
    for line in ("/routing ospf instance add name=ospf1 router-id=102.0.0.2",
                 "/routing ospf area add name=backbone instance=ospf1",
                 "/interface eoip add name=eoip-remote remote-address=10.0.0.2 tunnel-id=1"):
        assert session.execute(line) == "", line
    return session


@pytest.mark.parametrize(("command", "capture"), [
    ("/routing ospf area print", "v7__routing_ospf_area_print__pt-lab-mtk1.txt"),
    ("/routing ospf instance print", "v7__routing_ospf_instance_print__pt-lab-mtk1.txt"),
    ("/interface eoip print", "v7__interface_eoip_print__mt-docs-eoip-AP.txt"),
])
def test_legend_as_captured(v7: Session, command: str, capture: str) -> None:
    assert v7.execute(command).splitlines()[0] == capture_line(capture, 2)


def test_area_row_has_the_captured_flag_columns(v7: Session) -> None:
    # " 0    name=..." : number, two flag columns (X/I/D and T), a space
    row = v7.execute("/routing ospf area print").splitlines()[1]
    captured = capture_line("v7__routing_ospf_area_print__pt-lab-mtk1.txt", 3)
    assert row.startswith(captured[:len(" 0    name=")])


def test_policy_legend_groups(v7: Session) -> None:
    legend = " ".join(v7.execute("/ip ipsec policy print detail").splitlines()[:2])
    captured = " ".join(capture_line("v7__ip_ipsec_policy_print_detail__id-blog-hub.txt", n) for n in (2, 3))
    assert legend.split() == captured.split()  # same groups; the wrap point differs with the width
    assert v7.execute("/ip ipsec policy print detail").splitlines()[2].startswith(" 0 T  * ")


def test_v7_table_legend_names_only_flags_shown(v7: Session) -> None:
    assert v7.execute("/ip address add address=10.9.9.1/24 interface=bridge disabled=yes") == ""
    assert v7.execute("/ip address print").splitlines()[0] == "Flags: X - DISABLED"
    # the detail form lists every flag of the menu, grouped
    detail = v7.execute("/ip address print detail").splitlines()[0]
    assert detail.startswith("Flags: X - disabled, I - invalid; D - dynamic")


def test_export_header_date_is_iso_on_v7(v7: Session, tmp_path: Path) -> None:
    first = v7.execute("/export").splitlines()[0]
    assert re.fullmatch(r"# \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} by RouterOS 7\.16\.1", first)
    captured = capture_line("v7__export_eoip_ipsec_excerpt__forum-rb5009.txt", 1)
    def shape(line: str) -> str:
        return re.sub(r"\d", "0", line.replace("7.16.1", ""))

    assert shape(first) == shape(captured)
    spec = RouterSpec(name="R6", role="responder", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24", version="6.49.2")
    v6 = Session(Router(spec, tmp_path / "v6", config=initial_config(spec)), "admin")
    assert re.fullmatch(r"# [a-z]{3}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} by RouterOS 6\.49\.2",
                        v6.execute("/export").splitlines()[0])


def test_resource_print_reports_the_v7_channel(v7: Session) -> None:
    text = v7.execute("/system resource print")
    assert "version: 7.16.1 (stable)" in text
    assert re.search(r"build-time: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text)  # v7 capture's ISO form


def test_lab_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Lab.start(tmp_path / "lab", branches=1, version="6.49.2") as lab:
        assert main(["lab", "upgrade", "br1", "--ros", "7.16.1", "--dir", str(lab.directory)]) == 0
        out = capsys.readouterr().out
        assert "br1: upgraded to RouterOS 7.16.1 and rebooted" in out and "default-v2" in out
        assert lab.routers["br1"].major_version == 7 and lab.routers["hub"].major_version == 6
        assert main(["lab", "upgrade", "br1", "--ros", "6.48", "--dir", str(lab.directory)]) == 2
        assert "7.11 or later" in capsys.readouterr().err


def test_v7_scrolls_long_lines_and_ikefleet_pushes_survive(tmp_path: Path) -> None:
    """The facts note / netmiko #3285: on v7 a line wider than the terminal is shown as "<" + its tail, so
    its echo is not the command. v6 echoes it whole. ikefleet's own lines fit netmiko's 511 columns: a long
    `/routing filter rule` push goes through netmiko (echo verified) and lands."""
    with Lab.start(tmp_path / "lab", branches=1, version="7.16.1,6.49.2", control_socket=False) as lab:
        line = ':put "' + "x" * 100 + 'END"'
        for name, scrolled in (("hub", True), ("br1", False)):
            prompt = f"[admin@{name}] > ".encode()
            with shell(lab, name) as (chan, _):  # an 80-column terminal
                chan.send(line + "\r\n")
                echo = read_until(chan, prompt + b"\r" + prompt)
            assert (line.encode() not in echo) is scrolled, name
            if scrolled:
                assert b"<" + line[-(80 - len(prompt) - 2):].encode() in echo
        spec = lab.spec("hub")
        conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                              username=spec.username, password=spec.password)
        rule = "if (dst in 192.168.100.0/24 && dst-len in 24-32) { accept }"
        push = f'/routing filter rule add chain=ospf-out comment="{"long line " * 20}" rule="{rule}"'
        assert len(push) > 240
        assert conn.send_command(push, cmd_verify=True, expect_string=r"\] >\s*$") == ""
        conn.disconnect()
        assert [r.get("rule") for r in lab.routers["hub"].config.items("/routing filter rule")] == [rule]


def test_v7_routes_number_only_configured_rows(v7: Session) -> None:
    """v7__ip_route_add_then_print: dynamic rows carry no number, the static route is `0`."""
    v7.router.config.add("/ip route", {"dst-address": "10.1.1.0/24", "gateway": "ether1"}, dynamic=True)
    assert v7.execute("/ip route add dst-address=192.168.2.0/24 gateway=203.0.113.254") == ""
    rows = v7.execute("/ip route print").splitlines()[3:]
    assert rows[0].split()[:2] == ["D", "10.1.1.0/24"] and not rows[0][:2].strip()
    assert rows[1].split()[:2] == ["0", "192.168.2.0/24"]
    assert v7.execute("/ip route remove 0") == ""
    assert [r.get("dst-address") for r in v7.router.config.items("/ip route")] == ["10.1.1.0/24"]
