"""The diff's menu rules are data (ikefleet/routeros/menus/rules.yaml): every menu and field they name
exists in a RouterOS schema, and a typo in the file is an error naming the file and the key, never a rule
silently dropped."""

from __future__ import annotations

import pytest

from ikefleet.routeros.schema import load_rules, load_schema, parse_rules

SCHEMAS = (load_schema(6), load_schema(7))


def test_every_menu_the_rules_name_is_a_routeros_menu() -> None:
    rules = load_rules()
    named = {*rules.order, *rules.ordered, *rules.unmarked, *rules.taken_over, *rules.router_assigned}
    unknown = sorted(p for p in named if not any(s.has_menu(p) for s in SCHEMAS))
    assert unknown == []


def test_router_assigned_fields_are_fields_of_their_menu() -> None:
    for path, names in load_rules().router_assigned.items():
        for name in names:
            assert any(s.has_menu(path) and name in s.menu(path).fields for s in SCHEMAS), (path, name)


def test_the_diff_uses_the_rules() -> None:
    """The masking, ordering and ownership tables are read from the file, not kept beside it in code."""
    import ikefleet.diff as diff

    for name in ("ORDER", "ORDERED_MENUS", "UNMARKED_MENUS", "TAKEN_OVER", "ROUTER_ASSIGNED", "SECRET_NAMES"):
        assert not hasattr(diff, name), name
    op = diff.Op("add", "/ip ipsec identity", args=(("secret", "hunter2"), ("peer", "hub")))
    assert "hunter2" not in repr(op) and "hub" in repr(op)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"orderd": ["/ip address"]}, ("rules.yaml", "orderd")),
        ({"ordered": "/ip address"}, ("rules.yaml", "ordered", "list")),
        ({"taken-over": {"/ip firewall nat": {"action": "masquerade"}}}, ("rules.yaml", "taken-over")),
    ],
)
def test_a_malformed_rules_file_is_an_error_naming_the_key(
    data: dict[str, object], words: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError) as error:
        parse_rules(data)  # type: ignore[arg-type]
    assert all(w in str(error.value) for w in words), error.value
