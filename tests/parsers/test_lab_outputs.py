"""The parsers read what the lab prints: a hub with two branches (the fabric tests' seed), every command
the verification step gathers, at 80 columns and at netmiko's width, compared with the lab's own state.

This ties the two ends of the contract: the lab prints the real v6 layouts, the parsers read them.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ikefleet.lab import fabric
from ikefleet.lab.clock import LabClock
from ikefleet.lab.engine import Session
from ikefleet.lab.router import Router
from ikefleet.parsers import parser_for, stable, volatile_fields

# The lab's routers and CA and these tests read one clock, held at the moment the module loads.
CLOCK = LabClock.held()
NOW = CLOCK.now()


def _seed_module() -> Any:
    """The lab tests' seed builder (tests/lab/test_fabric_seed.py), loaded by path."""
    name = "_ikefleet_lab_fabric_seed"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "lab" / "test_fabric_seed.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def routers(tmp_path_factory: pytest.TempPathFactory) -> list[Router]:
    lab = _seed_module().build(tmp_path_factory.mktemp("lab"), branches=2, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    return [lab.hub, lab.branches[0]]


# command printed -> (menu holding the truth, RouterOS fields compared item by item)
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "/ip ipsec installed-sa print",
        "/ip ipsec installed-sa",
        ("spi", "src-address", "dst-address", "state"),
    ),
    (
        "/ip ipsec installed-sa print detail",
        "/ip ipsec installed-sa",
        ("spi", "enc-key-size", "auth-algorithm"),
    ),
    (
        "/ip ipsec active-peers print",
        "/ip ipsec active-peers",
        ("id", "state", "remote-address", "ph2-total"),
    ),
    (
        "/ip ipsec active-peers print detail",
        "/ip ipsec active-peers",
        ("id", "local-address", "dynamic-address"),
    ),
    (
        "/ip ipsec policy print detail",
        "/ip ipsec policy",
        ("src-address", "dst-address", "ph2-state", "proposal"),
    ),
    ("/ip ipsec peer print", "/ip ipsec peer", ("name", "local-address", "exchange-mode", "profile")),
    ("/ip ipsec identity print", "/ip ipsec identity", ("peer", "auth-method", "certificate", "mode-config")),
    ("/ip ipsec profile print", "/ip ipsec profile", ("name", "hash-algorithm", "dh-group")),
    ("/ip ipsec proposal print", "/ip ipsec proposal", ("name", "auth-algorithms", "pfs-group")),
    ("/certificate print detail", "/certificate", ("name", "common-name", "fingerprint", "key-usage")),
    ("/interface eoip print", "/interface eoip", ("name", "local-address", "remote-address", "tunnel-id")),
    (
        "/routing ospf neighbor print",
        "/routing ospf neighbor",
        ("router-id", "address", "interface", "state"),
    ),
    ("/routing bfd neighbor print detail", "/routing bfd neighbor", ("address", "interface", "state")),
    ("/ip route print", "/ip route", ("dst-address", "distance")),
    ("/ip route print detail", "/ip route", ("dst-address", "gateway", "ospf-type")),
    ("/ip address print", "/ip address", ("address", "network", "interface")),
]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


@pytest.mark.parametrize("width", [80, 4098])
@pytest.mark.parametrize(("command", "menu", "fields"), CASES, ids=[c[0] for c in CASES])
def test_parsed_records_match_the_lab_state(
    routers: list[Router], width: int, command: str, menu: str, fields: tuple[str, ...]
) -> None:
    parser = parser_for(command)
    assert parser is not None
    for router in routers:
        records = parser(Session(router, "admin", width=width).execute(command))
        items = router.config.items(menu)
        assert len(records) == len(items), (router.spec.name, command)
        for record, item in zip(records, items, strict=True):
            for field in fields:
                if field in item.values:
                    name = field.replace("-", "_")
                    assert _as_text(record.get(name)) == item.values[field], (router.spec.name, field)


def test_flags_decode_to_the_lab_status(routers: list[Router]) -> None:
    hub, branch = routers
    for router, responder in ((hub, True), (branch, False)):
        session = Session(router, "admin", width=80)
        peers = parser_for("/ip ipsec active-peers print")(session.execute("/ip ipsec active-peers print"))
        assert peers and all(p["responder"] is responder for p in peers)
        sas = parser_for("/ip ipsec installed-sa print")(session.execute("/ip ipsec installed-sa print"))
        assert sas and all(sa["esp"] and not sa["ah"] for sa in sas)
        routes = parser_for("/ip route print")(session.execute("/ip route print"))
        ospf = {r["dst_address"] for r in routes if r["ospf"]}
        assert ospf == {
            i.values["dst-address"] for i in router.config.items("/ip route") if i.status.get("ospf") == "yes"
        }


def test_wrapped_table_cell_is_one_value(routers: list[Router]) -> None:
    hub = routers[0]
    interfaces = parser_for("/interface print")(Session(hub, "admin", width=80).execute("/interface print"))
    eoip = [i for i in interfaces if i["name"].startswith("EoIP")]
    assert eoip and all(i["type"] == "eoip-tunnel" for i in eoip)


def test_settings_menus(routers: list[Router]) -> None:
    hub = routers[0]
    session = Session(hub, "admin", width=80)
    (resource,) = parser_for("/system resource print")(session.execute("/system resource print"))
    assert resource["board_name"] == hub.spec.model and resource["total_memory"] > resource["free_memory"]
    (identity,) = parser_for("/system identity print")(session.execute("/system identity print"))
    assert identity["name"] == session.identity
    session.execute("/system identity set name=hub-parsed")
    assert parser_for("/system identity print")(session.execute("/system identity print")) == [
        {"name": "hub-parsed"}
    ]
    (clock,) = parser_for("/system clock print")(session.execute("/system clock print"))
    assert clock["date"] and ":" in clock["time"]
    (ntp,) = parser_for("/system ntp client print")(session.execute("/system ntp client print"))
    assert ntp["enabled"] in (True, False)


@pytest.mark.parametrize(
    "command",
    [
        "/ip ipsec active-peers print detail",
        "/ip ipsec installed-sa print detail",
        "/routing ospf neighbor print",
        "/routing bfd neighbor print detail",
    ],
)
def test_time_changes_only_volatile_fields(tmp_path: Path, command: str) -> None:
    lab = _seed_module().build(tmp_path, branches=1, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    branch = lab.branches[0]
    parser = parser_for(command)
    before = parser(Session(branch, "admin").execute(command))
    fabric.refresh(branch, NOW + timedelta(minutes=25))  # ages sessions, rekeys the SAs (24m soft lifetime)
    after = parser(Session(branch, "admin").execute(command))
    assert before and before != after
    assert stable(before, command) == stable(after, command)
    assert volatile_fields(command) >= {"index", "object_id"}
