"""The menu data is consistent: references resolve, defaults are allowed values, keys are fields."""

from __future__ import annotations

import pytest

from ikefleet.routeros.schema import FIELD_TYPES, Schema, load_schema

SCHEMA = load_schema(6)

REQUIRED_MENUS = [
    "/system identity", "/system resource", "/system routerboard", "/system clock", "/system ntp client",
    "/system backup", "/system note", "/system scheduler", "/system script", "/system logging", "/log",
    "/file", "/certificate", "/certificate settings", "/certificate crl", "/ip ipsec policy group",
    "/ip ipsec proposal", "/ip ipsec mode-config", "/ip ipsec profile", "/ip ipsec peer",
    "/ip ipsec identity", "/ip ipsec policy", "/ip ipsec active-peers", "/ip ipsec installed-sa",
    "/interface", "/interface ethernet", "/interface bridge", "/interface bridge port", "/interface eoip",
    "/interface bonding", "/interface list", "/interface list member", "/ip address", "/ip route",
    "/ip firewall filter", "/ip firewall nat", "/ip firewall mangle", "/ip firewall raw", "/ip dns",
    "/ip service", "/routing ospf instance", "/routing ospf area", "/routing ospf network",
    "/routing ospf interface", "/routing ospf neighbor", "/routing ospf lsa", "/routing ospf route",
    "/routing filter", "/routing bfd interface", "/routing bfd neighbor",
]  # fmt: skip


@pytest.mark.parametrize("path", REQUIRED_MENUS)
def test_required_menu_present(path: str) -> None:
    assert SCHEMA.menu(path).path == path


def test_unknown_menu_raises_key_error() -> None:
    with pytest.raises(KeyError):
        SCHEMA.menu("/ip ipsec remote-peers")


def test_cached() -> None:
    assert load_schema(6) is SCHEMA


@pytest.mark.parametrize("path", sorted(SCHEMA.menus))
def test_menu_consistent(path: str) -> None:
    menu = SCHEMA.menu(path)
    assert menu.kind in ("list", "settings", "state")
    for f in menu.fields.values():
        assert f.type in FIELD_TYPES
        if f.ref is not None:
            assert f.ref in SCHEMA.menus, f"{path} {f.name} -> {f.ref}"
        if f.type == "enum" and f.default not in (None, ""):
            assert f.default in f.values, f"{path} {f.name}"
        if f.type == "enum-list" and f.default:
            assert set(f.default.split(",")) <= set(f.values), f"{path} {f.name}"
        if f.type == "bool" and f.default is not None:
            assert f.default in ("yes", "no")
    for item in menu.factory:
        flag_names = {flag.name for flag in menu.flags}
        for name in item:
            assert name in menu.fields or name in flag_names, f"{path} factory {name}"
    assert len({flag.letter for flag in menu.flags}) == len(menu.flags)


def test_ipsec_defaults_match_v6_default_export() -> None:
    proposal = SCHEMA.menu("/ip ipsec proposal")
    assert proposal.fields["enc-algorithms"].default == "aes-256-cbc,aes-192-cbc,aes-128-cbc"
    assert proposal.fields["lifetime"].default == "30m"
    assert proposal.key == ("name",)
    assert [f.letter for f in proposal.flags] == ["X", "*"]
    assert SCHEMA.menu("/ip ipsec identity").fields["secret"].secret


def test_directories_and_children() -> None:
    assert SCHEMA.is_directory("/ip")
    assert SCHEMA.is_directory("/routing ospf")
    assert "ipsec" in SCHEMA.children("/ip")
    assert not SCHEMA.is_directory("/ip nonsense")
    assert "add" not in SCHEMA.commands("/interface ethernet")
    assert "sign" in SCHEMA.commands("/certificate")


def test_schema_rejects_bad_key() -> None:
    from ikefleet.routeros import schema

    with pytest.raises(ValueError):
        schema._menu("/x", {"key": ["nope"], "fields": {"name": "name"}})
    assert isinstance(Schema({}, 6).children("/"), tuple)


def test_unknown_major_version_is_reported() -> None:
    with pytest.raises(ValueError, match="v5"):
        load_schema(5)


@pytest.mark.parametrize("major", [6, 7])
def test_negated_enum_matchers_keep_their_negation(major: int) -> None:
    """defconf's `connection-nat-state=!dstnat` is not `dstnat`: dropping the `!` made the two compare equal
    and the lab's export/import turn the defconf forward drop into its opposite."""
    from ikefleet.routeros.schema import normalize_value

    menu = load_schema(major).menu("/ip firewall filter")
    assert normalize_value(menu.field("connection-nat-state"), "!dstnat") == "!dstnat"
    assert normalize_value(menu.field("connection-state"), "!established,related") == "!established,related"
    assert normalize_value(menu.field("connection-state"), "new") == "new"
