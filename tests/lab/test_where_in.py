"""`where f in A or f in B ...`: a branch's route read. The lab tests one field against all containers in
one step; these hold that to the meaning of `in` (the prefix itself and everything more specific)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.lab import menus
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import Flag, Menu

ROUTES = [f"10.{a}.{b}.0/24" for a in (1, 2, 3) for b in (0, 1, 64, 128, 255)] + ["10.0.0.0/8", "0.0.0.0/0"]
CONTAINERS = ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/17", "10.3.128.0/24", "10.1.1.0/24", "192.168.0.0/16",
              "10.2.64.7", "0.0.0.0/0"]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    spec = RouterSpec("R1", "responder", "127.0.0.1", 1, "admin", "pw", "203.0.113.1/24", "192.168.1.0/24")
    router = Router(spec, Path(tmp_path_factory.mktemp("where")), config=initial_config(spec))
    s = Session(router, "admin")
    s.max_delay_s = 0
    for n, prefix in enumerate(ROUTES):
        disabled = "yes" if n % 3 == 0 else "no"
        added = s.execute(f"/ip route add dst-address={prefix} gateway=203.0.113.254 disabled={disabled}")
        assert added == ""
    return s


def expected(containers: list[str], only_disabled: bool, negated: bool) -> int:
    static = [(p, n % 3 == 0) for n, p in enumerate(ROUTES)]  # a router outside a fabric: no connected routes
    count = 0
    for prefix, disabled in static:
        net = ipaddress.ip_network(prefix)
        hit = any(net.subnet_of(ipaddress.ip_network(c, strict=False)) for c in containers)
        count += (hit != negated) and (disabled or not only_disabled)
    return count


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(containers=st.lists(st.sampled_from(CONTAINERS), min_size=1, max_size=4),
       only_disabled=st.booleans(), negated=st.booleans())
def test_an_or_of_in_counts_what_ipaddress_counts(session: Session, containers: list[str],
                                                  only_disabled: bool, negated: bool) -> None:
    ors = " or ".join(f"dst-address in {c}" for c in containers)
    where = f"!({ors})" if negated else f"({ors})"
    if only_disabled:
        where = f"disabled and {where}"
    got = session.execute(f"/ip route print count-only where {where}")
    assert got == str(expected(containers, only_disabled, negated)), where


def test_containers_from_a_variable_and_a_substitution(session: Session) -> None:
    session.execute(':global wide "10.0.0.0/8"')
    by_variable = session.execute(
        "/ip route print count-only where dst-address in $wide or dst-address in 0.0.0.0/0")
    assert by_variable == str(expected(["10.0.0.0/8", "0.0.0.0/0"], False, False))
    by_substitution = session.execute(
        '/ip route print count-only where dst-address in [:put "10.1.0.0/16"] or dst-address in 10.3.0.0/16')
    assert by_substitution == str(expected(["10.1.0.0/16", "10.3.0.0/16"], False, False))


def test_an_unknown_field_in_an_or_of_in_is_an_error(session: Session) -> None:
    reply = session.execute("/ip route print where bogus in 10.0.0.0/8 or bogus in 10.1.0.0/16")
    assert reply.startswith("expected end of command"), reply


def test_a_where_that_cannot_fail_asks_the_flag_only_of_routes_in_the_prefixes(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known properties and literal values: `and` stops at the first false test, the prefix test first (a
    branch's route read asks its flag of a handful of a fleet's routes, not of all)."""
    asked: list[int] = []
    real = menus.has_flag

    def counted(router: Router, menu: Menu, item: Item, flag: Flag) -> bool:
        asked.append(item.id)
        return real(router, menu, item, flag)

    monkeypatch.setattr(menus, "has_flag", counted)
    got = session.execute("/ip route print count-only where disabled and dst-address in 10.3.0.0/16")
    assert got == str(expected(["10.3.0.0/16"], only_disabled=True, negated=False))
    inside = [p for p in ROUTES if ipaddress.ip_network(p).subnet_of(ipaddress.ip_network("10.3.0.0/16"))]
    assert len(asked) == len(inside) < len(ROUTES)
    # an unknown property: every condition of every item, so the error shows whatever the others say
    unknown = session.execute("/ip route print count-only where disabled and dst-address in 10.3.0.0/16 x")
    assert unknown.startswith("expected end of command")
