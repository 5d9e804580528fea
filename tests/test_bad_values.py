"""Issue 17.10: values that used to hang, traceback or be silently misread are refused with exit 2, the field
and the fix (or, for a secret written as a number, read as the text written)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import SEED_DEFAULTS, branch, forbid_network, hub, write_inventory

from ikefleet.cli import main
from ikefleet.cli import plan as plan_cli
from ikefleet.secrets import load_secrets


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    return forbid_network(monkeypatch)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--gate-timeout", "nan"), ("--gate-timeout", "-5"), ("--gate-timeout", "0"), ("--gate-timeout", "inf"),
     ("--gate-timeout", "soon"), ("--canary", "-1"), ("--canary", "1.5")],
)
def test_rollout_refuses_bad_numbers_before_reading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    config = write_inventory(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["rollout", "-c", str(config), option, value])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert f"argument {option}: {value!r}" in err and f"fix: give e.g. {option} " in err
    assert not (tmp_path / ".ikefleet").exists()  # no lock, no run directory: nothing started


def test_history_refuses_zero_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["history", "br1", "-c", str(write_inventory(tmp_path)), "--runs", "0"])
    assert caught.value.code == 2 and "fix: give e.g. --runs 10" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config_text", "field"),
    [("inventory: foo\n", "inventory"), ("inventory: {options: [a]}\n", "inventory.options"),
     ("inventory: {options: {host_file: [a]}}\n", "inventory.options.host_file")],
)
def test_config_inventory_section_of_the_wrong_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config_text: str, field: str
) -> None:
    config = write_inventory(tmp_path)
    config.write_text(config_text)
    code = plan_cli.run(argparse.Namespace(config=str(config), json=False))
    err = capsys.readouterr().err
    assert code == 2
    assert f"config.yaml: -: {field}: " in err and "Fix:" in err and "Traceback" not in err


def test_host_name_ending_in_a_newline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_inventory(tmp_path, hosts={"R1": hub(), "br1\n": branch(1)})
    code = plan_cli.run(argparse.Namespace(config=str(config), json=False))
    err = capsys.readouterr().err
    assert code == 2
    assert "br1\n: name: 'br1\\n' cannot name RouterOS objects" in err and "Fix: rename the host" in err


def test_fleet_name_ending_in_a_newline_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = {**SEED_DEFAULTS, "crypto": {**SEED_DEFAULTS["crypto"], "policy_group": "IKEv2\n"}}
    config = write_inventory(tmp_path, defaults_data=data)
    code = plan_cli.run(argparse.Namespace(config=str(config), json=False))
    assert code == 2 and "crypto.policy_group: bad name" in capsys.readouterr().err


def test_secrets_are_read_as_the_text_written(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("username: 007\npassword: 0123\nbackup_password: 1.50\nhosts:\n  br1: {password: yes}\n")
    path.chmod(0o600)
    secrets = load_secrets(path, env={})
    assert secrets.credentials("br2") == ("007", "0123")
    assert secrets.password("br1") == "yes"
    assert secrets.backup_password == "1.50"
