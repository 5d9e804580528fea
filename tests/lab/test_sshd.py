"""The SSH front end byte by byte: banner, prompt last, echo, line ends, safe mode, quit, faults, SFTP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import READ_LIMIT_S, read_until

from ikefleet.lab.engine import HIJACK_PROMPT
from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Router
from ikefleet.lab.sshd import ConsoleQuirks, LoginName, SessionFactory, Terminal, map_file_name
from ikefleet.routeros.config import Config


def connect(lab: Lab, name: str, suffix: str = "+ct80w", password: str | None = None) -> paramiko.SSHClient:
    spec = lab.spec(name)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(spec.host, spec.port, username=spec.username + suffix,
                   password=spec.password if password is None else password,
                   look_for_keys=False, allow_agent=False, timeout=READ_LIMIT_S)
    return client


@contextmanager
def shell(lab: Lab, name: str, suffix: str = "+ct80w") -> Iterator[tuple[paramiko.Channel, bytes]]:
    client = connect(lab, name, suffix)
    try:
        chan = client.invoke_shell(width=120)
        banner = read_until(chan, f"[admin@{name}] > ".encode())
        yield chan, banner
    finally:
        client.close()


def test_login_name_suffix_is_parsed_like_routeros() -> None:
    netmiko = LoginName.parse("admin+ct511w4098h")
    assert (netmiko.user, netmiko.colors, netmiko.detect_terminal, netmiko.width, netmiko.height) == (
        "admin", False, False, 511, 4098)
    plain = LoginName.parse("admin")
    assert (plain.user, plain.detect_terminal, plain.width) == ("admin", True, None)
    assert LoginName.parse("admin+cet1024w").dumb is True


def test_banner_then_prompt_without_input(fake_lab: Lab) -> None:
    with shell(fake_lab, "br1") as (_, banner):
        assert b"MMM      MMM       KKK" in banner
        assert b"  MikroTik RouterOS 6.49.2 (c) 1999-2021       https://www.mikrotik.com/\r\n" in banner
        assert banner.endswith(b"[admin@br1] > ")
        assert b"\x1bZ" not in banner  # `t` in the login name: no terminal probe
        assert b"\n" not in banner.replace(b"\r\n", b"")  # every line ends with \r\n


def test_terminal_probe_without_t(fake_lab: Lab) -> None:
    with shell(fake_lab, "br1", suffix="") as (_, banner):
        assert b"\x1bZ" in banner
        assert banner.endswith(b"[admin@br1] > ")


def test_echo_response_and_prompt_last(fake_lab: Lab) -> None:
    with shell(fake_lab, "br2") as (chan, _):
        chan.send(b"/system identity print\r\n")
        out = read_until(chan, b"[admin@br2] > \r[admin@br2] > ")
        assert out.startswith(b"/system identity print")  # echo
        assert b"\r\n  name: br2\r\n" in out
        assert out.count(b"/system identity print\r\n") == 1  # \r\n is one Enter, not two commands
        assert out.endswith(b"[admin@br2] > ")


def test_errors_backspace_and_ctrl_c(fake_lab: Lab) -> None:
    with shell(fake_lab, "br2") as (chan, _):
        chan.send(b"/ip addrx\x7fess print\r\n")
        out = read_until(chan, b"> \r[admin@br2] > ")
        assert b"\x08 \x08" in out
        assert b"Flags: X - disabled" in out
        chan.send(b"junk\x03")
        read_until(chan, b"[admin@br2] > ")
        chan.send(b"/foo\r\n")
        out = read_until(chan, b"> \r[admin@br2] > ")
        assert b"bad command name foo (line 1 column 2)" in out
        assert b"junk" not in out


def test_quit_prints_interrupted_and_exits_zero(fake_lab: Lab) -> None:
    with shell(fake_lab, "br1") as (chan, _):
        chan.send(b"quit\r\n")
        out = read_until(chan, b"interrupted\r\n")
        assert out.endswith(b"interrupted\r\n")
        assert chan.recv_exit_status() == 0


def test_ctrl_d_on_empty_line_quits(fake_lab: Lab) -> None:
    with shell(fake_lab, "br1") as (chan, _):
        chan.send(b"\x04")
        assert read_until(chan, b"interrupted\r\n").endswith(b"interrupted\r\n")
        assert chan.recv_exit_status() == 0


def test_client_closing_right_after_quit_leaves_server_serving(fake_lab: Lab) -> None:
    for _ in range(3):
        client = connect(fake_lab, "br1")
        chan = client.invoke_shell()
        read_until(chan, b"[admin@br1] > ")
        chan.send(b"quit\r\n")
        client.close()
    with shell(fake_lab, "br1") as (_, banner):
        assert banner.endswith(b"[admin@br1] > ")


def test_exec_request_returns_output(fake_lab: Lab) -> None:
    client = connect(fake_lab, "hub", suffix="")
    try:
        _, stdout, _ = client.exec_command("/system identity print")
        assert stdout.read() == b"  name: hub\r\n"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def _addresses(lab: Lab, name: str) -> list[str]:
    return [item.get("address") for item in lab.routers[name].config.items("/ip address")]


def test_safe_mode_kept_when_released(fake_lab: Lab) -> None:
    with shell(fake_lab, "br2") as (chan, _):
        chan.send(b"\x18")
        assert read_until(chan, b"<SAFE> ").endswith(b"[admin@br2] <SAFE> ")
        chan.send(b"/ip address add address=192.0.2.10/24 interface=ether1\r\n")
        read_until(chan, b"<SAFE> \r[admin@br2] <SAFE> ")
        chan.send(b"\x18")
        assert read_until(chan, b"[admin@br2] > ").endswith(b"[admin@br2] > ")
    assert "192.0.2.10/24" in _addresses(fake_lab, "br2")


def test_drop_in_safe_mode_undoes_changes(fake_lab: Lab) -> None:
    before = _addresses(fake_lab, "br2")
    fake_lab.fault("br2", "drop-after", 1)
    try:
        client = connect(fake_lab, "br2")
        chan = client.invoke_shell()
        read_until(chan, b"[admin@br2] > ")
        chan.send(b"\x18")
        read_until(chan, b"<SAFE> ")
        chan.send(b"/ip address add address=192.0.2.11/24 interface=ether1\r\n")
        read_until(chan, b"<SAFE> \r[admin@br2] <SAFE> ")
        assert "192.0.2.11/24" in _addresses(fake_lab, "br2")
        chan.send(b"/ip address print\r\n")  # the second command: the session drops
        read_until(chan, b"never")
        assert chan.closed or chan.exit_status_ready()
        client.close()
    finally:
        fake_lab.clear_faults("br2")
    deadline = time.monotonic() + READ_LIMIT_S
    while _addresses(fake_lab, "br2") != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _addresses(fake_lab, "br2") == before


def test_refuse_closes_the_listening_socket(fake_lab: Lab) -> None:
    spec = fake_lab.spec("hub")
    fake_lab.fault("hub", "refuse")
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((spec.host, spec.port), timeout=READ_LIMIT_S).close()
    finally:
        fake_lab.clear_faults("hub")
    with shell(fake_lab, "hub") as (_, banner):
        assert banner.endswith(b"[admin@hub] > ")
    assert fake_lab.spec("hub").port == spec.port


def test_bad_password_fault_and_wrong_password(fake_lab: Lab) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        connect(fake_lab, "br1", password="not-the-lab-password-0000")
    fake_lab.fault("br1", "bad-password")
    try:
        with pytest.raises(paramiko.AuthenticationException):
            connect(fake_lab, "br1")
    finally:
        fake_lab.clear_faults("br1")
    connect(fake_lab, "br1").close()


def test_fail_command_fault_answers_with_the_error(fake_lab: Lab) -> None:
    fake_lab.fault("hub", "fail-command", r"^/ip address", "failure: already have such address")
    try:
        with shell(fake_lab, "hub") as (chan, _):
            chan.send(b"/ip address print\r\n")
            out = read_until(chan, b"> \r[admin@hub] > ")
            assert b"failure: already have such address" in out
            assert b"Flags:" not in out
            chan.send(b"/system identity print\r\n")
            assert b"name: hub" in read_until(chan, b"> \r[admin@hub] > ")
    finally:
        fake_lab.clear_faults("hub")


def test_latency_fault_delays_responses(fake_lab: Lab) -> None:
    """Checked by ordering, not timing: with a long latency, no response is there right after Enter."""
    fake_lab.fault("br1", "latency", 1500)
    try:
        with shell(fake_lab, "br1") as (chan, _):
            chan.send(b"/system identity print\r\n")
            echo = read_until(chan, b"/system identity print")
            assert b"name: br1" not in echo
            rest = read_until(chan, b"> \r[admin@br1] > ")
            assert b"name: br1" in rest
    finally:
        fake_lab.clear_faults("br1")


def test_sftp_put_get_into_router_files(fake_lab: Lab, tmp_path: Path) -> None:
    client = connect(fake_lab, "hub")
    try:
        sftp = client.open_sftp()
        with sftp.open("flash/ca.crt", "wb") as fh:
            fh.write(b"-----BEGIN CERTIFICATE-----\n")
        sftp.get("flash/ca.crt", str(tmp_path / "back.crt"))
    finally:
        client.close()
    files = fake_lab.routers["hub"].files
    # The default lab model is a CCR: no flash/ directory, so flash/x lands at the root.
    assert files.read("ca.crt") == b"-----BEGIN CERTIFICATE-----\n"
    assert (tmp_path / "back.crt").read_bytes() == b"-----BEGIN CERTIFICATE-----\n"


def test_flash_mapping_follows_the_model(fake_lab: Lab) -> None:
    router = fake_lab.routers["hub"]
    assert map_file_name(router, "flash/a.txt") == "a.txt"
    assert map_file_name(router, "/b.txt") == "b.txt"
    hex_spec = replace(router.spec, model="RB750Gr3")
    hex_router = Router(spec=hex_spec, directory=router.directory, config=Config())
    assert map_file_name(hex_router, "flash/a.txt") == "flash/a.txt"


def test_host_key_and_configuration_persist_across_restart(
    tmp_path: Path, fake_console: SessionFactory
) -> None:
    with Lab.start(tmp_path, branches=1, session_factory=fake_console, control_socket=False) as lab:
        spec = lab.spec("br1")
        key1 = connect(lab, "br1").get_transport().get_remote_server_key().asbytes()
        with shell(lab, "br1") as (chan, _):
            chan.send(b"/system identity set name=site-one\r\n")
            read_until(chan, b"[admin@site-one] > ")
    with Lab.start(tmp_path, session_factory=fake_console, control_socket=False) as lab:
        assert lab.spec("br1").host == spec.host and lab.spec("br1").password == spec.password
        client = connect(lab, "br1")
        assert client.get_transport().get_remote_server_key().asbytes() == key1
        _, stdout, _ = client.exec_command("/system identity print")
        assert stdout.read() == b"  name: site-one\r\n"
        client.close()


def test_repaint_quirks_are_per_router_switches(fake_lab: Lab) -> None:
    fake_lab.set_quirks("hub", double_prompt=False, redraw_on_enter=False)
    try:
        with shell(fake_lab, "hub") as (chan, _):
            chan.send(b"/system identity print\r\n")
            out = read_until(chan, b"name: hub\r\n[admin@hub] > ")
            assert out == b"/system identity print\r\n  name: hub\r\n[admin@hub] > "
        with shell(fake_lab, "br1") as (chan, _):
            chan.send(b"/system identity print\r\n")
            out = read_until(chan, b"> \r[admin@br1] > ")
            assert out.count(b"[admin@br1] > ") == 3  # redrawn input line + prompt painted twice
    finally:
        fake_lab.set_quirks("hub", double_prompt=True, redraw_on_enter=True)


# --- with the real console engine ---------------------------------------------------------------------------


def _identity(lab: Lab, name: str) -> str:
    items = lab.routers[name].config.items("/system identity")
    return items[0].get("name", "MikroTik") if items else "MikroTik"


def test_engine_prompt_follows_identity_and_menu(lab: Lab) -> None:
    before = _identity(lab, "br1")
    client = connect(lab, "br1")
    try:
        chan = client.invoke_shell()
        read_until(chan, f"[admin@{before}] > ".encode())
        chan.send(b"/system identity set name=lab-edge-7\r\n")
        assert read_until(chan, b"[admin@lab-edge-7] > ").endswith(b"[admin@lab-edge-7] > ")
        chan.send(b"/ip ipsec\r\n")
        assert read_until(chan, b"[admin@lab-edge-7] /ip ipsec> ").endswith(b"/ip ipsec> ")
        chan.send(f"/system identity set name={before}\r\n".encode())
        assert read_until(chan, f"[admin@{before}] /ip ipsec> ".encode()).endswith(b"/ip ipsec> ")
    finally:
        client.close()


def test_engine_safe_mode_drop_undoes_changes(lab: Lab) -> None:
    before = _identity(lab, "br2")
    lab.fault("br2", "drop-after", 1)
    try:
        client = connect(lab, "br2")
        chan = client.invoke_shell()
        read_until(chan, f"[admin@{before}] > ".encode())
        chan.send(b"\x18")
        assert b"[Safe Mode taken]" in read_until(chan, b"<SAFE> ")
        chan.send(b"/system identity set name=unsafe-change\r\n")
        read_until(chan, b"[admin@unsafe-change] <SAFE> ")
        assert _identity(lab, "br2") == "unsafe-change"
        chan.send(b"/system identity print\r\n")
        read_until(chan, b"never")
        client.close()
    finally:
        lab.clear_faults("br2")
    deadline = time.monotonic() + READ_LIMIT_S
    while _identity(lab, "br2") != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _identity(lab, "br2") == before


def test_engine_second_session_gets_the_hijack_prompt_and_d_takes_nothing(lab: Lab) -> None:
    name = _identity(lab, "br2")
    plain, safe = f"[admin@{name}] > ".encode(), f"[admin@{name}] <SAFE> ".encode()
    holder, other = connect(lab, "br2"), connect(lab, "br2")
    try:
        first = holder.invoke_shell()
        read_until(first, plain)
        first.send(b"\x18")
        read_until(first, safe)
        first.send(b"/ip address add address=192.0.2.77/32 interface=ether1\r\n")
        read_until(first, safe + b"\r" + safe)
        second = other.invoke_shell()
        read_until(second, plain)
        second.send(b"\x18")
        asked = read_until(second, b"[u/r/d]: ")
        assert asked.endswith(b"\r\n" + HIJACK_PROMPT.encode())
        second.send(b"d")
        assert read_until(second, plain).endswith(b"d\r\n" + plain)  # not taken: the plain prompt
        second.send(b"/user active print terse\r\n")
        logins = read_until(second, plain + b"\r" + plain)
        assert logins.count(b"name=admin address=127.0.0.1 via=ssh") == 2
        first.send(b"/ip address print\r\n")  # the holder is still in safe mode, its change in place
        assert read_until(first, safe + b"\r" + safe).endswith(safe)
        assert "192.0.2.77/32" in _addresses(lab, "br2")
    finally:
        other.close()
        holder.close()  # a drop: RouterOS undoes the holder's window
    deadline = time.monotonic() + READ_LIMIT_S
    while ("192.0.2.77/32" in _addresses(lab, "br2") or lab.routers["br2"].active_logins) and (
            time.monotonic() < deadline):
        time.sleep(0.02)
    assert "192.0.2.77/32" not in _addresses(lab, "br2")
    assert lab.routers["br2"].active_logins == []  # both sessions ended: /user active lists neither


def test_crlf_split_across_reads_is_one_enter(fake_lab: Lab) -> None:
    with shell(fake_lab, "br2") as (chan, _):
        chan.send(b"/system identity print\r")
        first = read_until(chan, b"> \r[admin@br2] > ")
        chan.send(b"\n/system identity print\r\n")
        second = read_until(chan, b"> \r[admin@br2] > ")
        assert b"name: br2" in first
        assert second.startswith(b"/system identity print")  # no empty command painted a prompt first


def test_terminal_probe_answer_is_not_taken_as_input(fake_lab: Lab) -> None:
    client = connect(fake_lab, "br1", suffix="")
    try:
        chan = client.invoke_shell()
        read_until(chan, b"\x1bZ")
        chan.send(b"\x1b/Z")  # the answer Ansible's terminal plugin gives
        read_until(chan, b"[admin@br1] > ")
        chan.send(b"/system identity print\r\n")
        out = read_until(chan, b"> \r[admin@br1] > ")
        assert out.startswith(b"/system identity print") and b"name: br1" in out
    finally:
        client.close()


def test_client_vanishing_in_safe_mode_undoes_changes(fake_lab: Lab) -> None:
    before = _addresses(fake_lab, "hub")
    client = connect(fake_lab, "hub")
    chan = client.invoke_shell()
    read_until(chan, b"[admin@hub] > ")
    chan.send(b"\x18")
    read_until(chan, b"<SAFE> ")
    chan.send(b"/ip address add address=192.0.2.12/24 interface=ether1\r\n")
    read_until(chan, b"<SAFE> \r[admin@hub] <SAFE> ")
    assert "192.0.2.12/24" in _addresses(fake_lab, "hub")
    client.get_transport().sock.close()  # the TCP connection just goes away: no quit, no SSH disconnect
    client.close()
    deadline = time.monotonic() + READ_LIMIT_S
    while _addresses(fake_lab, "hub") != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _addresses(fake_lab, "hub") == before


def test_pager_holds_back_output_taller_than_the_terminal(fake_lab: Lab) -> None:
    config = fake_lab.routers["br1"].config
    added = [config.add("/ip address", {"address": f"192.0.2.{n}/32", "interface": "lo"})
             for n in range(100, 130)]
    try:
        client = connect(fake_lab, "br1", suffix="+ct80w10h")  # 10 lines: 9 of output per page
        chan = client.invoke_shell()
        read_until(chan, b"[admin@br1] > ")
        chan.send(b"/ip address print\r\n")
        first = read_until(chan, b"-- [Q quit|D dump|down]")
        assert first.endswith(b"\r\n-- [Q quit|D dump|down]")
        page = first.split(b"/ip address print\r\n", 1)[1].split(b"\r\n")[:-1]
        assert len(page) == 9 and page[0].startswith(b"Flags:")
        assert b"192.0.2.129/32" not in first
        chan.send(b"\r\n")  # one more line
        one = read_until(chan, b"-- [Q quit|D dump|down]")
        assert one.strip(b"\r ").count(b"\r\n") == 1 and b"/32 lo" in one
        chan.send(b"q")
        assert read_until(chan, b"[admin@br1] > ").endswith(b"[admin@br1] > ")
        chan.send(b"/ip address print without-paging\r\n")
        assert b"192.0.2.129/32" in read_until(chan, b"> \r[admin@br1] > ")
        chan.send(b"/ip address print\r\n")
        read_until(chan, b"-- [Q quit|D dump|down]")
        chan.send(b"d")
        rest = read_until(chan, b"> \r[admin@br1] > ")
        assert b"192.0.2.129/32" in rest and b"-- [Q quit" not in rest
        client.close()
    finally:
        for item in added:
            config.items("/ip address").remove(item)


@pytest.mark.parametrize(("leave", "kept"), [(b"quit\r\n", True), (b"\x04", False)])
def test_leaving_safe_mode_session_quit_keeps_ctrl_d_undoes(fake_lab: Lab, leave: bytes, kept: bool) -> None:
    address = "192.0.2.13/24" if kept else "192.0.2.14/24"
    with shell(fake_lab, "br1") as (chan, _):
        chan.send(b"\x18")
        read_until(chan, b"<SAFE> ")
        chan.send(f"/ip address add address={address} interface=ether1\r\n".encode())
        read_until(chan, b"<SAFE> \r[admin@br1] <SAFE> ")
        chan.send(leave)
        assert read_until(chan, b"interrupted\r\n").endswith(b"interrupted\r\n")
        assert chan.recv_exit_status() == 0
    deadline = time.monotonic() + READ_LIMIT_S
    while (address in _addresses(fake_lab, "br1")) != kept and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (address in _addresses(fake_lab, "br1")) == kept
    config = fake_lab.routers["br1"].config
    for item in [i for i in config.items("/ip address") if i.get("address") == address]:
        config.items("/ip address").remove(item)


def test_the_labs_host_key_is_rsa_2048_kept_owner_only_under_any_umask(tmp_path: Path) -> None:
    """RouterOS's host key type and size (docs/routeros-ssh.md S5, S9), written 0600 even under umask 000,
    and the same key after a restart."""
    import os

    from ikefleet.lab.sshd import HOST_KEY_FILE, host_key

    old = os.umask(0)
    try:
        key = host_key(tmp_path / "lab")
    finally:
        os.umask(old)
    assert (key.get_algorithm(), key.pyca_key.key_size) == ("ssh-rsa", 2048)
    assert (tmp_path / "lab" / HOST_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert host_key(tmp_path / "lab").public_data == key.public_data


@settings(max_examples=300, deadline=None)
@given(keys=st.text(alphabet=st.sampled_from("ab /=\"<x\t\u00e9"), max_size=120),
       before=st.text(alphabet="abc ", max_size=60), width=st.integers(20, 120),
       major=st.sampled_from((6, 7)))
def test_typed_keys_echo_together_as_they_echo_one_by_one(keys: str, before: str, width: int,
                                                          major: int) -> None:
    """A read of many typed keys (a client's whole command line) is echoed in one go only where that gives
    the bytes RouterOS's key-by-key echo gives: on v7 a line past the terminal width redraws at each key."""
    class Console:
        prompt = "[admin@br1] > "

    class Version:
        major_version = major

    def terminal() -> Terminal:
        t = Terminal.__new__(Terminal)  # (no SSH channel: only the echo is under test)
        t.session, t.router, t.quirks, t.width, t.out = Console(), Version(), ConsoleQuirks(), width, []  # type: ignore[assignment]
        return t

    together, one_by_one = terminal(), terminal()
    line = together._type(before, keys.replace("\t", ""))
    typed = before
    for key in keys.replace("\t", ""):
        typed = one_by_one._type(typed, key)
    assert line == typed == before + keys.replace("\t", "")
    assert "".join(together.out) == "".join(one_by_one.out)
    if major == 7 and len(line) > width - len(Console.prompt) - 1 and keys.strip("\t"):
        assert "\r" + Console.prompt + "<" in "".join(together.out)  # the scrolled redraw, not the keys
