"""`diff._unchanged`, the remediation's fast path for a menu that holds the intended items already, held to
the general code (`_menu_steps`): whenever the fast path says "nothing to do", the general code finds
nothing to do either, on menus of every kind (list, settings, ordered, not addable, unknown to the schema),
items that are set or added, router-assigned fields, foreign comments and any ownership."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ikefleet.diff as diff
from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import NUMBER

SCHEMA = load_schema(6)
PATHS = [
    "/ip firewall filter",  # ordered
    "/routing filter",  # ordered
    "/interface ethernet",  # not addable: every item is set
    "/system identity",  # settings
    "/interface eoip",  # a router-assigned field (mac-address)
    "/ip address",  # a two-field key (and `network` router-assigned)
    "/ip ipsec identity",  # a key that is not unique
    "/x unknown",  # no schema: identified by all its values
]
NAMES = ["name", "chain", "action", "address", "interface", "mac-address", "network", "peer", "tunnel-id",
         "default-name", NUMBER, "x-extra"]  # fmt: skip
VALUES = st.sampled_from(["a", "b", "yes", "no", "1", "10.0.0.1/30", "ether1", ""])
ITEM = st.builds(
    lambda values, comment, disabled, default: (values, comment, disabled, default),
    st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
    st.sampled_from(["", diff.MARKER, "defconf"]),
    st.booleans(),
    st.booleans(),
)
# how the current menu differs from the intended one: not at all, or in one item's one attribute
CHANGE = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 7), st.sampled_from(["value", "comment", "disabled", "default", "order", "id"])),
)


def items(specs: list[tuple[dict[str, str], str, bool, bool]], first_id: int) -> list[Item]:
    return [Item(first_id + n, dict(v), disabled=d, default=f, comment=c)
            for n, (v, c, d, f) in enumerate(specs)]


def perturbed(cur: list[Item], change: tuple[int, str] | None) -> list[Item]:
    if change is None or not cur:
        return cur
    at, what = change
    item = cur[at % len(cur)]
    if what == "value":
        item.values["x-extra"] = item.values.get("x-extra", "") + "z"
    elif what == "comment":
        item.comment = "" if item.comment else diff.MARKER
    elif what == "disabled":
        item.disabled = not item.disabled
    elif what == "default":
        item.default = not item.default
    elif what == "order":
        cur = [*cur[1:], cur[0]]
    else:  # two items with one id (never from the parser): the fast path must stand aside
        item.id = cur[0].id
    return cur


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PATHS),
    want_specs=st.lists(ITEM, max_size=5),
    change=CHANGE,
    extra=st.one_of(st.just([]), st.lists(ITEM, min_size=1, max_size=3)),
    places=st.lists(st.integers(0, 8), min_size=3, max_size=3),
    owned=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_the_fast_path_says_nothing_to_do_only_when_the_general_code_finds_nothing(
    path: str,
    want_specs: list[Any],
    change: tuple[int, str] | None,
    extra: list[Any],
    places: list[int],
    owned: list[bool],
) -> None:
    want = items(want_specs, 1)
    cur = perturbed(items(want_specs, 100), change)
    for item, at in zip(items(extra, 200), places, strict=False):  # the router's own items among them
        cur.insert(at % (len(cur) + 1), item)
    mine = owned[: len(cur)]
    fast = diff._unchanged(SCHEMA, path, cur, want, by_list(cur, mine))
    event(f"unchanged={fast}, intended={bool(want)}, others={len(cur) > len(want)}")
    if fast:
        general = diff._menu_steps(diff._View(SCHEMA, path), cur, want, mine, False)
        assert general == ([], [], [])


NEAR = ["network", "mac-address", "x-extra", *NAMES[:5]]  # a router-assigned field, or any
ADDED = st.builds(  # an item the intent adds: no factory flag, no default-name or print number
    lambda values, comment, disabled: (values, comment, disabled, False),
    st.dictionaries(st.sampled_from(NAMES[:9] + NAMES[-1:]), VALUES, max_size=3),
    st.sampled_from(["", diff.MARKER]),
    st.booleans(),
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["/ip address", "/interface eoip", *PATHS]),
    want_specs=st.lists(st.one_of(ADDED, ADDED, ITEM), min_size=1, max_size=4),
    extra=st.lists(ITEM, max_size=3),
    near=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(NEAR), VALUES), max_size=3),
    places=st.lists(st.integers(0, 8), min_size=6, max_size=6),
    owned=st.lists(st.booleans(), min_size=10, max_size=10),
    theirs=st.booleans(),
)
def test_the_fast_path_with_the_routers_own_items_among_the_twins(
    path: str,
    want_specs: list[Any],
    extra: list[Any],
    near: list[tuple[int, str, str]],
    places: list[int],
    owned: list[bool],
    theirs: bool,
) -> None:
    """The intended items, their twins with the router's items among them: any, or copies of an intended
    item with one value changed (its key alike, or a router-assigned field that no signature holds)."""
    want = items(want_specs, 1)
    cur = items(want_specs, 100)
    for n, name, value in near:
        values, comment, disabled, default = want_specs[n % len(want_specs)]
        extra = [*extra, ({**values, name: value}, comment, disabled, default)]
    others = items(extra, 200)
    for item, at in zip(others, places, strict=False):
        cur.insert(at % (len(cur) + 1), item)
    mine = [o and (not theirs or i not in others) for i, o in zip(cur, owned, strict=False)]
    fast = diff._unchanged(SCHEMA, path, cur, want, by_list(cur, mine))
    event(f"unchanged={fast}")
    if fast:
        assert diff._menu_steps(diff._View(SCHEMA, path), cur, want, mine, False) == ([], [], [])


def by_list(cur: list[Item], owned: list[bool]) -> Any:
    """`owns` for `_unchanged`: cur[n] is ikefleet's when owned[n]."""
    ours = {id(i) for i, o in zip(cur, owned, strict=True) if o}
    return lambda _, item: id(item) in ours


