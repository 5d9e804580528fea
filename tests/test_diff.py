"""Remediation and rollback: round trips on the seed's configurations and random perturbations, idempotence,
ownership, dependency order, ordered menus and secret masking."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from fleet_factory import branch, hub, write_inventory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.diff import MASK, Remediation, future, managed_part, normalized, remediate, restore
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.plan import build_plan
from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script

SCHEMA = load_schema(6)

USER_CONFIG = """
/interface bridge
add name=bridge
/interface list
add name=WAN
/ip address
add address=192.168.1.1/24 interface=bridge network=192.168.1.0
add address=203.0.113.1/24 interface=ether1 network=203.0.113.0
/ip firewall filter
add action=accept chain=input connection-state=established,related
add action=drop chain=input in-interface-list=WAN
/ip ipsec peer
add address=198.51.100.7/32 name=legacy secret=Legacy-PSK-1
/ip ipsec profile
set [ find default=yes ] dpd-interval=30s
/routing ospf network
add area=backbone network=10.99.0.0/24
"""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fleet")
    fleet = load_inventory(write_inventory(root))
    plan = build_plan(fleet)
    scripts = {host: render_host(fleet, plan, host) for host in ("R1", "R2")}
    hosts = {"R1": hub(), **{f"R{n}": branch(n) for n in (2, 3, 4)}}
    big = load_inventory(write_inventory(root / "hub3", hosts=hosts))
    scripts["hub3"] = render_host(big, build_plan(big), "R1")  # identities share the hub peer as key
    return scripts


def hub_script(numbers: list[int], root: Path) -> Config:
    """The hub's intended configuration for branches R<n>."""
    hosts = {"R1": hub(), **{f"R{n}": branch(n) for n in numbers}}
    fleet = load_inventory(write_inventory(root, hosts=hosts))
    return parse_script(render_host(fleet, build_plan(fleet), "R1"))


def same(a: Config, b: Config) -> bool:
    return normalized(a, SCHEMA) == normalized(b, SCHEMA)


def clone(config: Config) -> Config:
    return Config.from_json(copy.deepcopy(config.to_json()))


def converged(current: Config, intended: Config) -> bool:
    return not remediate(current, intended, SCHEMA)


def unowned(config: Config, intended: Config) -> dict[str, list[object]]:
    """Items neither marked nor matching an intended item's name: what ikefleet must never touch."""
    names = {(p, i.values.get("name")) for p, items in intended.menus.items() for i in items}
    rest = Config()
    for path, items in config.menus.items():
        for item in items:
            ours = item.comment == "ikefleet" or (path, item.values.get("name")) in names
            if not ours and not item.default:
                rest.items(path).append(item)
    return normalized(rest, SCHEMA)


@pytest.mark.parametrize("host", ["R1", "R2"])
@pytest.mark.parametrize("start", ["empty", "user"])
def test_seed_round_trip(scripts: dict[str, str], host: str, start: str) -> None:
    intended = parse_script(scripts[host])
    current = Config() if start == "empty" else parse_script(USER_CONFIG)
    rem = remediate(current, intended, SCHEMA)
    after = future(current, rem)
    assert converged(after, intended)
    assert unowned(after, intended) == unowned(current, intended)
    assert same(future(after, rem.inverse()), current)
    assert not any(c.startswith("/ip ipsec peer remove") for c in rem.commands)  # `legacy` is not ours


@pytest.mark.parametrize("host", ["R1", "R2"])
def test_remediating_the_intent_against_itself_is_empty(scripts: dict[str, str], host: str) -> None:
    intended = parse_script(scripts[host])
    rem = remediate(intended, intended, SCHEMA)
    assert not rem and rem.commands == [] and rem.rollback == [] and rem.diff() == []


def test_export_differing_only_in_defaults_and_forms_is_converged(scripts: dict[str, str]) -> None:
    """The router prints defaults, durations and booleans its own way and may order keys differently."""
    text = scripts["R2"]
    text = text.replace("lifetime=30m", "lifetime=00:30:00").replace("lifetime=12h", "lifetime=12:00:00")
    text = text.replace("passive=no ", "").replace("send-initial-contact=yes", "send-initial-contact=true")
    text = text.replace(
        "add address=203.0.113.1/32 comment=ikefleet",  # + a field the schema lacks
        "add comment=ikefleet address=203.0.113.1/32 exchange-mode=ike2 x-new-field=5",
    )
    router = parse_script(text + "/ip ipsec profile\nset [ find default=yes ] lifetime=1d\n")
    assert converged(router, parse_script(scripts["R2"]))


