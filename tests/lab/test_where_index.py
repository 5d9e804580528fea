"""A `print where` that can only pass routes inside given prefixes tests only those routes
(`ikefleet.lab.where_index`): a branch's route read no longer costs the lab in proportion to the fleet,
and prints exactly what testing every route printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.lab import fabric, menus, where_index
from ikefleet.lab.engine import Session
from ikefleet.lab.fabric.items import ROUTE, add
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros.config import Item

from .test_fabric_seed import build

BRANCH_READ = "ospf and (dst-address in 192.168.1.0/24 or dst-address in 172.16.0.0/24)"
WHERES = [
    BRANCH_READ,
    "ospf",
    "dst-address in 192.168.0.0/16",
    "dst-address in 192.168.7.0/24 or dst-address in 192.168.9.0/24",
    "!(dst-address in 192.168.0.0/16)",
    "ospf and dst-address in 192.168.12.0/22 and distance=110",
    "dst-address in 192.168.3.0/24 or ospf",
    "dst-address in 0.0.0.0/0 and static",
    "dst-address in 192.168.300.0/24",  # not a prefix: nothing is inside it
]


def full_scan(router: Router, path: str, items: list[Item], *_: Any) -> list[Item]:
    """What every print did before the index: test every item."""
    return items


def reads(routers: list[Router], wheres: list[str]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for router in routers:
        session = Session(router, "admin", width=4098)
        for where in wheres:
            command = f"/ip route print detail without-paging where {where}"
            out[(router.name, where)] = session.execute(command)
    return out


def test_a_fleets_route_reads_print_what_testing_every_route_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = build(tmp_path, 20)
    fabric.recompute(lab.routers, lab.clock.now())
    indexed = reads(lab.routers, WHERES)
    assert sum(len(text.splitlines()) for text in indexed.values()) > 20 * 40  # real tables were read
    with monkeypatch.context() as patched:
        patched.setattr(where_index, "candidates", full_scan)
        assert reads(lab.routers, WHERES) == indexed


@pytest.fixture
def router(tmp_path: Path) -> Router:
    spec = RouterSpec("R2", "initiator", "127.0.0.1", 1, "admin", "pw", "198.51.100.2/24", "192.168.2.0/24")
    router = Router(spec, tmp_path, config=initial_config(spec))
    for k in range(300):  # a fleet's LANs learnt by OSPF, in the fabric's order
        add(router, ROUTE, {"dst-address": f"10.{k // 256}.{k % 256}.0/24", "gateway": "172.16.0.1",
                            "distance": "110", "ospf-metric": "20"}, "ADo")
    return router


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times an item's field is read (each `where` test of a route reads its dst-address)."""
    calls = [0]
    plain = menus.effective_value

    def counting(*args: Any) -> str | None:
        calls[0] += 1
        return plain(*args)

    monkeypatch.setattr(menus, "effective_value", counting)
    yield calls


def test_a_branch_route_read_tests_only_the_routes_inside_its_prefixes(router: Router,
                                                                       counted: list[int]) -> None:
    session = Session(router, "admin", width=4098)
    where = "ospf and (dst-address in 10.0.5.0/24 or dst-address in 10.1.0.0/16)"
    session.execute(f"/ip route print where {where}")  # the first print indexes the table
    counted[0] = 0
    assert session.execute(f"/ip route print count-only where {where}") == str(1 + 44)
    assert counted[0] <= 45 + 2  # the 45 routes inside (and no other of the 300)


def test_the_index_follows_the_table_it_was_built_on(router: Router) -> None:
    session = Session(router, "admin", width=4098)
    where = "dst-address in 10.0.0.0/16"
    assert session.execute(f"/ip route print count-only where {where}") == "256"
    assert session.execute("/ip route add dst-address=10.0.9.128/25 gateway=198.51.100.1") == ""
    assert session.execute(f"/ip route print count-only where {where}") == "257"  # a configured route
    items = router.config.items(ROUTE)
    items[:] = [i for i in items if i.values["dst-address"] != "10.0.7.0/24"]  # the fabric's rebuild
    add(router, ROUTE, {"dst-address": "10.0.200.128/25", "gateway": "172.16.0.1"}, "ADo")
    assert session.execute(f"/ip route print count-only where {where}") == "257"
    assert session.execute("/ip route set [find dst-address=10.0.9.128/25] dst-address=10.9.9.0/24") == ""
    assert session.execute(f"/ip route print count-only where {where}") == "256"


PREFIXES = ["10.0.0.0/8", "10.0.0.0/16", "10.1.0.0/17", "10.0.128.0/24", "10.0.3.0/24", "10.0.3.0/25",
            "10.0.3.7", "0.0.0.0/0", "192.168.0.0/16", "10.1.44.0/22"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(containers=st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=4), flag=st.booleans())
def test_any_prefix_read_prints_what_testing_every_route_prints(
    router: Router, containers: list[str], flag: bool
) -> None:
    session = Session(router, "admin", width=4098)
    where = " or ".join(f"dst-address in {c}" for c in containers)
    where = f"ospf and ({where})" if flag else where
    indexed = session.execute(f"/ip route print detail without-paging where {where}")
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(where_index, "candidates", full_scan)
        assert session.execute(f"/ip route print detail without-paging where {where}") == indexed
