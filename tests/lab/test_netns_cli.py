"""`ikefleet lab up --backend netns` refuses clearly (exit 2) where it cannot run: not root, or strongSwan/FRR
missing (the message names the Debian packages). No daemons needed: runs everywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ikefleet.cli import main
from ikefleet.lab.manager import Lab
from ikefleet.lab.netns import backend, namespaces


def test_up_as_a_normal_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up", "--backend", "netns", "--dir", str(tmp_path / "lab")]) == 2
    assert "needs root" in capsys.readouterr().err
    assert not (tmp_path / "lab").exists()  # nothing started, nothing written


def test_missing_daemons_name_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    gone = {str(tmp_path / "no-charon"): "strongswan-charon", str(tmp_path / "no-ospfd"): "frr"}
    monkeypatch.setattr(backend, "REQUIRED", gone)
    assert main(["lab", "up", "--backend", "netns", "--dir", str(tmp_path / "lab")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install" in err and "strongswan-charon" in err and "frr" in err


def test_in_process_lab_refuses_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(namespaces.NetnsError, match="needs root"):
        Lab.start(tmp_path / "lab", branches=1, backend="netns", control_socket=False)


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model, netns"):
        Lab.start(tmp_path / "lab", branches=1, backend="gns3", control_socket=False)


def test_down_without_a_lab_or_leftovers_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lab").mkdir()
    assert main(["lab", "down", "--dir", str(tmp_path / "lab")]) == 2
    assert capsys.readouterr().err


def test_a_netns_lab_directory_brought_back_without_the_option_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "lab"
    directory.mkdir()
    (directory / "lab.json").write_text('{"backend": "netns", "lab_octet": 40}')
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up", "--dir", str(directory)]) == 2
    assert "needs root" in capsys.readouterr().err
