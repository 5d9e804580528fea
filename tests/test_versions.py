"""Issue 18.7: what each RouterOS version can do (ikefleet.routeros.versions), and validation refusing what
a version cannot do, with the reason and the fix (exit 2, nothing contacted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_factory import branch, hub, write_inventory

from ikefleet.cli import main
from ikefleet.inventory import load_inventory
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.problems import InventoryError
from ikefleet.routeros.versions import has, json_reads, version_tuple


def test_version_tuple() -> None:
    assert version_tuple("7.16.1") == (7, 16, 1)
    assert version_tuple("7.16") == (7, 16, 0)
    assert version_tuple("6.49.19 (long-term)") == (6, 49, 19)
    with pytest.raises(ValueError):
        version_tuple("stable")


@pytest.mark.parametrize(
    ("version", "feature", "expected"),
    [
        ("6.43.16", "mode-config-address", False),  # the docs claim 6.43
        ("6.44", "mode-config-address", True),
        ("7.12.2", "serialize", False),
        ("7.13", "serialize", True),
        ("7.16.2", "serialize-no-string-conversion", False),
        ("7.17", "serialize-no-string-conversion", True),
        ("7.20.8", "show-sensitive", False),
        ("7.21", "show-sensitive", True),
        ("6.49.2", "sign-certificate-request", False),  # not in any 6.x source
        ("7.8", "sign-certificate-request", False),  # no command tree before 7.9
        ("7.9", "sign-certificate-request", True),
    ],
)
def test_features_by_version(version: str, feature: str, expected: bool) -> None:
    assert has(version, feature) is expected


def test_json_reads_only_where_every_value_survives() -> None:
    assert [json_reads(v) for v in ("6.49.2", "7.11", "7.12.2", "7.13", "7.16.1", "7.17", "7.21.4")] == [
        False, False, False, False, False, True, True
    ]


def test_a_hub_on_6_43_is_refused_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hub gives every branch a fixed address with mode-config address=, which 6.43 does not take."""
    config = write_inventory(tmp_path, hosts={"R1": hub(ros_version="6.43.16"), "R2": branch(1)})
    with pytest.raises(InventoryError) as caught:
        load_inventory(config)
    [problem] = [p for p in caught.value.problems if p.field == "ros_version"]
    assert problem.host == "R1"
    assert "RouterOS 6.43.16 cannot do the hub's /ip ipsec mode-config address=" in problem.message
    assert "exists from 6.44" in problem.message
    assert "run RouterOS 6.44 or later on this responder" in problem.fix
    assert main(["plan", "-c", str(config)]) == 2
    assert "mode-config address=" in capsys.readouterr().err


def test_a_branch_on_6_43_and_a_hub_on_6_44_pass(tmp_path: Path) -> None:
    hosts = {"R1": hub(ros_version="6.44"), "R2": branch(1, ros_version="6.43.16")}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    assert fleet.site("R2").ros_version == "6.43.16"


def lab_console(tmp_path: Path, version: str) -> Session:
    spec = RouterSpec(name="R1", role="responder", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24", version=version)
    session = Session(Router(spec, tmp_path, config=initial_config(spec)), "admin", width=200)
    add = "/interface eoip add name=t1 remote-address=198.51.100.9 tunnel-id=9 ipsec-secret=Eoip-Secret-1"
    assert session.execute(add) == ""
    return session


def test_print_hides_sensitive_values_from_7_21(tmp_path: Path) -> None:
    """7.21 changelog: print hides sensitive settings unless show-sensitive (which older prints refuse)."""
    new = lab_console(tmp_path / "new", "7.21.4")
    assert "Eoip-Secret-1" not in new.execute("/interface eoip print detail")
    assert "Eoip-Secret-1" not in new.execute("/interface eoip print as-value")
    assert 'ipsec-secret="Eoip-Secret-1"' in new.execute("/interface eoip print detail show-sensitive")
    old = lab_console(tmp_path / "old", "7.20.8")
    assert "Eoip-Secret-1" in old.execute("/interface eoip print detail")
    assert old.execute("/interface eoip print detail show-sensitive").startswith("expected end of command")


@pytest.mark.parametrize(("version", "says"), [("6.43.16", "expected end of command"), ("6.44.6", "")])
def test_the_lab_takes_mode_config_address_from_6_44(tmp_path: Path, version: str, says: str) -> None:
    """A 6.43 lab router refuses what the real one refuses, so a rollout there fails where it would fail."""
    console = lab_console(tmp_path, version)
    out = console.execute("/ip ipsec mode-config add name=br1 address=10.0.0.2 responder=yes system-dns=no")
    assert out.startswith(says) if says else out == ""