def test_only_differing_fields_are_set_and_rolled_back(scripts: dict[str, str]) -> None:
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    peer = next(current.find("/ip ipsec peer", name="hub"))
    peer.values["address"] = "192.0.2.99/32"
    profile = next(current.find("/ip ipsec profile", name="SHA256"))
    profile.values["dpd-interval"] = "2m"
    rem = remediate(current, intended, SCHEMA)
    assert rem.commands == [
        '/ip ipsec profile set [ find where name="SHA256" ] dpd-interval=15s',
        '/ip ipsec peer set [ find where name="hub" ] address=203.0.113.1/32',
    ]
    assert rem.rollback == [
        '/ip ipsec profile set [ find where name="SHA256" ] dpd-interval=2m',
        '/ip ipsec peer set [ find where name="hub" ] address=192.0.2.99/32',
    ]
    assert "~ /ip ipsec peer [name=hub] address: 192.0.2.99/32 -> 203.0.113.1/32" in rem.diff()
    assert same(future(future(current, rem), rem.inverse()), current)


def test_router_assigned_fields_are_left_alone(scripts: dict[str, str]) -> None:
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    eoip = next(current.find("/interface eoip", name="eoip-hub"))
    eoip.values["mac-address"] = "02:AA:BB:CC:DD:EE"  # the router picks one for every tunnel
    assert converged(current, intended)
    eoip.values["keepalive"] = "5s,3"  # known default (10s,10): put back
    assert remediate(current, intended, SCHEMA).commands == [
        '/interface eoip set [ find where name="eoip-hub" ] keepalive=10s,10'
    ]


def test_extra_matchers_on_owned_rules_are_removed(scripts: dict[str, str]) -> None:
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    current.items("/ip firewall filter")[1].values["src-address-list"] = "trusted"  # would break IPsec
    rem = remediate(current, intended, SCHEMA)
    assert rem.commands == [
        '/ip firewall filter unset [ find where chain="input" and action="accept" and '
        'protocol="ipsec-esp" and src-address="" and dst-address="" and dst-port="" '
        'and in-interface-list="WAN" and out-interface-list="" and '
        'src-address-list="trusted" and comment="ikefleet" ] src-address-list'
    ]
    assert rem.rollback[0].endswith("src-address-list=trusted")
    assert converged(future(current, rem), intended)


def test_owned_items_no_longer_intended_are_removed_in_reverse_dependency_order() -> None:
    current = parse_script(
        "/ip ipsec policy group\nadd name=old\n"
        "/ip ipsec peer\nadd comment=ikefleet name=old-peer address=192.0.2.9/32\n"
        "/ip ipsec identity\nadd comment=ikefleet peer=old-peer secret=Old-Secret-99\n"
        "/ip address\nadd address=10.0.0.1/30 comment=ikefleet interface=eoip-x network=10.0.0.0\n"
        "/interface eoip\nadd comment=ikefleet name=eoip-x remote-address=192.0.2.9 tunnel-id=7\n"
    )
    rem = remediate(current, Config(), SCHEMA)
    assert rem.commands == [
        '/ip address remove [ find where address=10.0.0.1/30 and interface="eoip-x" and comment="ikefleet" ]',
        '/ip ipsec identity remove [ find where peer="old-peer" and comment="ikefleet" ]',
        '/ip ipsec peer remove [ find where name="old-peer" and comment="ikefleet" ]',
        '/interface eoip remove [ find where name="eoip-x" and comment="ikefleet" ]',
    ]  # removes always name the marker; the policy group carries none: not ours to remove
    assert rem.rollback[0].startswith("/interface eoip add comment=ikefleet name=eoip-x")
    assert "secret=Old-Secret-99" in rem.rollback[2]
    assert all("Old-Secret-99" not in line for line in rem.diff())
    assert same(future(future(current, rem), rem.inverse()), current)


