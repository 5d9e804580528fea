"""Records after the first take a fast path once every field name of theirs was met before (`convert`'s
plan); a record with a new name, a cut header or a field kept aside must still read as the first did."""

from __future__ import annotations

import json

from ikefleet.parsers import parse_active_peers, parse_installed_sa, parse_ospf_interface
from ikefleet.parsers.errors import ParseError


def test_a_new_name_after_known_ones_is_resolved_and_kept_aside() -> None:
    text = ' 0 R  id="a" state=established\n 1 R  id="b" pri=7 state=established\n 2 R  id="c" pri=9\n'
    peers = parse_active_peers(text)
    assert [p.get("extra") for p in peers] == [None, {"pri": "7"}, {"pri": "9"}]
    assert [p.get("state") for p in peers] == ["established", "established", None]


def test_cut_headers_resolve_by_the_columns_used_in_every_row() -> None:
    text = """Flags: X - disabled, I - inactive, D - dynamic, P - passive
 #    INTERFACE                 COST PRI NETWORK-TYPE   AUT... AUTHENTICATIO...
 0    eoip-hub                    10   1 point-to-point md5    s3cr3tK3y
 1    eoip-br2                    20   2 point-to-point md5    0th3rK3y
"""
    rows = parse_ospf_interface(text)
    assert [(r["interface"], r["priority"], r["authentication"]) for r in rows] == [
        ("eoip-hub", 1, "md5"), ("eoip-br2", 2, "md5")]
    assert "K3y" not in json.dumps(rows)


def test_a_bad_value_of_a_known_field_still_names_the_field() -> None:
    text = " 0  E spi=0x1 enc-key-size=256 replay=128\n\n 1  E spi=0x2 enc-key-size=256 replay=lots\n"
    try:
        parse_installed_sa(text)
    except ParseError as exc:
        assert "field replay" in exc.message
    else:
        raise AssertionError("a replay of 'lots' was read")
    assert [sa["enc_key_size"] for sa in parse_installed_sa(text.replace("lots", ""))] == [256, 256]