def test_the_fast_path_takes_twins_and_leaves_the_rest() -> None:
    """It is taken (else the property above proves nothing) and refused where the general code has work."""
    rules = [({"chain": "input", "action": "accept"}, diff.MARKER, False, False),
             ({"chain": "input", "action": "drop"}, diff.MARKER, False, False)]  # fmt: skip
    kept = items(rules, 100)
    assert diff._unchanged(SCHEMA, "/ip firewall filter", kept, items(rules, 1), by_list(kept, [True] * 2))
    moved, wanted_rules = items(rules[::-1], 100), items(rules, 1)
    assert not diff._unchanged(SCHEMA, "/ip firewall filter", moved, wanted_rules, by_list(moved, [True] * 2))
    foreign = [({"chain": "input", "action": "accept"}, "defconf", False, False)]
    theirs = items(foreign, 100)
    wanted = items(foreign, 1)
    assert not diff._unchanged(SCHEMA, "/ip firewall filter", theirs, wanted, by_list(theirs, [False]))
    mixed = [({"default-name": "ether1", "name": "wan"}, "", False, False), ({"name": "x"}, "", False, False)]
    both = items(mixed, 100)
    assert not diff._unchanged(SCHEMA, "/x unknown", both, items(mixed, 1), by_list(both, [True] * 2))
    assert diff._unchanged(SCHEMA, "/x unknown", [], [], by_list([], []))
    # an item of the router's with the intended item's key and signature (the network is the router's to
    # set) before the twin: the general code matches it instead, and removes the twin
    address = [({"address": "10.0.0.2/30", "interface": "eoip-hub", "network": "10.0.0.0"}, "", False, False)]
    (twin,), (want,) = items(address, 100), items(address, 1)
    (alike,) = items([({**address[0][0], "network": "10.9.9.9"}, "", False, False)], 200)
    cur = [alike, twin]
    assert not diff._unchanged(SCHEMA, "/ip address", cur, [want], by_list(cur, [False, True]))
    assert diff._menu_steps(diff._View(SCHEMA, "/ip address"), cur, [want], [False, True], False)[1]
    (other,) = items([({**address[0][0], "address": "192.168.6.1/24"}, "", False, False)], 300)
    cur = [other, twin]
    assert diff._unchanged(SCHEMA, "/ip address", cur, [want], by_list(cur, [False, True]))
    named = items([({"name": "br5"}, "", False, False)], 100)
    assert diff._unchanged(SCHEMA, "/system identity", named, [], by_list(named, [False]))
    assert not diff._unchanged(SCHEMA, "/system identity", named, [], by_list(named, [True]))


CONFIG = st.dictionaries(st.sampled_from(PATHS), st.lists(ITEM, max_size=4), max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(menus=CONFIG, changes=st.lists(st.tuples(st.sampled_from(PATHS), CHANGE), max_size=3),
       extra=CONFIG)  # fmt: skip
def test_remediations_are_the_same_with_and_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch, menus: dict[str, Any], changes: list[Any], extra: dict[str, Any]
) -> None:
    intended = Config(menus={p: items(specs, 1) for p, specs in menus.items()})
    current = Config(menus={p: items(specs, 100) for p, specs in menus.items()})
    for path, change in changes:
        if path in current.menus:
            current.menus[path] = perturbed(current.menus[path], change)
    for path, specs in extra.items():  # menus only the router has, or more items in one both have
        current.menus.setdefault(path, []).extend(items(specs, 200))
    fast = outcome(current, intended)
    with monkeypatch.context() as patch:
        patch.setattr(diff, "_unchanged", lambda *_: False)
        general = outcome(current, intended)
    assert fast == general


def outcome(current: Config, intended: Config) -> tuple[Any, ...]:
    """The remediation's commands, rollback, diff and conflicts, or its error (some generated items are
    none a parser gives: an ethernet item without its default-name)."""
    try:
        made = diff.remediate(current, intended, SCHEMA)
    except Exception as exc:  # (compared, not hidden)
        return (type(exc).__name__, str(exc))
    return made.commands, made.rollback, made.diff(), made.conflicts