def test_adds_follow_dependencies(scripts: dict[str, str]) -> None:
    rem = remediate(Config(), parse_script(scripts["R1"]), SCHEMA)
    menus = [c.split(" add ")[0] for c in rem.commands if " add " in c]
    order = [
        "/ip ipsec policy group",
        "/ip ipsec proposal",
        "/ip ipsec profile",
        "/ip ipsec peer",
        "/ip ipsec identity",
        "/ip ipsec policy",
    ]
    assert [menus.index(m) for m in order] == sorted(menus.index(m) for m in order)
    assert menus.index("/interface bridge") < menus.index("/ip address")
    assert menus.index("/ip address") < menus.index("/routing ospf network")
    assert menus.index("/interface eoip") < menus.index("/routing ospf interface")
    assert rem.rollback[-1].startswith("/interface bridge remove")


def test_firewall_rules_go_before_the_users_rules(scripts: dict[str, str]) -> None:
    current = parse_script(USER_CONFIG)
    intended = parse_script(scripts["R1"])
    rem = remediate(current, intended, SCHEMA)
    adds = [c for c in rem.commands if c.startswith("/ip firewall filter add")]
    assert len(adds) == 2
    anchor = (
        'place-before=[ find where chain="input" and action="accept" and protocol="" and '
        'src-address="" and dst-address="" and dst-port="" and in-interface-list="" and '
        'out-interface-list="" and connection-state="established,related" ]'
    )
    assert all(c.endswith(anchor) for c in adds)
    rules = future(current, rem).items("/ip firewall filter")
    assert [r.comment for r in rules] == ["ikefleet", "ikefleet", "", ""]
    assert [r.values.get("protocol") for r in rules[:2]] == ["udp", "ipsec-esp"]


def test_new_rule_goes_before_the_next_intended_rule_that_exists(scripts: dict[str, str]) -> None:
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    del current.items("/routing filter")[0]  # the first ospf-out accept is gone
    rem = remediate(current, intended, SCHEMA)
    assert len(rem.commands) == 1 and "place-before=" in rem.commands[0]
    after = future(current, rem)
    assert normalized(after, SCHEMA)["/routing filter"] == normalized(intended, SCHEMA)["/routing filter"]


def test_default_items_only_get_the_intended_fields(scripts: dict[str, str]) -> None:
    current = parse_script(
        "/routing ospf instance\nset [ find default=yes ] distribute-default=always-as-type-1\n"
    )
    rem = remediate(current, parse_script(scripts["R2"]), SCHEMA)
    sets = [c for c in rem.commands if c.startswith("/routing ospf instance")]
    assert sets == [
        "/routing ospf instance set [ find default=yes ] redistribute-connected=as-type-1 "
        "router-id=192.168.2.1"
    ]
    assert "/routing ospf instance set [ find default=yes ] redistribute-connected=no router-id=0.0.0.0" in (
        rem.rollback
    )


def test_dropping_a_branch_touches_only_its_items_on_the_hub(tmp_path: Path) -> None:
    """Hub identities share their key (the hub peer): the other branches' identities must not shift."""
    before = hub_script([2, 3, 4], tmp_path / "a")
    after = hub_script([2, 4], tmp_path / "b")
    rem = remediate(future(Config(), remediate(Config(), before, SCHEMA)), after, SCHEMA)
    assert rem.commands and all(" remove " in c for c in rem.commands)
    assert all("R3" in c or "eoip-R3" in c or "172.16.0.8" in c or "172.16.0.9" in c for c in rem.commands)
    assert len([c for c in rem.commands if c.startswith("/ip ipsec identity")]) == 1


def test_dropping_a_branch_on_the_lab_hub(tmp_path: Path) -> None:
    _, session = _lab_router(tmp_path, "R1")
    _run(session, [f"/certificate add name=R{n}-client common-name=R{n}-client" for n in (3, 4)])
    initial = parse_script(session.execute("/export terse"))
    _run(session, remediate(initial, hub_script([2, 3, 4], tmp_path / "a"), SCHEMA).commands)
    full = parse_script(session.execute("/export terse"))
    smaller = hub_script([2, 4], tmp_path / "b")
    rem = remediate(full, smaller, SCHEMA)
    _run(session, rem.commands)
    after = parse_script(session.execute("/export terse"))
    assert converged(after, smaller)
    remaining = [i.values["remote-certificate"] for i in after.items("/ip ipsec identity")]
    assert remaining == ["R2-client", "R4-client"]
    _run(session, rem.rollback)
    assert same(parse_script(session.execute("/export terse")), full)


