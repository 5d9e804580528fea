"""Every kind of inventory error: exit code 2, the message names host, field and fix, nothing is contacted."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import SEED_DEFAULTS, branch, forbid_network, hub, seed_hosts, write_inventory

from ikefleet.cli import plan as plan_cli
from ikefleet.inventory import load_inventory
from ikefleet.problems import InventoryError, Problem
from ikefleet.validate import format_duration, parse_duration


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    return forbid_network(monkeypatch)


def problems_for(config: Path) -> tuple[Problem, ...]:
    with pytest.raises(InventoryError) as caught:
        load_inventory(config)
    return caught.value.problems


def run_plan(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = plan_cli.run(argparse.Namespace(config=str(config), json=False))
    return code, capsys.readouterr().err


def assert_reported(config: Path, capsys: pytest.CaptureFixture[str], host: str, field: str,
                    *words: str) -> Problem:
    """The CLI exits 2 and prints a line naming host, field, fix; the problem carries the words given."""
    code, err = run_plan(config, capsys)
    assert code == 2
    matches = [p for p in problems_for(config) if p.host == host and p.field == field]
    assert matches, f"no problem for {host}/{field} in:\n{err}"
    problem = matches[0]
    assert problem.fix
    for word in words:
        assert word in str(problem), f"{word!r} not in {problem}"
    assert str(problem) in err and "Fix:" in err
    return problem


def defaults_with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SEED_DEFAULTS)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return data


def test_duplicate_branch_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1), "R3": branch(2, branch_id=1)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R3", "branch_id", "duplicate", "R2")


def test_duplicate_name_differing_in_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "branch": branch(1), "BRANCH": branch(2)}
    problem = assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "BRANCH", "name", "duplicate")
    assert "case-insensitive" in problem.message and "branch" in problem.message


def test_duplicate_host_key_in_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_inventory(tmp_path)
    hosts_file = tmp_path / "inventory" / "hosts.yaml"
    text = hosts_file.read_text()
    hosts_file.write_text(text + text[text.index("R2:"):])
    code, err = run_plan(config, capsys)
    assert code == 2
    assert "hosts.yaml" in err and "R2" in err and "Fix:" in err


def test_overlapping_lans_between_branches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1), "R3": branch(2, lan_prefixes=["192.168.2.128/25"])}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R3", "lan_prefixes", "overlaps", "R2")


def test_lan_overlapping_a_pool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("ospf.export_prefixes", ["192.168.0.0/16", "10.0.0.0/8"])
    hosts = {"R1": hub(), "R2": branch(1, lan_prefixes=["10.0.0.0/28"])}
    assert_reported(write_inventory(tmp_path, hosts=hosts, defaults_data=data), capsys, "R2", "lan_prefixes",
                    "pools.ipsec")


def test_lan_overlapping_a_wan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("ospf.export_prefixes", ["0.0.0.0/0"])
    hosts = {"R1": hub(), "R2": branch(1, lan_prefixes=["203.0.113.0/25"])}
    assert_reported(write_inventory(tmp_path, hosts=hosts, defaults_data=data), capsys, "R2", "lan_prefixes",
                    "R1 wan_address")


def test_pools_overlapping_each_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("pools.eoip", "10.0.0.0/24")
    assert_reported(write_inventory(tmp_path, defaults_data=data), capsys, "-", "pools.eoip", "pools.ipsec")


def test_pool_too_small_for_branch_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("pools.ipsec", "10.0.0.0/29")
    hosts = {"R1": hub(), "R2": branch(1), "R9": branch(9)}
    problem = assert_reported(write_inventory(tmp_path, hosts=hosts, defaults_data=data), capsys, "R9",
                              "branch_id", "pools.ipsec", "10.0.0.0/29")
    assert "1..5" in problem.message


def test_no_responder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R2": branch(1), "R3": branch(2)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "-", "groups", "responder", "none")


def test_two_responders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R1b": hub(wan_address="203.0.113.2/24", lan_prefixes=["192.168.9.0/24"]),
             "R2": branch(1)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "-", "groups", "R1", "R1b")


def test_host_in_no_role_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = seed_hosts()
    hosts["R2"]["groups"] = []
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "groups", "initiators")


@pytest.mark.parametrize(
    ("field", "value"),
    [("wan_address", "203.0.113.300/24"), ("wan_address", "203.0.113.7"),
     ("lan_prefixes", ["192.168.2.1/24"]), ("router_id", "not-an-ip")],
)
def test_bad_addresses(tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: Any) -> None:
    hosts = {"R1": hub(), "R2": branch(1, **{field: value})}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", field, "bad")


def test_bad_pool_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("pools.eoip", "172.16.0.1/20")
    assert_reported(write_inventory(tmp_path, defaults_data=data), capsys, "-", "pools.eoip", "bad network")


@pytest.mark.parametrize(
    ("path", "value", "word"),
    [("crypto.proposal.pfs_group", "modp9999", "modp9999"),
     ("crypto.proposal.enc_algorithms", ["aes-256-cbc", "chacha20"], "chacha20"),
     ("crypto.profile.hash_algorithm", "sha384", "sha384"),  # valid for prf, not for hash in 6.49
     ("crypto.profile.enc_algorithm", "aes-256-gcm", "aes-256-gcm")],
)
def test_unsupported_algorithms(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, value: Any,
                                word: str) -> None:
    config = write_inventory(tmp_path, defaults_data=defaults_with(path, value))
    problem = assert_reported(config, capsys, "-", path, word, "RouterOS 6.49")
    assert "use" in problem.fix


def test_unknown_host_key_suggests_closest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, lan_prefix=["192.168.22.0/24"])}
    problem = assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "lan_prefix", "unknown")
    assert "lan_prefixes" in problem.fix


def test_unknown_defaults_key_suggests_closest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_inventory(tmp_path, defaults_data=defaults_with("crypto.proposal.lifetme", "30m"))
    problem = assert_reported(config, capsys, "-", "crypto.proposal.lifetme", "unknown")
    assert "'lifetime'" in problem.fix


def test_fleet_setting_in_a_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, pools={"ipsec": "10.9.0.0/24"})}
    problem = assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "pools")
    assert "defaults.yaml" in problem.fix


@pytest.mark.parametrize("field", ["wan_address", "lan_prefixes", "branch_id"])
def test_missing_site_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str) -> None:
    hosts = seed_hosts()
    del hosts["R2"]["data"][field]
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", field, "missing")


def test_missing_hostname(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = seed_hosts()
    del hosts["R2"]["hostname"]
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "hostname", "missing")


def test_wrong_platform(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = seed_hosts()
    hosts["R1"]["platform"] = "ios"
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R1", "platform", "mikrotik_routeros")


def test_credentials_in_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = seed_hosts()
    hosts["R2"]["password"] = "inventory-password-never-printed"
    code, err = run_plan(write_inventory(tmp_path, hosts=hosts), capsys)
    assert code == 2
    assert "R2: password: credentials in the inventory" in err
    assert "IKEFLEET_PASSWORD" in err
    assert "inventory-password-never-printed" not in err


def test_hub_with_branch_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(branch_id=7), "R2": branch(1)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R1", "branch_id", "hub")


def test_lan_outside_ospf_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, lan_prefixes=["10.50.0.0/24"])}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "lan_prefixes", "export_prefixes")


def test_duplicate_router_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, router_id="192.168.1.1")}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "router_id", "duplicate", "R1")


def test_all_errors_are_reported_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, wan_address="bad"), "R3": branch(2, lan_prefx=[]),
             "R4": branch(3, branch_id="three")}
    data = defaults_with("crypto.profile.dh_group", "modp1")
    code, err = run_plan(write_inventory(tmp_path, hosts=hosts, defaults_data=data), capsys)
    assert code == 2
    for fragment in ("R2: wan_address", "R3: lan_prefx", "R4: branch_id", "crypto.profile.dh_group"):
        assert fragment in err
    assert err.count("Fix:") >= 4


def test_valid_inventory_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                no_network: list[Any]) -> None:
    code, err = run_plan(write_inventory(tmp_path), capsys)
    assert code == 0 and err == ""
    assert no_network == []


@pytest.mark.parametrize(("text", "seconds", "export"),
                         [("00:30:00", 1800, "30m"), ("12h", 43200, "12h"), ("15", 15, "15s"),
                          ("1d2h", 93600, "1d2h"), ("1h30m", 5400, "1h30m")])
def test_durations(text: str, seconds: int, export: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == export


@pytest.mark.parametrize("text", ["", "3x", "1h30", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_host_name_unusable_in_routeros_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "branch one": branch(1)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "branch one", "name", "eoip-")


def test_bad_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = seed_hosts()
    hosts["R2"]["port"] = 70000
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "port", "70000")


def test_v7_before_bfd_configuration_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "R2": branch(1, ros_version="7.10.2")}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R2", "ros_version", "7.10.2", "7.11")


def test_point_to_point_wan_is_accepted(tmp_path: Path) -> None:
    hosts = {"R1": hub(wan_address="203.0.113.10/31"), "R2": branch(1)}
    assert str(load_inventory(write_inventory(tmp_path, hosts=hosts)).hub.wan_ip) == "203.0.113.10"


def test_data_that_is_not_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_inventory(tmp_path)
    (tmp_path / "inventory" / "defaults.yaml").write_text("data: [1, 2]\n")
    assert_reported(config, capsys, "-", "data", "not a mapping")


@pytest.mark.parametrize("text", ["inventory: [\n", "- just\n- a list\n"])
def test_unreadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    config = write_inventory(tmp_path)
    config.write_text(text)
    code, err = run_plan(config, capsys)
    assert code == 2 and "config.yaml: -: config:" in err and "Fix:" in err


def test_reserved_routeros_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(), "request-only": branch(1)}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "request-only", "name", "built-in")


def test_too_old_routeros(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = {"R1": hub(ros_version="6.42.12"), "R2": branch(1, ros_version="6.49.2")}
    assert_reported(write_inventory(tmp_path, hosts=hosts), capsys, "R1", "ros_version", "6.42.12", "6.43")


def test_renewal_window_not_shorter_than_validity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = defaults_with("certificates.renew_window_days", 4000)
    config = write_inventory(tmp_path, defaults_data=data)
    assert_reported(config, capsys, "-", "certificates.renew_window_days", "days_valid", "re-issue")
