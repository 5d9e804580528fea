"""Rendered RouterOS 6.49 scripts: the seed's lines for R1/R2 (modulo names), ownership comments, quoting."""

from __future__ import annotations

import argparse
import re
import shlex
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from fleet_factory import branch, hub, write_inventory
from hypothesis import given, settings
from hypothesis import strategies as st

from ikefleet import intent
from ikefleet.cli import render as render_cli
from ikefleet.intent import (
    OWNER,
    ExportLines,
    intended_config,
    intended_lines,
    render_host,
    ros_args,
)
from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan
from ikefleet.routeros.quoting import quote
from ikefleet.routeros.schema import load_rules, load_schema, normalize_value
from ikefleet.routeros.script import Command, parse_commands

DATA = Path(__file__).parent / "data"
# tests/data/seed_R2.txt and seed_R1.txt: the seed's commands for R2 (initiator) and R1 (responder),
# verbatim but for the names ikefleet gives: IKEv2/SHA256 come from the seed defaults in fleet_factory;
# EoIP-Tunnel -> eoip-hub / eoip-R2; peer server -> hub, local -> branches; mode-config client -> R2;
# $certclient -> R2-client, $certserver -> hub-server; 1.1.1.1 -> 203.0.113.1;
# `copy-from=[find where interface=X]` -> interface=X.
SEED_R2 = (DATA / "seed_R2.txt").read_text()
SEED_R1 = (DATA / "seed_R1.txt").read_text()


# RouterOS prints the seed's typed values in its own form (export): durations compacted, peer address /32.
EXPORT_FORM = {
    ("lifetime", "00:30:00"): "30m",
    ("lifetime", "12:00:00"): "12h",
    ("dpd-interval", "15"): "15s",
    ("address", "203.0.113.1"): "203.0.113.1/32",  # only the branch's peer points at the hub's WAN
}

# The seed asks for the router's masquerade to carry ipsec-policy=out,none; the masquerade is the factory's
# (or the operator's), so ikefleet keeps IPsec traffic out of it with its own srcnat accept rule instead.
OWN_FORM = {
    "/ip firewall nat add action=masquerade chain=srcnat ipsec-policy=out,none":
        "/ip firewall nat add action=accept chain=srcnat ipsec-policy=out,ipsec",
}


def seed_lines(text: str) -> list[Command]:
    lines = []
    for number, raw in enumerate(text.strip().splitlines(), start=1):
        raw = OWN_FORM.get(raw, raw)
        match = re.match(r"^(/[a-z -]+?) (add|set) (.*)$", raw)
        assert match, raw
        path, command, rest = match.groups()
        args = dict(word.partition("=")[::2] for word in shlex.split(rest))
        lines.append(Command(number, path, command, args=args))
    return lines


def covers(rendered: Command, seed: Command) -> bool:
    if (rendered.path, rendered.verb) != (seed.path, seed.verb):
        return False
    for key, value in seed.args.items():
        if rendered.args.get(key) != EXPORT_FORM.get((key, value), value):
            return False
    return True


@pytest.fixture
def seed_fleet(tmp_path: Path):  # type: ignore[no-untyped-def]
    fleet = load_inventory(write_inventory(tmp_path))
    return fleet, build_plan(fleet)


@pytest.mark.parametrize(("host", "seed"), [("R2", SEED_R2), ("R1", SEED_R1)])
def test_rendered_script_contains_the_seed_lines(seed_fleet, host: str, seed: str) -> None:  # type: ignore[no-untyped-def]
    lines = intended_lines(*seed_fleet, host)
    missing = [s for s in seed_lines(seed) if not any(covers(r, s) for r in lines)]
    assert missing == []


def test_branch_script_exact_lines(seed_fleet) -> None:  # type: ignore[no-untyped-def]
    text = render_host(*seed_fleet, "R2").splitlines()
    expected = [
        "/interface eoip",
        "add comment=ikefleet local-address=10.0.0.2 name=eoip-hub remote-address=10.0.0.1 tunnel-id=1",
        "/ip ipsec proposal",
        "add auth-algorithms=sha256 enc-algorithms=aes-256-cbc lifetime=30m name=SHA256 pfs-group=modp4096",
        "add address=172.16.0.2/30 comment=ikefleet interface=eoip-hub network=172.16.0.0",
        "set [ find default=yes ] redistribute-connected=as-type-1 router-id=192.168.2.1",
        "add action=accept chain=srcnat comment=ikefleet ipsec-policy=out,ipsec",
    ]
    for line in expected:
        assert line in text