def test_set_by_print_number_only_touches_that_item() -> None:
    current = parse_script(
        "/ip ipsec policy\nset 0 disabled=yes\nadd dst-address=10.1.0.0/24 src-address=10.2.0.0/24\n"
    )
    intended = parse_script("/ip ipsec policy\nset 0 disabled=no\n")
    rem = remediate(current, intended, SCHEMA)
    assert rem.commands == ["/ip ipsec policy set 0 disabled=no"] and rem.rollback == [
        "/ip ipsec policy set 0 disabled=yes"
    ]
    after = future(current, rem)
    assert [i.disabled for i in after.items("/ip ipsec policy")] == [False, False]
    assert same(future(after, rem.inverse()), current)


def test_uncommented_item_matching_the_intent_is_adopted(scripts: dict[str, str]) -> None:
    """An item nobody labelled, with the intent's unique name (what a v6->v7 upgrade converts ikefleet's
    own items into), is marked rather than duplicated: RouterOS would refuse a second `name=hub`."""
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    next(current.find("/ip ipsec peer", name="hub")).comment = ""
    rem = remediate(current, intended, SCHEMA)
    assert rem.commands == ['/ip ipsec peer set [ find where name="hub" ] comment=ikefleet']
    assert rem.conflicts == []


def test_an_item_with_someone_elses_comment_is_never_taken_over(scripts: dict[str, str]) -> None:
    """Its comment says whose it is: no set, no remove; the clash on the unique name is reported."""
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    next(current.find("/ip ipsec peer", name="hub")).comment = "set up by hand"
    rem = remediate(current, intended, SCHEMA)
    assert [c for c in rem.commands if "peer" in c] == []
    assert len(rem.conflicts) == 1
    assert rem.conflicts[0].startswith("/ip ipsec peer [name=hub]: the router has an item ikefleet did not")
    assert 'comment="set up by hand"' in rem.conflicts[0]
    assert [c for c in rem.diff() if "peer" in c] == [  # still missing: never reported as in place
        "+ /ip ipsec peer [name=hub] address=203.0.113.1/32 comment=ikefleet exchange-mode=ike2 name=hub "
        "passive=no profile=SHA256 send-initial-contact=yes"
    ]


def test_a_defconf_masquerade_keeps_its_comment_and_fields() -> None:
    """The real defconf masquerade (6.46 export) is never matched to an intended masquerade: ikefleet adds its
    own rules above it and leaves it as it is."""
    intended = parse_script(
        "/ip firewall nat\nadd action=accept chain=srcnat comment=ikefleet ipsec-policy=out,ipsec\n"
        "add action=masquerade chain=srcnat comment=ikefleet ipsec-policy=out,none out-interface-list=WAN\n"
    )
    current = parse_script(
        '/ip firewall nat\nadd action=masquerade chain=srcnat comment="defconf: masquerade" \\\n'
        "    ipsec-policy=out,none out-interface-list=WAN\n"
    )
    rem = remediate(current, intended, SCHEMA)
    defconf = (
        '[ find where chain="srcnat" and action="masquerade" and src-address="" and dst-address="" and '
        'out-interface="" and out-interface-list="WAN" and ipsec-policy="out,none" and '
        'comment="defconf: masquerade" ]'
    )
    assert rem.commands == [
        "/ip firewall nat add action=accept chain=srcnat comment=ikefleet ipsec-policy=out,ipsec "
        f"place-before={defconf}",
        "/ip firewall nat add action=masquerade chain=srcnat comment=ikefleet ipsec-policy=out,none "
        f"out-interface-list=WAN place-before={defconf}",
    ]
    after = future(current, rem)
    comments = [i.comment for i in after.items("/ip firewall nat")]
    assert comments == ["ikefleet", "ikefleet", "defconf: masquerade"]


