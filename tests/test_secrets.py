"""Credentials: environment and chmod-600 file, precedence, refusal of readable files, never shown."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ikefleet import redact
from ikefleet.secrets import SecretsError, load_secrets, load_secrets_or_report


def unique(label: str) -> str:
    return f"{label}-{os.urandom(8).hex()}"


def write_secrets(path: Path, data: dict[str, object], mode: int = 0o600) -> Path:
    with path.open("w") as stream:
        YAML(typ="safe").dump(data, stream)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_file_is_refused_with_the_fix(tmp_path: Path, mode: int,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    secret = unique("file-pw")
    path = write_secrets(tmp_path / "secrets.yaml", {"password": secret}, mode)
    with pytest.raises(SecretsError) as caught:
        load_secrets(path, env={})
    assert f"chmod 600 {path}" in str(caught.value)
    assert secret not in str(caught.value)
    assert load_secrets_or_report(path) is None
    err = capsys.readouterr().err
    assert f"chmod 600 {path}" in err and secret not in err


def test_private_file_is_read(tmp_path: Path) -> None:
    secret, backup = unique("file-pw"), unique("backup")
    data = {"username": "ops", "password": secret, "backup_password": backup}
    path = write_secrets(tmp_path / "s.yaml", data)
    secrets = load_secrets(path, env={})
    assert secrets.credentials("R2") == ("ops", secret)
    assert secrets.backup_password == backup
    assert secrets.source == str(path)


def test_environment_only(tmp_path: Path) -> None:
    secret = unique("env-pw")
    secrets = load_secrets(None, env={"IKEFLEET_PASSWORD": secret, "HOME": "/root"})
    assert secrets.credentials("R1") == ("admin", secret)
    assert secrets.backup_password is None


def test_precedence_host_env_then_host_file_then_env_then_file(tmp_path: Path) -> None:
    values = {k: unique(k) for k in ("file_all", "file_r2", "file_r3", "env_all", "env_r3")}
    path = write_secrets(tmp_path / "s.yaml", {
        "password": values["file_all"],
        "hosts": {"R2": {"password": values["file_r2"]}, "R3": {"password": values["file_r3"]}},
    })
    secrets = load_secrets(path, env={"IKEFLEET_PASSWORD": values["env_all"],
                                      "IKEFLEET_PASSWORD_R3": values["env_r3"]})
    assert secrets.password("R3") == values["env_r3"]
    assert secrets.password("R2") == values["file_r2"]
    assert secrets.password("R1") == values["env_all"]
    assert load_secrets(path, env={}).password("R1") == values["file_all"]


def test_host_env_suffix_normalises_names() -> None:
    secret = unique("dash")
    secrets = load_secrets(None, env={"IKEFLEET_PASSWORD_BRANCH_7_LAB": secret})
    assert secrets.password("branch-7.lab") == secret


def test_repr_and_str_never_show_values(tmp_path: Path) -> None:
    values = [unique("a"), unique("b"), unique("c"), unique("d")]
    path = write_secrets(tmp_path / "s.yaml", {"password": values[0], "backup_password": values[1],
                                               "hosts": {"R2": {"password": values[2]}}})
    secrets = load_secrets(path, env={"IKEFLEET_PASSWORD_R3": values[3]})
    shown = repr(secrets) + str(secrets) + f"{secrets}" + repr([secrets])
    assert "Secrets(" in shown
    for value in values:
        assert value not in shown


def test_redaction_masks_every_value(tmp_path: Path) -> None:
    secret, host_secret = unique("pw"), unique("host")
    data = {"password": secret, "hosts": {"R2": {"password": host_secret}}}
    path = write_secrets(tmp_path / "s.yaml", data)
    secrets = load_secrets(path, env={})
    text = f"login with {secret} then {host_secret}"
    assert secret not in secrets.redact(text) and host_secret not in secrets.redact(text)
    assert secret not in redact.scrub(text)  # registered with the project-wide scrubber too


def test_missing_password_names_the_variables() -> None:
    with pytest.raises(SecretsError) as caught:
        load_secrets(None, env={}).password("R2")
    assert "IKEFLEET_PASSWORD" in str(caught.value) and "IKEFLEET_PASSWORD_R2" in str(caught.value)


def test_unknown_keys_rejected_without_echoing_values(tmp_path: Path) -> None:
    secret = unique("typo")
    path = write_secrets(tmp_path / "s.yaml", {"pasword": secret})
    with pytest.raises(SecretsError) as caught:
        load_secrets(path, env={})
    assert "pasword" in str(caught.value) and secret not in str(caught.value)


def test_bad_yaml_does_not_echo_content(tmp_path: Path) -> None:
    secret = unique("broken")
    path = tmp_path / "s.yaml"
    path.write_text(f"password: [{secret}\n")
    path.chmod(0o600)
    with pytest.raises(SecretsError) as caught:
        load_secrets(path, env={})
    assert secret not in str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(SecretsError, match="cannot read"):
        load_secrets("/nonexistent/ikefleet-secrets.yaml", env={})


def test_cli_refuses_readable_secrets_before_connecting(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet_factory import forbid_network, write_inventory

    from ikefleet.cli.inventory_args import nornir_or_report

    attempts = forbid_network(monkeypatch)
    secret = unique("cli-pw")
    secrets_file = write_secrets(tmp_path / "secrets.yaml", {"password": secret}, 0o644)
    config = write_inventory(tmp_path, ikefleet={"secrets_file": "secrets.yaml"})
    assert nornir_or_report(argparse.Namespace(config=str(config), secrets=None)) is None
    err = capsys.readouterr().err
    assert f"chmod 600 {secrets_file}" in err and secret not in err
    secrets_file.chmod(0o600)
    result = nornir_or_report(argparse.Namespace(config=str(config), secrets=None))
    assert result is not None
    fleet, nornir = result
    assert nornir.inventory.hosts["R2"].password == secret and fleet.hub.name == "R1"
    assert attempts == []