def test_every_managed_item_is_marked_where_the_menu_has_comments(seed_fleet) -> None:  # type: ignore[no-untyped-def]
    for host in ("R1", "R2"):
        for line in intended_lines(*seed_fleet, host):
            if line.verb != "add":
                continue
            if line.path in load_rules().unmarked:
                assert "comment" not in line.args, line
            else:
                assert line.args.get("comment") == OWNER, line


def test_no_certificate_creation(seed_fleet) -> None:  # type: ignore[no-untyped-def]
    for host in ("R1", "R2"):
        lines = intended_lines(*seed_fleet, host)
        certificate_menus = [line.path for line in lines if line.path.startswith("/certificate")]
        assert certificate_menus == ["/certificate settings"]
        assert not any("key-size" in line.args or "passphrase" in line.args for line in lines)


def test_arguments_sorted_like_export(seed_fleet) -> None:  # type: ignore[no-untyped-def]
    for line in intended_lines(*seed_fleet, "R1"):
        assert list(line.args) == sorted(line.args)


def test_hub_has_one_identity_mode_config_tunnel_and_ospf_interface_per_branch(tmp_path: Path) -> None:
    hosts = {"R1": hub(), "R2": branch(1), "R5": branch(4)}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts))
    lines = intended_lines(fleet, build_plan(fleet), "R1")

    def values(path: str, key: str) -> list[str]:
        return [line.args[key] for line in lines if line.path == path and key in line.args]

    assert values("/ip ipsec identity", "remote-certificate") == ["R2-client", "R5-client"]
    assert values("/ip ipsec mode-config", "address") == ["10.0.0.2", "10.0.0.5"]
    assert values("/interface eoip", "tunnel-id") == ["1", "4"]
    assert values("/routing ospf interface", "interface") == ["eoip-R2", "eoip-R5", "bridge"]
    assert values("/ip ipsec peer", "name") == ["branches"]


def test_branch_script_unchanged_when_another_branch_is_added(tmp_path: Path) -> None:
    small = load_inventory(write_inventory(tmp_path / "a", hosts={"R1": hub(), "R2": branch(1)}))
    hosts = {"R1": hub(), "R2": branch(1), "R3": branch(2)}
    large = load_inventory(write_inventory(tmp_path / "b", hosts=hosts))
    assert render_host(small, build_plan(small), "R2") == render_host(large, build_plan(large), "R2")
    assert render_host(small, build_plan(small), "R1") != render_host(large, build_plan(large), "R1")


def test_ntp_addresses_use_primary_and_secondary(tmp_path: Path) -> None:
    data = {"ntp_servers": ["192.0.2.123", "time.example"]}
    fleet = load_inventory(write_inventory(tmp_path, defaults_data=data))
    lines = intended_lines(fleet, build_plan(fleet), "R2")
    (ntp,) = [line for line in lines if line.path == "/system ntp client"]
    assert ntp.args == {"enabled": "yes", "primary-ntp": "192.0.2.123", "server-dns-names": "time.example"}


@pytest.mark.parametrize(("value", "printed"), [("ether1", "ether1"), ("WAN port", '"WAN port"'),
                                                ('say "hi"', '"say \\"hi\\""'), ("$x", '"\\$x"'), ("", '""')])
def test_values_quoted_like_export(value: str, printed: str) -> None:
    assert ros_args({"name": value}, owned=False) == f"name={printed}"


def test_ros_args_sorted_with_owner_and_round_trips() -> None:
    text = ros_args({"name": "a b", "action": "accept", "skip": None})
    assert text == 'action=accept comment=ikefleet name="a b"'
    (line,) = parse_commands(f"/ip firewall filter\nadd {text}\n")
    assert line.args == {"action": "accept", "comment": "ikefleet", "name": "a b"}