def test_a_masquerade_an_older_version_took_over_stays(scripts: dict[str, str]) -> None:
    """Older versions marked the router's masquerade ikefleet's; the intent no longer has one, and removing
    it would cut the LAN off: it stays."""
    intended = parse_script(scripts["R2"])
    current = future(Config(), remediate(Config(), intended, SCHEMA))
    current.add("/ip firewall nat", {"action": "masquerade", "chain": "srcnat", "ipsec-policy": "out,none",
                                     "out-interface-list": "WAN"}, comment="ikefleet")  # fmt: skip
    assert remediate(current, intended, SCHEMA).commands == []


def test_secrets_masked_in_the_diff_but_present_in_commands() -> None:
    tunnel = "/interface eoip\nadd comment=ikefleet ipsec-secret={} name=e remote-address=192.0.2.1"
    current = parse_script(tunnel.format("Old-Key-1"))
    intended = parse_script(
        tunnel.format("New-Key-2") + "\n/ip ipsec identity\nadd comment=ikefleet peer=p secret=S3cr3t-X\n"
    )
    rem = remediate(current, intended, SCHEMA)
    text = "\n".join(rem.diff())
    assert MASK in text and "New-Key-2" not in text and "Old-Key-1" not in text and "S3cr3t-X" not in text
    assert any("ipsec-secret=New-Key-2" in c for c in rem.commands)
    assert any("ipsec-secret=Old-Key-1" in c for c in rem.rollback)
    assert any("secret=S3cr3t-X" in c for c in rem.commands)
    assert "S3cr3t-X" not in repr(rem) and "Old-Key-1" not in repr(rem)


def test_settings_unset_field_rolls_back_with_unset() -> None:
    current = parse_script("/ip ipsec peer\nadd comment=ikefleet name=p\n")
    intended = parse_script("/ip ipsec peer\nadd comment=ikefleet local-address=192.0.2.1 name=p\n")
    rem = remediate(current, intended, SCHEMA)
    assert rem.rollback == ['/ip ipsec peer unset [ find where name="p" ] local-address']
    assert same(future(future(current, rem), rem.inverse()), current)


def test_removing_an_owned_rule_never_reaches_a_user_rule_with_the_same_key() -> None:
    current = parse_script(
        "/routing filter\nadd action=discard chain=ospf-out\n"
        "add action=discard chain=ospf-out comment=ikefleet\n"
    )
    rem = remediate(current, Config(), SCHEMA)
    assert rem.commands == [
        '/routing filter remove [ find where chain="ospf-out" and prefix="" and '
        'prefix-length="" and action="discard" and comment="ikefleet" ]'
    ]
    assert [(i.comment, i.values) for i in future(current, rem).items("/routing filter")] == [
        ("", {"action": "discard", "chain": "ospf-out"})
    ]


def test_names_with_quotes_and_spaces_are_escaped_in_selectors() -> None:
    current = parse_script('/ip ipsec peer\nadd comment=ikefleet name="my \\"odd\\" peer" passive=yes\n')
    assert next(iter(current.items("/ip ipsec peer"))).values["name"] == 'my "odd" peer'
    intended = parse_script('/ip ipsec peer\nadd comment=ikefleet name="my \\"odd\\" peer"\n')
    rem = remediate(current, intended, SCHEMA)
    assert rem.commands == ['/ip ipsec peer set [ find where name="my \\"odd\\" peer" ] passive=no']
    assert same(future(current, rem), intended)


# --------------------------------------------------------------------------------------------- hypothesis


def _alter(item: Item, menu_path: str, choice: int) -> None:
    menu = SCHEMA.menu(menu_path) if SCHEMA.has_menu(menu_path) else None
    fields = [f for f in (menu.writable_fields.values() if menu else []) if f.type in ("enum", "bool", "int")]
    if not fields:
        item.disabled = not item.disabled
        return
    fld = fields[choice % len(fields)]
    if fld.type == "enum" and fld.values:
        item.values[fld.name] = fld.values[choice % len(fld.values)]
    elif fld.type == "bool":
        item.values[fld.name] = "yes" if item.values.get(fld.name, fld.default) == "no" else "no"
    else:
        item.values[fld.name] = str((fld.min or 1) + choice % 50)


