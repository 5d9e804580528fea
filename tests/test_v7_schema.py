"""The RouterOS 7 menu schema data: the v7 menus the design needs, and none of the v6-only ones."""

from __future__ import annotations

import pytest

from ikefleet.routeros.schema import ValueProblem, load_schema, normalize_value

V7 = load_schema(7)


def test_v7_routing_menus_replace_the_v6_ones() -> None:
    for path in ("/routing ospf instance", "/routing ospf area", "/routing ospf interface-template",
                 "/routing ospf neighbor", "/routing filter rule", "/routing bfd configuration",
                 "/routing id"):
        assert V7.has_menu(path), path
    for path in ("/routing ospf network", "/routing filter", "/routing bfd interface"):
        assert not V7.has_menu(path), path
    assert load_schema(6).has_menu("/routing ospf network")


def test_v7_has_no_factory_ospf_items() -> None:
    assert V7.menu("/routing ospf instance").factory == ()
    assert V7.menu("/routing ospf area").factory == ()


def test_v7_ospf_neighbor_fields_follow_the_captures() -> None:
    fields = V7.menu("/routing ospf neighbor").fields
    assert {"area", "dr", "bdr", "timeout", "address"} <= set(fields)
    assert "interface" not in fields and "dr-address" not in fields
    assert [f.letter for f in V7.menu("/routing ospf neighbor").flags] == ["V", "D"]


def test_interface_template_defaults_as_printed() -> None:
    menu = V7.menu("/routing ospf interface-template")
    assert (menu.field("priority").default, menu.field("cost").default, menu.field("type").default) == (
        "128", "1", "broadcast")
    assert normalize_value(menu.field("type"), "ptp") == "ptp"
    with pytest.raises(ValueProblem):
        normalize_value(menu.field("type"), "pt")  # ptp, ptmp, ptmp-broadcast, ptp-unnumbered
    assert menu.field("auth-key").secret


def test_export_order_puts_templates_after_addresses() -> None:
    order = V7.export_order
    assert order.index("/routing ospf instance") < order.index("/routing ospf area") < order.index(
        "/ip address") < order.index("/routing ospf interface-template")
    assert order.index("/system ntp client") < order.index("/system ntp client servers")


def test_v7_ntp_has_no_primary_ntp() -> None:
    assert "primary-ntp" not in V7.menu("/system ntp client").fields
    assert V7.menu("/system ntp client servers").key == ("address",)
