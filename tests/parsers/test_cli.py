"""`ikefleet parse`: command text picks the parser, JSON out, `-` reads stdin, unknown command exits 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ikefleet.cli import main

GOLDEN = Path(__file__).parent / "golden"


def test_parses_a_saved_file_to_json(capsys: pytest.CaptureFixture[str]) -> None:
    sample = GOLDEN / "v7__ip_ipsec_active-peers_print_detail__id-blog-hub.txt"
    assert main(["parse", "--command", "/ip ipsec active-peers print detail", str(sample)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["state"], r["responder"], r["remote_port"]) for r in records] == [
        ("spoke1", "established", True, 4500)
    ]


def test_parses_v7_bfd_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18: `/routing bfd session print` had no parser; the interface comes out of the address."""
    sample = GOLDEN / "v7__routing_bfd_session_print__helpmt-bfd.txt"
    assert main(["parse", "--command", "/routing/bfd/session/print", str(sample)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r.get("interface"), r.get("vrf"), r["inactive"]) for r in records] == [
        (None, "main", True), ("ovpn-out1", "vrf1", False)]


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("  name: hub-1\n"))
    assert main(["parse", "--command", "/system identity print", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "hub-1"}]


def test_unknown_command_lists_the_supported_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--command", "/ip firewall filter print", "-"]) == 2
    err = capsys.readouterr().err
    assert "/ip ipsec installed-sa print" in err and "/routing ospf neighbor print" in err


def test_garbage_exits_2_and_an_error_reply_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not router output\n")
    assert main(["parse", "--command", "/ip route print", str(garbage)]) == 2
    assert "/ip route print" in capsys.readouterr().err
    error = tmp_path / "error.txt"
    error.write_text("[admin@R1] > ip rout print\r\nbad command name rout (line 1 column 4)\r\n")
    assert main(["parse", "--command", "/ip route print", str(error)]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "bad-command-name"


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--command", "/ip route print", str(tmp_path / "absent.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_secrets_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = GOLDEN / "v6__ip_ipsec_identity_print__gcp-notes.txt"
    assert main(["parse", "--command", "/ip ipsec identity print", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "your_pw" not in out and "secret" not in out


def test_generic_reads_any_menu_and_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = GOLDEN / "v7__ip_pool_print__ru-audit-chat.txt"
    assert main(["parse", "--generic", "--command", "/ip pool print", str(sample)]) == 0
    pools = json.loads(capsys.readouterr().out)
    assert [(p["values"]["name"], p["values"]["total"]) for p in pools] == [
        ("pool-dhcp", "712"),
        ("pool-vpn", "100"),
    ]
    sample = GOLDEN / "v7__interface_l2tp-server_server_print__ru-audit-chat.txt"
    assert main(["parse", "--generic", "--command", "/interface l2tp-server server print", str(sample)]) == 0
    (server,) = json.loads(capsys.readouterr().out)
    assert server["values"]["authentication"] == "mschap1,mschap2" and server["values"]["use-ipsec"] == "yes"