KINDS = ["drop", "alter", "add-owned", "add-user", "unmark", "reorder"]
ACTIONS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 10_000)), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, host=st.sampled_from(["R1", "R2", "hub3"]))
def test_perturbed_routers_converge_and_roll_back(scripts: dict[str, str], actions: list, host: str) -> None:
    intended = parse_script(scripts[host])
    current = future(parse_script(USER_CONFIG), remediate(parse_script(USER_CONFIG), intended, SCHEMA))
    for step, (action, n) in enumerate(actions):
        paths = sorted(p for p, items in current.menus.items() if items)
        path = paths[n % len(paths)]
        items = current.items(path)
        item = items[n % len(items)]
        if action == "drop":
            items.remove(item)
        elif action == "alter":
            _alter(item, path, n)
        elif action == "add-owned":
            current.add(
                "/routing ospf network",
                {"area": "backbone", "network": f"10.{n % 250}.0.0/24"},
                comment="ikefleet",
            )
        elif action == "add-user":
            # distinct rules: identical rules cannot be told apart by any `find` (see the diff docstring)
            port = str(1000 + step)
            rule = {"chain": "forward", "action": "drop", "dst-port": port, "protocol": "tcp"}
            current.add("/ip firewall filter", rule)
        elif action == "unmark" and item.comment == "ikefleet":
            item.comment = ""
        elif action == "reorder":
            rules = current.items(("/ip firewall filter", "/routing filter")[n % 2])
            if rules:
                rules.insert(n % (len(rules) + 1), rules.pop(-1 - n % len(rules)))
    before = clone(current)
    rem = remediate(current, intended, SCHEMA)
    assert same(current, before)  # remediate does not touch its inputs
    after = future(current, rem)
    assert converged(after, intended)
    assert unowned(after, intended) == unowned(current, intended)
    for path in ("/ip firewall filter", "/routing filter"):  # intended rules in the intended order
        ours = [row for row in normalized(after, SCHEMA)[path] if row[2] == "ikefleet"]
        assert ours == normalized(intended, SCHEMA)[path]
    restored = future(after, rem.inverse())
    assert same(restored, current)
    assert isinstance(rem, Remediation)
    assert len(rem.rollback) >= len([c for c in rem.commands if " add " in c])


# --------------------------------------------------------------------------------------------- lab


def _lab_router(tmp_path: Path, host: str) -> tuple[Router, Session]:
    wan, lan = ("203.0.113.1/24", "192.168.1.0/24") if host == "R1" else ("198.51.100.2/24", "192.168.2.0/24")
    role = "responder" if host == "R1" else "initiator"
    spec = RouterSpec(host, role, "127.0.0.1", 1, "admin", "pw", wan, lan)
    router = Router(spec, tmp_path / host, config=initial_config(spec))
    session = Session(router, "admin", width=250)
    for name in ("ca", "hub-server", "R2-client"):
        assert session.execute(f"/certificate add name={name} common-name={name}") == ""
    return router, session


def _run(session: Session, commands: list[str]) -> None:
    for command in commands:
        assert session.execute(command) == "", command


@pytest.mark.parametrize("host", ["R1", "R2"])
def test_commands_run_on_the_lab_router_converge_and_roll_back(
    scripts: dict[str, str], tmp_path: Path, host: str
) -> None:
    """The real console accepts every command; the router then exports the intent; rollback restores it."""
    _, session = _lab_router(tmp_path, host)
    _run(
        session,
        [
            "/ip ipsec peer add name=legacy address=192.0.2.77/32",
            "/routing ospf network add network=10.99.0.0/24 area=backbone comment=ikefleet",
        ],
    )
    original = parse_script(session.execute("/export terse"))
    intended = parse_script(scripts[host])
    rem = remediate(original, intended, SCHEMA)
    assert any(c.startswith("/routing ospf network remove") for c in rem.commands)
    _run(session, rem.commands)
    after = parse_script(session.execute("/export terse"))
    assert converged(after, intended)
    assert same(after, future(original, rem))
    wrapped = parse_script(Session(session.router, "admin", width=80).execute("/export"))
    assert same(wrapped, after)
    _run(session, rem.rollback)
    assert same(parse_script(session.execute("/export terse")), original)