ARG_VALUES = st.one_of(
    st.none(), st.text(max_size=6), st.integers(-3, 300), st.booleans(),
    st.builds(IPv4Address, st.integers(0, 2**32 - 1)),
    st.builds(lambda n, p: IPv4Network((n, p), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda n, p: IPv4Interface((n, p)), st.integers(0, 2**32 - 1), st.integers(0, 32)),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(args=st.dictionaries(st.sampled_from(["name", "comment", "address", "action", "x"]), ARG_VALUES,
                            max_size=5), owned=st.booleans(), again=st.booleans())  # fmt: skip
def test_ros_args_remembered_is_the_plain_formula(args: dict[str, object], owned: bool, again: bool) -> None:
    """ros_args remembers its text by the printed values: the text is what the plain formula gives, the
    first time or after values equal to these but of another type (True and 1, an address and its text)."""
    values = {k: v for k, v in args.items() if v is not None}
    if owned:
        values["comment"] = OWNER
    plain = " ".join(f"{k}={quote(str(v))}" for k, v in sorted(values.items()))
    if again:
        ros_args({k: int(v) if isinstance(v, bool) else v for k, v in args.items()}, owned)
        ros_args({k: v == 1 if type(v) is int and v in (0, 1) else v for k, v in args.items()}, owned)
    assert ros_args(args, owned) == plain


def test_the_templates_export_lines_mark_what_they_add_and_never_what_they_set() -> None:
    line = ExportLines.add({"name": "a b", "action": "accept"})
    assert line == 'add action=accept comment=ikefleet name="a b"'
    assert ExportLines.add({"name": "p", "skip": None}, owned=False) == "add name=p"
    assert ExportLines.set({"crl-use": "yes"}) == "set crl-use=yes"
    assert ExportLines.set({"a": 1}, selector="[ find default=yes ]") == "set [ find default=yes ] a=1"
    assert "export" in intent.environment().globals


def test_render_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_inventory(tmp_path))
    assert render_cli.run(argparse.Namespace(config=config, host="R2", against=None)) == 0
    fleet = load_inventory(config)
    assert capsys.readouterr().out == render_host(fleet, build_plan(fleet), "R2")
    assert render_cli.run(argparse.Namespace(config=config, host="R9", against=None)) == 2
    assert "R9" in capsys.readouterr().err


def test_rendered_lines_conform_to_the_v6_menu_schema(tmp_path: Path) -> None:
    hosts = {"R1": hub(), "R2": branch(1), "R3": branch(2)}
    data = {"ntp_servers": ["192.0.2.123", "pool.ntp.org"]}
    fleet = load_inventory(write_inventory(tmp_path, hosts=hosts, defaults_data=data))
    schema = load_schema(6)
    for host in ("R1", "R2"):
        for line in intended_lines(fleet, build_plan(fleet), host):
            menu = schema.menu(line.path)
            for key, value in line.args.items():
                if key != "comment":
                    normalize_value(menu.field(key), value)  # raises ValueProblem like RouterOS would


def test_intended_config_as_items(seed_fleet) -> None:  # type: ignore[no-untyped-def]
    config = intended_config(*seed_fleet, "R1")
    (instance,) = config.items("/routing ospf instance")
    assert instance.default and instance.values["router-id"] == "192.168.1.1"
    (bridge_address,) = [i for i in config.items("/ip address") if i.values["interface"] == "ipsec"]
    assert bridge_address.values["address"] == "10.0.0.1/32"  # stored form; export prints it bare
    assert bridge_address.comment == OWNER and "comment" not in bridge_address.values
    (proposal,) = config.items("/ip ipsec proposal")
    assert proposal.comment == "" and proposal.values["lifetime"] == "30m"
    assert len(config.items("/ip ipsec identity")) == 1


def test_no_ntp_section_without_servers(tmp_path: Path) -> None:
    fleet = load_inventory(write_inventory(tmp_path, defaults_data={"ntp_servers": []}))
    assert "/system ntp client" not in render_host(fleet, build_plan(fleet), "R2")


def test_the_ntp_settings_are_worked_out_once_for_every_hosts_script(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host's script asks them; telling a name from an address parses each server (and fails on a
    name): once per list of servers, and each caller still gets its own dict."""
    from ikefleet import intent

    parsed: list[str] = []
    real = intent.parse_host_address

    def counted(text: str) -> object:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(intent, "parse_host_address", counted)
    servers = ("192.0.2.123", "ntp.test.example", "198.51.100.7", "192.0.2.124")
    first = intent.ntp_settings(servers)
    assert first == {"enabled": "yes", "primary-ntp": "192.0.2.123", "secondary-ntp": "198.51.100.7",
                     "server-dns-names": "ntp.test.example"}
    first["enabled"] = "no"
    parsed.clear()
    assert [intent.ntp_settings(servers) for _ in range(3)] == [{**first, "enabled": "yes"}] * 3
    assert parsed == []
