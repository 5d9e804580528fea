"""The lab speaking RouterOS 7: slash paths, `;` legends and `Columns:` lines, secrets hidden in `/export`
unless show-sensitive, v7 menus; and labs with a version per router (`--ros 7,6`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikefleet.cli.lab import ros_versions
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.manager import LabPlan
from ikefleet.lab.router import Router, RouterSpec


def router(tmp_path: Path, version: str) -> Router:
    spec = RouterSpec(name="R1", role="responder", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24", version=version)
    return Router(spec, tmp_path, config=initial_config(spec))


@pytest.fixture
def v7(tmp_path: Path) -> Session:
    session = Session(router(tmp_path, "7.16.1"), "admin", width=120)
    for line in ("/routing ospf instance add name=default-v2 router-id=192.168.1.1",
                 "/routing/ospf/area/add name=backbone instance=default-v2",
                 "/routing/ ospf/ interface-template/ add area=backbone interfaces=bridge"
                 " auth=md5 auth-key=s3cr3tk"):
        assert session.execute(line) == "", line
    return session


def test_slash_paths_reach_the_same_menu(v7: Session) -> None:
    spaced = v7.execute("/routing ospf area print")
    assert v7.execute("/routing/ospf/area/print") == spaced
    assert v7.execute("/routing/ ospf/ area/ print") == spaced
    assert 'name="backbone"' in spaced and "instance=default-v2" in spaced
    assert v7.execute("/ip/address/print count-only") == "2"


def test_v6_has_no_slash_paths_nor_v7_menus(tmp_path: Path) -> None:
    v6 = Session(router(tmp_path, "6.49.2"), "admin")
    assert v6.execute("/ip/address/print").startswith("bad command name")
    assert v6.execute("/routing ospf interface-template print").startswith("bad command name")
    assert v6.execute("/export show-sensitive").startswith("expected end of command")


def test_v7_legend_groups_and_columns_line(v7: Session) -> None:
    lines = v7.execute("/ip address print").splitlines()
    assert lines[0] == "Columns: ADDRESS, NETWORK, INTERFACE"  # a v7 table names only flags its rows show
    assert v7.execute("/ip address add address=10.9.9.1/24 interface=bridge disabled=yes") == ""
    lines = v7.execute("/ip address print").splitlines()
    assert lines[0] == "Flags: X - DISABLED" and lines[1] == "Columns: ADDRESS, NETWORK, INTERFACE"
    area = v7.execute("/routing ospf area print").splitlines()[0]
    assert ";" in area and "T - transit-capable" in area


def test_export_hides_secrets_unless_show_sensitive(v7: Session) -> None:
    plain = v7.execute("/routing ospf interface-template export")
    assert "auth=md5" in plain and "s3cr3tk" not in plain
    assert "s3cr3tk" not in v7.execute("/routing ospf interface-template export hide-sensitive")
    assert "auth-key=s3cr3tk" in v7.execute("/routing ospf interface-template export show-sensitive")


def test_v7_has_no_factory_ospf_instance(tmp_path: Path) -> None:
    session = Session(router(tmp_path, "7.16.1"), "admin")
    assert session.execute("/routing ospf instance print count-only") == "0"


def test_mixed_lab_versions() -> None:
    plan = LabPlan.new(branches=3, version=ros_versions("7,6"), model="CCR1009-7G-1C-1S+")
    versions = [s.version.split(".")[0] for s in plan.specs()]
    assert versions == ["7", "6", "7", "6"]
    assert {s.version for s in LabPlan.new(2, ros_versions("7"), "x").specs()} == {"7.16.1"}
    with pytest.raises(Exception, match="6, 7"):
        ros_versions("8")