def test_reordered_rules_are_moved_back_on_the_lab_router(scripts: dict[str, str], tmp_path: Path) -> None:
    _, session = _lab_router(tmp_path, "R2")
    intended = parse_script(scripts["R2"])
    _run(session, remediate(parse_script(session.execute("/export terse")), intended, SCHEMA).commands)
    # someone moves ikefleet's UDP 500/4500 rule to the end, below the default drop rules
    _run(session, ["/ip firewall filter move [ find where dst-port=500,4500 ]"])
    moved = parse_script(session.execute("/export terse"))
    assert moved.items("/ip firewall filter")[-1].values.get("dst-port") == "500,4500"
    rem = remediate(moved, intended, SCHEMA)
    assert [c.split(" [")[0] for c in rem.commands] == ["/ip firewall filter move"]
    assert "~ /ip firewall filter" in rem.diff()[0] and "position" in rem.diff()[0]
    _run(session, rem.commands)
    after = parse_script(session.execute("/export terse"))
    assert converged(after, intended)
    ours = [r.values.get("protocol") for r in after.items("/ip firewall filter") if r.comment == "ikefleet"]
    assert ours == ["udp", "ipsec-esp"]
    _run(session, rem.rollback)
    assert normalized(parse_script(session.execute("/export terse")), SCHEMA) == normalized(moved, SCHEMA)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.sampled_from(["R1", "R2", "hub3"]), cut=st.integers(0, 200), user=st.booleans())
def test_restore_after_a_push_stopped_half_way(
    scripts: dict[str, str], host: str, cut: int, user: bool
) -> None:
    """A push fails after `cut` commands: `restore` brings everything back to the snapshot, including what
    ikefleet added without a marker (profiles, proposals) and the default items it set."""
    snapshot = parse_script(USER_CONFIG) if user else Config()
    rem = remediate(snapshot, parse_script(scripts[host]), SCHEMA)
    partial = future(snapshot, Remediation(ops=rem.ops[: cut % (len(rem.ops) + 1)], schema=SCHEMA))
    back = restore(partial, snapshot, SCHEMA)
    assert same(future(partial, back), snapshot)
    assert not restore(future(partial, back), snapshot, SCHEMA)


def test_restore_on_the_lab_router(scripts: dict[str, str], tmp_path: Path) -> None:
    _, session = _lab_router(tmp_path, "R1")
    snapshot = parse_script(session.execute("/export terse"))
    rem = remediate(snapshot, parse_script(scripts["R1"]), SCHEMA)
    _run(session, rem.commands[: len(rem.commands) // 2])
    partial = parse_script(session.execute("/export terse"))
    back = restore(partial, snapshot, SCHEMA)
    assert any(c.startswith("/ip ipsec proposal remove") for c in back.commands)  # unmarked, still undone
    _run(session, back.commands)
    assert same(parse_script(session.execute("/export terse")), snapshot)


USER_LATER = """
/ip address
add address=192.0.2.9/24 interface=bridge network=192.0.2.0
/ip ipsec peer
set [ find name=legacy ] address=198.51.100.8/32
"""


@pytest.mark.parametrize("host", ["R1", "R2"])
@pytest.mark.parametrize("user", [False, True])
def test_putting_back_a_run_touches_only_what_it_managed(
    scripts: dict[str, str], host: str, user: bool
) -> None:
    """A run converged the router; the operator changed their own items since. Converging toward
    `managed_part` of the pre-run export takes out what the run added (marked and unmarked items), brings
    back what it changed (default items' fields, an adopted item) and leaves the operator's later changes."""
    snapshot = parse_script(USER_CONFIG) if user else Config()
    intended = parse_script(scripts[host])
    after_run = future(snapshot, remediate(snapshot, intended, SCHEMA))
    later = parse_script(USER_LATER)
    operator = remediate(after_run, later, SCHEMA, owned=lambda path, item: False)  # sets and adds only
    now = future(after_run, operator)
    target = managed_part(snapshot, intended, SCHEMA)
    back = remediate(now, target, SCHEMA)
    assert back.commands
    put_back = future(now, back)
    assert not remediate(put_back, target, SCHEMA)  # the post-check: nothing left
    assert same(put_back, future(snapshot, operator))  # the pre-run router plus the operator's changes
