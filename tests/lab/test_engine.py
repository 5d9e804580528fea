"""The console interpreter: navigation, generic commands, find/where, variables, errors, safe mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ikefleet.lab.engine import HIJACK_PROMPT, Session, console_globals
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import ActiveLogin, Router, RouterSpec
from ikefleet.parsers.generic import parse_terse


@pytest.fixture
def router(tmp_path: Path) -> Router:
    spec = RouterSpec("R1", "responder", "127.0.0.1", 1, "admin", "pw", "203.0.113.1/24", "192.168.1.0/24")
    return Router(spec, tmp_path, config=initial_config(spec))


@pytest.fixture
def session(router: Router) -> Session:
    s = Session(router, "admin")
    s.max_delay_s = 0
    return s


def run(session: Session, *lines: str) -> list[str]:
    return [session.execute(line) for line in lines]


# --- prompt and navigation --------------------------------------------------------------------------


def test_prompt_follows_menu_and_identity(session: Session) -> None:
    assert session.prompt == "[admin@R1] > "
    assert session.execute("/ip ipsec") == ""
    assert session.prompt == "[admin@R1] /ip ipsec> "
    session.execute("..")
    assert session.prompt == "[admin@R1] /ip> "
    session.execute("/")
    assert session.prompt == "[admin@R1] > "
    session.execute("/system identity set name=hub-1")
    assert session.prompt == "[admin@hub-1] > "


def test_relative_commands_run_in_the_current_menu(session: Session) -> None:
    session.execute("/ip ipsec")
    assert session.execute("proposal add name=P1") == ""
    session.execute("proposal")
    assert session.execute("print count-only") == "2"
    assert session.execute("/ip address print count-only") == "2"
    assert session.prompt == "[admin@R1] /ip ipsec proposal> "


def test_abbreviated_menu_and_command_names(session: Session) -> None:
    assert session.execute("/ip addr pri count-only") == "2"


# --- error texts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("address print", "bad command name address (line 1 column 1)"),
        ("/ip foo", "bad command name foo (line 1 column 5)"),
        ("copy running-config startup-config", "bad command name copy (line 1 column 1)"),
        ("/ip address add address=10.9.9.1/24 interface=ether1 nonsense=1",
         "expected end of command (line 1 column 54)"),
        ("/ip address print detail bogus", "expected end of command (line 1 column 26)"),
        ("/ip address name=x", "expected command name (line 1 column 13)"),
        ("/ip address set 99 comment=x", "no such item"),
        ("/ip ipsec proposal add name=x pfs-group=bogus", "input does not match any value of pfs-group"),
        ("/ip ipsec proposal add name=x lifetime=soon", "invalid value for argument lifetime"),
        ("/ip ipsec peer add name=x profile=missing", "input does not match any value of profile"),
        ("/ip ipsec peer add name=x address=300.1.1.1", "invalid value for argument address"),
        ("/ip ipsec proposal add name=default", "failure: already have such entry"),
        ("/interface bridge port add interface=ether2 bridge=bridge",
         "failure: device already added as bridge port"),
        ("/ip address add address=192.168.1.1/24 interface=bridge", "failure: already have such address"),
        ("/ip address add address=10.0.0.1/24 interface=nowhere",
         "input does not match any value of interface"),
        ('/system identity set name="R2', "syntax error (line 1 column 30)"),
        ("/interface ethernet add name=x", "bad command name add (line 1 column 21)"),
    ],
)  # fmt: skip
def test_error_texts(session: Session, line: str, error: str) -> None:
    assert session.execute(line) == error


def test_ambiguous_enum_prefix(session: Session) -> None:
    out = session.execute("/ip ipsec proposal add name=x pfs-group=modp")
    assert out.startswith("ambiguous value of pfs-group")
    assert session.execute("/ip ipsec proposal add name=x pfs-group=modp40") == ""
    assert session.execute(":put [/ip ipsec proposal get [find name=x] pfs-group]") == "modp4096"


def test_default_items_cannot_be_removed(session: Session) -> None:
    for menu in ("/ip ipsec proposal", "/ip ipsec profile", "/ip ipsec policy group", "/ip ipsec policy"):
        assert session.execute(f"{menu} remove [find default=yes]").startswith("failure:"), menu
        assert session.execute(f"{menu} print count-only where default") == "1"


def test_errors_do_not_change_the_configuration(session: Session, router: Router) -> None:
    before = router.config.to_json()
    run(session, "/ip ipsec proposal add name=x pfs-group=bogus", "/ip address set 42 comment=x")
    assert router.config.to_json() == before


# --- add / set / remove / enable / disable / comment / move -------------------------------------------


def test_add_normalises_values_and_set_changes_them(session: Session, router: Router) -> None:
    run(
        session,
        "/ip ipsec proposal add name=SHA256 lifetime=00:30:00 pfs-group=modp4096 enc-algorithms=aes-256-cbc",
    )
    item = next(router.config.find("/ip ipsec proposal", name="SHA256"))
    assert item.values["lifetime"] == "30m"
    session.execute("/ip ipsec proposal set SHA256 lifetime=1h30m")
    assert item.values["lifetime"] == "1h30m"
    session.execute("/ip ipsec profile add name=p dpd-interval=15 lifetime=12:00:00")
    profile = next(router.config.find("/ip ipsec profile", name="p"))
    assert (profile.values["dpd-interval"], profile.values["lifetime"]) == ("15s", "12h")


def test_changes_notify_the_router(session: Session, router: Router) -> None:
    calls: list[str] = []
    router.listeners.append(lambda r: calls.append(r.name))
    session.execute("/ip ipsec policy group add name=IKEv2")
    session.execute("/ip ipsec policy group print")
    session.execute("/ip ipsec policy group set IKEv2 name=IKE")
    assert calls == ["R1", "R1"]


def test_numbers_follow_the_last_print(session: Session, router: Router) -> None:
    run(session, "/ip ipsec policy group add name=a", "/ip ipsec policy group add name=b")
    session.execute("/ip ipsec policy group print where name=b")
    session.execute("/ip ipsec policy group set 0 name=bee")
    names = [i.values["name"] for i in router.config.items("/ip ipsec policy group")]
    assert names == ["default", "a", "bee"]


def test_numbers_without_print_count_all_items(session: Session, router: Router) -> None:
    session.execute("/ip ipsec policy set 0 disabled=yes")
    assert router.config.items("/ip ipsec policy")[0].disabled


def test_remove_enable_disable_comment(session: Session, router: Router) -> None:
    run(session, "/ip ipsec policy group add name=a", "/ip ipsec policy group add name=b")
    session.execute("/ip ipsec proposal disable [find default=yes]")
    assert session.execute("/ip ipsec proposal print count-only where disabled") == "1"
    session.execute("/ip ipsec proposal enable 0")
    assert session.execute("/ip ipsec proposal print count-only where disabled") == "0"
    session.execute('/ip ipsec policy group comment [find name=a] comment="first group"')
    assert session.execute(":put [/ip ipsec policy group get [find name=a] comment]") == "first group"
    session.execute("/ip ipsec policy group remove [find name=a]")
    names = [i.values["name"] for i in router.config.items("/ip ipsec policy group")]
    assert names == ["default", "b"]


def test_place_before_and_move(session: Session, router: Router) -> None:
    session.execute("/ip firewall filter add chain=input action=drop protocol=tcp place-before=0")
    rules = router.config.items("/ip firewall filter")
    assert rules[0].values["protocol"] == "tcp"
    session.execute("/ip firewall filter move 0 3")
    assert rules[2].values["protocol"] == "tcp"


def test_copy_from_copies_fields(session: Session, router: Router) -> None:
    session.execute("/ip ipsec proposal add name=base auth-algorithms=sha256 pfs-group=modp2048")
    session.execute("/ip ipsec proposal add copy-from=[find name=base] name=copy lifetime=1h")
    copy = next(router.config.find("/ip ipsec proposal", name="copy"))
    assert copy.values == {
        "name": "copy",
        "auth-algorithms": "sha256",
        "pfs-group": "modp2048",
        "lifetime": "1h",
    }


def test_settings_menus_and_default_name_items(session: Session, router: Router) -> None:
    session.execute("/system ntp client set enabled=yes server-dns-names=pool.ntp.org")
    assert session.execute(":put [/system ntp client get enabled]") == "true"
    session.execute("/interface ethernet set [ find default-name=ether1 ] comment=WAN mtu=1400")
    ether1 = next(router.config.find("/interface ethernet", name="ether1"))
    assert (ether1.comment, ether1.values["mtu"]) == ("WAN", "1400")


def test_interface_view_lists_all_kinds(session: Session) -> None:
    session.execute("/interface eoip add name=EoIP-Tunnel remote-address=10.0.0.2 tunnel-id=1")
    assert session.execute("/interface print count-only") == "7"  # 5 ethernet, bridge, eoip
    assert session.execute('/interface print count-only where type="eoip-tunnel"') == "1"
    session.execute("/interface disable EoIP-Tunnel")
    assert session.execute("/interface eoip print count-only where disabled") == "1"


# --- find / where / get -----------------------------------------------------------------------------


def test_find_variants(session: Session) -> None:
    run(session, "/ip ipsec policy group add name=IKEv2", "/ip ipsec policy group add name=other")
    assert len(session.execute(":put [/ip ipsec policy group find]").split(";")) == 3
    assert session.execute(':put [/ip ipsec policy group find where name="IKEv2"]').startswith("*")
    one = session.execute(":put [/ip ipsec policy group find name=IKEv2]")
    assert one == session.execute(":put [/ip ipsec policy group find where name=IKEv2]")
    assert (
        session.execute(':put [/ip ipsec policy group find where name~"^IKE" or name=other]').count("*") == 2
    )
    assert session.execute(":put [/ip ipsec policy group find where !default and name!=other]") == one
    assert session.execute(":put [/ip ipsec policy group find where (name=a or name=b)]") == ""
    assert session.execute("/ip ipsec policy group print count-only where default=yes") == "1"


def test_where_on_unknown_field_is_an_error(session: Session) -> None:
    assert session.execute("/ip address print where bogus=1").startswith("expected end of command")
    # every condition is evaluated: a false one before it does not hide the unknown property
    assert session.execute("/ip address print where disabled=yes and bogus=1").startswith(
        "expected end of command"
    )


def test_where_values_from_variables_and_substitutions(session: Session) -> None:
    run(session, "/ip ipsec policy group add name=IKEv2", "/ip ipsec policy group add name=other")
    run(session, ':global wanted "IKEv2"')
    assert session.execute("/ip ipsec policy group print count-only where name=$wanted") == "1"
    assert session.execute("/ip ipsec policy group print count-only where name!=$wanted") == "2"
    got = session.execute(":put [/ip ipsec policy group get [find where name=[:put other]] name]")
    assert got == "other"


# --- variables and scripting ------------------------------------------------------------------------


def test_globals_persist_per_router_and_locals_per_line(session: Session, router: Router) -> None:
    session.execute(':global certca "ca"')
    other = Session(router, "admin")
    assert other.execute(":put $certca") == "ca"
    assert console_globals(router)["certca"] == "ca"
    assert session.execute(":local y 5; :put $y") == "5"
    assert session.execute(":put $y") == ""
    session.execute(':global name "x y"')
    session.execute("/ip ipsec policy group add name=$name")
    assert session.execute(':put [/ip ipsec policy group get [find name="x y"] name]') == "x y"
    assert session.execute(':put "cert-$certca!"') == "cert-ca!"


def test_delay_accepts_seconds_and_units(session: Session) -> None:
    for value in ("130", "2s", "500ms", "00:00:01"):
        assert session.execute(f":delay {value}") == ""
    assert session.execute(":delay soon") == "invalid value for argument delay-time"


def test_trailing_once_do_is_accepted(session: Session) -> None:
    out = session.execute("/system backup save name=b1 once do={:put done}")
    assert out.splitlines()[0] == "Configuration backup saved"


def test_edit_is_refused(session: Session) -> None:
    assert session.execute("/certificate settings edit crl-use").startswith("failure:")


# --- print / export ----------------------------------------------------------------------------------


def test_print_variants(session: Session) -> None:
    table = session.execute("/ip address print")
    assert table.splitlines()[0].startswith("Flags: X - disabled")
    assert "203.0.113.1/24" in table
    assert "network=192.168.1.0" in session.execute("/ip address print detail")
    terse = session.execute("/ip address print terse").splitlines()
    assert len(terse) == 2 and "address=203.0.113.1/24" in terse[0]
    assert ".id=*" in session.execute("/ip address print as-value")
    assert session.execute("/system identity print") == "  name: R1"
    assert session.execute("/ip address print without-paging") == table


def test_print_to_file(session: Session, router: Router) -> None:
    assert session.execute("/ip address print file=addr") == ""
    assert b"203.0.113.1/24" in router.files.read("addr.txt")


def test_export_shows_only_changes_from_factory(session: Session) -> None:
    assert "/ip ipsec proposal" not in session.execute("/export")
    session.execute("/ip ipsec proposal set [find default=yes] pfs-group=modp2048")
    lines = session.execute("/ip ipsec proposal export").splitlines()
    assert lines[0].startswith("# ") and "by RouterOS 6.49.2" in lines[0]
    assert lines[-2:] == ["/ip ipsec proposal", "set [ find default=yes ] pfs-group=modp2048"]
    verbose = session.execute("/ip ipsec proposal export verbose")
    assert "lifetime=30m" in verbose
    terse = session.execute("/ip ipsec export terse").splitlines()
    assert "/ip ipsec proposal set [ find default=yes ] pfs-group=modp2048" in terse


def test_export_hide_sensitive(session: Session) -> None:
    session.execute("/ip ipsec peer add name=p address=192.0.2.7")
    session.execute('/ip ipsec identity add peer=p secret="TopSecret-4711"')
    assert "TopSecret-4711" in session.execute("/ip ipsec identity export")
    assert "TopSecret-4711" not in session.execute("/ip ipsec identity export hide-sensitive")
    assert session.execute("/export show-sensitive").startswith("expected end of command")


def test_export_to_file(session: Session, router: Router) -> None:
    assert session.execute("/export file=cfg") == ""
    assert b"/ip address" in router.files.read("cfg.rsc")


# --- system menus -----------------------------------------------------------------------------------


def test_resource_print_has_free_memory(session: Session) -> None:
    out = session.execute("system resource print without-paging")
    assert any(line.strip().startswith("free-memory: ") for line in out.splitlines())


def test_backup_with_password_hides_it_and_the_keys(session: Session, router: Router) -> None:
    from ikefleet.lab import system_menus

    router.config.add("/certificate", {"name": "c"}, private={"key": "PRIVATE-KEY-MATERIAL"})
    assert session.execute("/system backup save name=enc password=Pass-98765") == "Configuration backup saved"
    blob = router.files.read("enc.backup")
    assert b"Pass-98765" not in blob and b"PRIVATE-KEY-MATERIAL" not in blob
    restored = system_menus.read_backup(blob, "Pass-98765")
    assert "PRIVATE-KEY-MATERIAL" in str(restored)
    session.execute("/system backup save name=plain")
    assert b"PRIVATE-KEY-MATERIAL" not in router.files.read("plain.backup")


def test_file_print_and_remove(session: Session, router: Router) -> None:
    router.files.write("flash/test9.txt", b"0123456789abcdefghi")
    out = session.execute('/file print detail where name="flash/test9.txt"')
    assert 'name="flash/test9.txt"' in out or "name=flash/test9.txt" in out
    assert "size=19 " in out + " "
    session.execute('/file remove [find name="flash/test9.txt"]')
    assert not router.files.exists("flash/test9.txt")


def test_script_run_and_log(session: Session, router: Router) -> None:
    session.execute('/system script add name=s source=":put hello"')
    assert session.execute("/system script run s") == "hello"
    router.log("ipsec,error", "identity not found")
    assert "identity not found" in session.execute("/log print")


# --- safe mode ----------------------------------------------------------------------------------------


def test_safe_mode_drop_undoes_changes(session: Session, router: Router) -> None:
    before = router.config.to_json()
    assert session.toggle_safe_mode() == "[Safe Mode taken]"
    assert session.prompt == "[admin@R1] <SAFE> "
    session.execute("/ip ipsec policy group add name=IKEv2")
    restored: list[str] = []
    router.listeners.append(lambda r: restored.append(r.name))
    session.close(dropped=True)
    assert router.config.to_json() == before
    assert restored == ["R1"]


def test_safe_mode_release_keeps_changes(session: Session, router: Router) -> None:
    session.toggle_safe_mode()
    session.execute("/ip ipsec")
    assert session.prompt == "[admin@R1] /ip ipsec<SAFE> "
    session.execute("policy group add name=IKEv2")
    assert session.toggle_safe_mode() == "[Safe Mode released]"
    session.close(dropped=True)
    assert any(i.values.get("name") == "IKEv2" for i in router.config.items("/ip ipsec policy group"))


def _groups(router: Router) -> set[str]:
    return {i.values.get("name", "") for i in router.config.items("/ip ipsec policy group")}


def test_second_session_is_asked_to_hijack_safe_mode_d_leaves_it(session: Session, router: Router) -> None:
    assert session.toggle_safe_mode() == "[Safe Mode taken]"
    session.execute("/ip ipsec policy group add name=first")
    second = Session(router, "ops")
    assert second.toggle_safe_mode() == HIJACK_PROMPT and second.hijacking
    assert second.answer_hijack("x") is None and second.hijacking  # any other key: still asking
    assert second.answer_hijack("d") == ""
    assert not second.hijacking and not second.safe_mode and second.prompt == "[ops@R1] > "
    assert session.safe_mode and router.safe_mode_holder is session and "first" in _groups(router)
    second.close(dropped=True)  # not in safe mode: its drop undoes nothing
    assert "first" in _groups(router)
    session.close(dropped=True)  # the holder's drop still undoes its window
    assert "first" not in _groups(router) and router.safe_mode_holder is None


@pytest.mark.parametrize(("key", "kept"), [("u", False), ("r", True)])
def test_hijacking_safe_mode_unrolls_or_releases_the_holders_changes(
    session: Session, router: Router, key: str, kept: bool
) -> None:
    session.toggle_safe_mode()
    session.execute("/ip ipsec policy group add name=first")
    second = Session(router, "ops")
    assert second.toggle_safe_mode() == HIJACK_PROMPT
    assert second.answer_hijack(key) == "[Safe Mode taken]"
    assert second.safe_mode and not session.safe_mode and router.safe_mode_holder is second
    assert ("first" in _groups(router)) is kept
    assert session.notices == ["[Safe mode released by another user]"]
    second.execute("/ip ipsec policy group add name=second")
    second.close(dropped=True)
    assert "second" not in _groups(router) and ("first" in _groups(router)) is kept


def test_user_active_lists_the_open_logins(session: Session, router: Router) -> None:
    router.active_logins.append(ActiveLogin(datetime(2026, 12, 6, 18, 1, 2, tzinfo=UTC), "ops", "192.0.2.7"))
    rows = parse_terse(session.execute("/user active print terse"))
    assert [r["values"] for r in rows] == [{"when": "dec/06/2026 18:01:02", "name": "ops",
                                            "address": "192.0.2.7", "via": "ssh", "group": "full"}]
    assert "192.0.2.7" in session.execute("/user active print")


def test_quit(session: Session) -> None:
    assert session.execute("/quit") == "interrupted"


def test_export_then_import_rebuilds_the_configuration(session: Session, tmp_path: Path) -> None:
    from ikefleet.lab.factory import reset_config

    run(
        session,
        "/ip ipsec proposal add name=SHA256 auth-algorithms=sha256 pfs-group=modp4096",
        "/ip ipsec proposal set [find default=yes] lifetime=1h",
        "/ip ipsec policy set 0 disabled=yes",
        '/interface ethernet set [ find default-name=ether3 ] comment="spare port"',
        "/ip firewall filter add chain=input action=accept protocol=ipsec-esp place-before=0",
        "/system ntp client set enabled=yes server-dns-names=pool.ntp.org",
    )
    exported = session.execute("/export file=backup-1")
    assert exported == ""
    spec = session.router.spec
    other = Router(spec, tmp_path / "other", config=reset_config(spec))
    other.files.write("backup-1.rsc", session.router.files.read("backup-1.rsc"))
    console = Session(other, "admin")
    assert console.execute("/import file-name=backup-1.rsc") == "Script file loaded and executed successfully"

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert body(console.execute("/export")) == body(session.execute("/export"))


def test_import_reports_the_failing_line(session: Session, router: Router) -> None:
    router.files.write(
        "bad.rsc", b"/ip ipsec policy group add name=a\n/ip ipsec proposal add pfs-group=nope\n"
    )
    out = session.execute("/import bad.rsc")
    assert out.splitlines()[0] == "input does not match any value of pfs-group"
    assert "line 2" in out


def test_unimplemented_menu_command_fails_cleanly(session: Session) -> None:
    assert (
        session.execute("/interface ethernet monitor ether1")
        == "failure: monitor is not implemented in the lab"
    )


def test_add_without_name_gets_router_chosen_names(session: Session, router: Router) -> None:
    run(session, "/interface bridge add", "/interface bridge add", "/ip ipsec peer add address=192.0.2.9")
    names = [i.values["name"] for i in router.config.items("/interface bridge")]
    assert names == ["bridge", "bridge1", "bridge2"]
    assert session.execute(":put [/ip ipsec peer get 0 name]") == "peer1"


def test_where_in_prefix(session: Session) -> None:
    assert session.execute("/ip address print count-only where address in 192.168.0.0/16") == "1"
    assert session.execute("/ip address print count-only where !(address in 10.0.0.0/8)") == "2"


def test_rename_follows_references(session: Session, router: Router) -> None:
    session.execute("/interface ethernet set [ find default-name=ether1 ] name=wan1")
    wan = next(router.config.find("/ip address", address="203.0.113.1/24"))
    assert wan.values["interface"] == "wan1"
    member = next(router.config.find("/interface list member", list="WAN"))
    assert member.values["interface"] == "wan1"
    session.execute("/interface list set [find name=LAN] name=inside")
    rule = next(i for i in router.config.items("/ip firewall filter") if "in-interface-list" in i.values)
    assert rule.values["in-interface-list"] == "!inside"
    session.execute("/ip ipsec proposal add name=P")
    session.execute("/ip ipsec policy add template=yes proposal=P")
    session.execute("/ip ipsec proposal set P name=Q")
    assert router.config.items("/ip ipsec policy")[-1].values["proposal"] == "Q"


def test_get_on_computed_menus(session: Session) -> None:
    assert session.execute(":put [/system resource get free-memory]").endswith("MiB")
    assert session.execute(":put [/system routerboard get model]") == "CCR1009-7G-1C-1S+"
    assert "time-zone-name: manual" in session.execute("/system clock print")
    session.execute("/system clock set time-zone-name=Europe/Riga")
    assert session.execute(":put [/system clock get time-zone-name]") == "Europe/Riga"


@pytest.mark.parametrize(
    ("menu", "line", "error"),
    [
        ("/interface bridge", "move bridge [find where name=x]", "no such item"),
        ("/interface", "move 0", "no such item"),
        ("/ip firewall filter", "move 0 disabled=yes", "expected end of command (line 1 column 8)"),
    ],
)
def test_move_errors(session: Session, menu: str, line: str, error: str) -> None:
    session.execute(menu)
    assert session.execute(line) == error


def test_vlan_pool_and_address_list(session: Session) -> None:
    assert session.execute("/interface vlan add interface=ether1 vlan-id=100") == ""
    assert session.execute(":put [/interface vlan get 0 name]") == "vlan1"
    assert session.execute("/interface vlan add interface=ether1 vlan-id=100 name=dup") == (
        "failure: already have such entry"
    )
    assert (
        session.execute("/interface vlan add interface=ether1 vlan-id=5000")
        == "value of vlan-id out of range (1..4095)"
    )
    assert session.execute('/interface print count-only where type="vlan"') == "1"
    session.execute("/ip pool add name=rw ranges=10.0.0.2-10.0.0.254")
    assert session.execute("/ip ipsec mode-config add name=rw responder=yes address-pool=rw") == ""
    assert session.execute("/ip ipsec mode-config add name=x address-pool=nope").startswith(
        "input does not match"
    )
    session.execute("/ip firewall address-list add list=peers address=192.0.2.1")
    assert "add address=192.0.2.1 list=peers" in session.execute("/ip firewall address-list export")


def test_interface_names_are_unique_across_kinds(session: Session) -> None:
    assert (
        session.execute("/interface bridge add name=ether1")
        == "failure: already have interface with such name"
    )
    session.execute("/interface eoip add name=tun remote-address=192.0.2.2 tunnel-id=7")
    assert (
        session.execute("/interface bridge set bridge name=tun")
        == "failure: already have interface with such name"
    )
    assert session.execute(":put [/interface bridge get 0 name]") == "bridge"


def test_file_print_lists_folders(session: Session, router: Router) -> None:
    router.files.write("flash/certs/a.crt", b"x")
    out = session.execute("/file print terse")
    assert "type=directory" in out and "name=flash/certs/a.crt" in out
    assert session.execute('/file print count-only where type="directory"') == "2"


def test_bare_property_in_where_means_set_and_not_empty(tmp_path: Path) -> None:
    """`where comment` / `where !comment`: the defconf filter rules all carry comments."""
    spec = RouterSpec("r1", "initiator", "127.0.0.2", 22, "admin", "x", "198.51.100.2/24", "192.168.2.0/24")
    router = Router(spec, tmp_path)
    router.config = initial_config(spec)
    session = Session(router, "admin")
    total = int(session.execute("/ip firewall filter print count-only"))
    assert session.execute("/ip firewall filter print count-only where comment") == str(total)
    assert session.execute("/ip firewall filter print count-only where !comment") == "0"
    session.execute("/ip firewall filter add chain=input action=accept")
    assert session.execute("/ip firewall filter print count-only where !comment") == "1"


def test_a_line_sent_again_runs_again(session: Session, router: Router) -> None:
    """Lines are read once and kept (every branch sends the same reads): running one is still running it."""
    before = len(router.config.items("/interface bridge"))
    line = "/interface bridge add; /interface bridge print count-only"
    assert [session.execute(line) for _ in range(3)] == [str(before + n) for n in (1, 2, 3)]
    broken = '/interface bridge add comment="x'  # a line that does not read runs nothing, every time
    assert [session.execute(broken) for _ in range(2)] == ["syntax error (line 1 column 33)"] * 2
    assert len(router.config.items("/interface bridge")) == before + 3
