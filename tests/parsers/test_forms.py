"""Every print form of one command reads to the same records; console quirks do not change the result.

Outputs here are built in the layout of the real captures (see golden/) with documentation addresses.
"""

from __future__ import annotations

import json

import pytest

from ikefleet.parsers import (
    ParseError,
    parse_active_peers,
    parse_clock,
    parse_generic,
    parse_installed_sa,
    parse_ntp_client,
    parse_ospf_interface,
    parse_ospf_neighbor,
    parse_route,
    parse_system_identity,
    volatile_fields,
)

SECRET_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

# v6 detail at 80 columns: the enc-key wraps in the middle of its quoted value
INSTALLED_SA_DETAIL = f"""Flags: H - hw-aead, A - AH, E - ESP
 0  E spi=0x1A2B3C4D src-address=203.0.113.1:4500 dst-address=198.51.100.7:4500
      state=mature auth-algorithm=sha256 enc-algorithm=aes-cbc enc-key-size=256
      auth-key="{SECRET_HEX}" enc-key="{SECRET_HEX[:40]}
      {SECRET_HEX[40:]}" addtime=jan/02/1970 00:40:46 expires-in=7h38m19s
      add-lifetime=24m/30m current-bytes=1024 current-packets=12 replay=128

 1 HE spi=0xDEADBEEF src-address=198.51.100.7:4500 dst-address=203.0.113.1:4500
      state=mature auth-algorithm=sha256 enc-algorithm=aes-cbc enc-key-size=256
      auth-key="{SECRET_HEX}" enc-key="{SECRET_HEX}"
      addtime=jan/02/1970 00:40:46 expires-in=7h38m19s add-lifetime=24m/30m
      current-bytes=2048 current-packets=24 replay=128
"""

_TERSE_TAIL = (
    f'auth-algorithm=sha256 enc-algorithm=aes-cbc enc-key-size=256 auth-key="{SECRET_HEX}" '
    f'enc-key="{SECRET_HEX}" addtime=jan/02/1970 00:40:46 expires-in=7h38m19s add-lifetime=24m/30m'
)
INSTALLED_SA_TERSE = (
    " 0  E spi=0x1A2B3C4D src-address=203.0.113.1:4500 dst-address=198.51.100.7:4500 state=mature "
    f"{_TERSE_TAIL} current-bytes=1024 current-packets=12 replay=128\n"
    " 1 HE spi=0xDEADBEEF src-address=198.51.100.7:4500 dst-address=203.0.113.1:4500 state=mature "
    f"{_TERSE_TAIL} current-bytes=2048 current-packets=24 replay=128\n"
)

# v7 `:put [:serialize to=json [/ip/ipsec/installed-sa/print as-value]]`: numbers as floats, unset as null
INSTALLED_SA_JSON = json.dumps(
    [
        {
            ".id": "*1",
            "spi": "0x1A2B3C4D",
            "src-address": "203.0.113.1:4500",
            "dst-address": "198.51.100.7:4500",
            "state": "mature",
            "auth-algorithm": "sha256",
            "enc-algorithm": "aes-cbc",
            "enc-key-size": 256.0,
            "auth-key": SECRET_HEX,
            "enc-key": SECRET_HEX,
            "expires-in": "7h38m19s",
            "current-bytes": 1024.0,
            "replay": 128.0,
            "hw-aead": False,
            "esp": True,
            "addtime": None,
        }
    ]
)

INSTALLED_SA_AS_VALUE = (
    f".id=*1;spi=0x1A2B3C4D;src-address=203.0.113.1:4500;dst-address=198.51.100.7:4500;state=mature;"
    f"enc-key-size=256;auth-key={SECRET_HEX};enc-key={SECRET_HEX};current-bytes=1024;"
    f".id=*2;spi=0xDEADBEEF;src-address=198.51.100.7:4500;dst-address=203.0.113.1:4500;state=mature;"
    f"enc-key-size=256;auth-key={SECRET_HEX};enc-key={SECRET_HEX};current-bytes=2048"
)


def test_installed_sa_detail_with_a_key_wrapped_mid_value() -> None:
    sas = parse_installed_sa(INSTALLED_SA_DETAIL)
    assert [sa["spi"] for sa in sas] == ["0x1A2B3C4D", "0xDEADBEEF"]
    first, second = sas
    assert first["addtime"] == "jan/02/1970 00:40:46"
    assert first["expires_in"] == 7 * 3600 + 38 * 60 + 19
    assert first["add_lifetime"] == (24 * 60, 30 * 60)
    assert first["current_bytes"] == 1024 and first["replay"] == 128
    assert (first["esp"], first["hw_aead"], first["ah"]) == (True, False, False)
    assert (second["esp"], second["hw_aead"]) == (True, True)


@pytest.mark.parametrize(
    "text", [INSTALLED_SA_DETAIL, INSTALLED_SA_TERSE, INSTALLED_SA_JSON, INSTALLED_SA_AS_VALUE]
)
def test_installed_sa_keys_never_come_back(text: str) -> None:
    dumped = json.dumps(parse_installed_sa(text))
    # computed first, so a failure reports a boolean and never prints key material
    leaked = any(part in dumped for part in (SECRET_HEX, SECRET_HEX[:40], SECRET_HEX[40:]))
    assert not leaked, "key material in parsed output"
    assert "auth_key" not in dumped and 'enc_key"' not in dumped


def test_detail_and_terse_agree() -> None:
    assert parse_installed_sa(INSTALLED_SA_DETAIL) == parse_installed_sa(INSTALLED_SA_TERSE)


def test_json_floats_become_ints_and_nulls_vanish() -> None:
    (sa,) = parse_installed_sa(INSTALLED_SA_JSON)
    assert sa["enc_key_size"] == 256 and isinstance(sa["enc_key_size"], int)
    assert sa["current_bytes"] == 1024 and sa["replay"] == 128
    assert "addtime" not in sa
    assert sa["object_id"] == "*1" and sa["esp"] is True and sa["hw_aead"] is False


def test_as_value_splits_items_on_the_repeated_id() -> None:
    sas = parse_installed_sa(INSTALLED_SA_AS_VALUE)
    assert [(sa["object_id"], sa["current_bytes"]) for sa in sas] == [("*1", 1024), ("*2", 2048)]


def test_invalid_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="installed-sa"):
        parse_installed_sa('[{"spi": "0x1", ')


def test_crlf_trailing_spaces_prompt_pager_and_ansi_do_not_matter() -> None:
    plain = parse_installed_sa(INSTALLED_SA_DETAIL)
    noisy = "[admin@hub] /ip ipsec installed-sa> print detail   \r\n" + "".join(
        f"\x1b[m{line}   \r\n" for line in INSTALLED_SA_DETAIL.splitlines()
    )
    noisy += "-- [Q quit|D dump|down]\r\n[admin@hub] /ip ipsec installed-sa> "
    assert parse_installed_sa(noisy) == plain


def test_two_thousand_sas_parse_with_indexes_above_nine() -> None:
    rows = []
    for i in range(2000):
        rows.append(f"{i:>2}  E spi=0x{i:08X} src-address=203.0.113.1 dst-address=198.51.100.{i % 250}")
        rows.append(f'      state=mature enc-key="{SECRET_HEX}" current-bytes={i}')
        rows.append("")
    sas = parse_installed_sa("Flags: H - hw-aead, A - AH, E - ESP\n" + "\n".join(rows))
    assert len(sas) == 2000
    assert (
        sas[1234]["index"] == 1234 and sas[1234]["current_bytes"] == 1234 and sas[1234]["spi"] == "0x000004D2"
    )


def test_active_peers_v6_legend_without_flags_set() -> None:
    text = """Flags: R - responder, N - natt-peer
 #    ID                   STATE              UPTIME  PH2-TOTAL REMOTE-ADDRESS
 0 RN branch1.example      established       1h2m3s          2 198.51.100.10
 1  N branch2.example      established          45s          1 198.51.100.11
10 R  branch10.example     established        1d2h3m          2 198.51.100.20
"""
    peers = parse_active_peers(text)
    assert [(p["index"], p["id"], p["responder"], p["natt"]) for p in peers] == [
        (0, "branch1.example", True, True),
        (1, "branch2.example", False, True),
        (10, "branch10.example", True, False),
    ]
    assert [p["uptime"] for p in peers] == [3723, 45, 93780]
    assert [p["ph2_total"] for p in peers] == [2, 1, 2]


def test_quoted_values_with_escapes_and_comments() -> None:
    text = r"""Flags: X - disabled, A - active, D - dynamic, C - connect, S - static
 0 A S  ;;; to "branch 1"
        dst-address=10.0.1.0/24 gateway=172.16.0.2 distance=1 routing-mark="a \"b\" c"
"""
    (route,) = parse_route(text)
    assert route["comment"] == 'to "branch 1"'
    assert route["routing_mark"] == 'a "b" c'
    assert route["gateway"] == ["172.16.0.2"] and route["static"] and route["active"]


def test_neighbor_state_as_printed_by_detail_and_terse() -> None:
    detail = ' 0 instance=default router-id=10.255.0.1 address=172.16.0.1 interface=eoip-hub\n   state="Full"'
    terse = "0 instance=default router-id=10.255.0.1 address=172.16.0.1 interface=eoip-hub state=Full"
    assert parse_ospf_neighbor(detail) == parse_ospf_neighbor(terse)
    assert parse_ospf_neighbor(terse)[0]["state"] == "Full"


def test_settings_value_continuation_and_comment() -> None:
    text = """;;; managed by ikefleet
           enabled: yes
              mode: unicast
           servers: 192.0.2.1,192.0.2.2,
                    192.0.2.3
               vrf: main
     synced-server: 192.0.2.1
    synced-stratum: 2
            status: synchronized
"""
    (ntp,) = parse_ntp_client(text)
    assert ntp["servers"] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert ntp["enabled"] is True and ntp["synced_stratum"] == 2 and ntp["status"] == "synchronized"
    assert ntp["comment"] == "managed by ikefleet"
    assert parse_system_identity("  name: hub-1\r\n") == [{"name": "hub-1"}]


def test_clock_v6() -> None:
    text = """                  time: 00:12:04
                  date: nov/27/2026
  time-zone-autodetect: yes
        time-zone-name: UTC
            gmt-offset: +00:00
            dst-active: no
"""
    (clock,) = parse_clock(text)
    assert clock == {
        "time": "00:12:04",
        "date": "nov/27/2026",
        "time_zone_autodetect": True,
        "time_zone_name": "UTC",
        "gmt_offset": "+00:00",
        "dst_active": False,
    }


def test_generic_keeps_unknown_menus_readable() -> None:
    text = """Flags: X - disabled, I - invalid; D - dynamic
 0    chain=srcnat action=masquerade out-interface=ether1 log=no log-prefix=""
 1 X  ;;; old rule
      chain=dstnat action=dst-nat to-addresses=10.0.0.5 to-ports=443 protocol=tcp
"""
    first, second = parse_generic(text, "/ip firewall nat print detail")
    assert first["values"]["log-prefix"] == "" and first["flags"] == []
    assert second["flags"] == ["disabled"] and second["comment"] == "old rule"
    assert second["values"]["to-ports"] == "443"


def test_json_flag_fields_use_the_record_names() -> None:
    text = json.dumps(
        [
            {
                ".id": "*5",
                "id": "CN=branch1",
                "natt-peer": True,
                "responder": False,
                "ph2-total": 2.0,
                "uptime": "1h",
            }
        ]
    )
    (peer,) = parse_active_peers(text)
    assert peer == {
        "object_id": "*5",
        "id": "CN=branch1",
        "natt": True,
        "responder": False,
        "ph2_total": 2,
        "uptime": 3600,
    }


def test_volatile_fields_are_declared_per_command() -> None:
    assert {"uptime", "spii", "index"} <= volatile_fields("/ip ipsec active-peers print detail")
    assert "state" not in volatile_fields("/routing ospf neighbor print")
    with pytest.raises(KeyError):
        volatile_fields("/ip firewall filter print")


def test_truncated_headers_resolve_in_column_order_and_never_expose_a_key() -> None:
    # v6 at 80 columns cuts AUTHENTICATION and AUTHENTICATION-KEY to their widths
    text = """Flags: X - disabled, I - inactive, D - dynamic, P - passive
 #    INTERFACE                 COST PRI NETWORK-TYPE   AUT... AUTHENTICATIO...
 0    eoip-hub                    10   1 point-to-point md5    s3cr3tK3y
"""
    (interface,) = parse_ospf_interface(text)
    assert interface["authentication"] == "md5" and interface["priority"] == 1
    leaked = "s3cr3tK3y" in json.dumps(interface)
    assert not leaked, "authentication key in parsed output"


def test_an_unknown_detail_field_is_kept_aside_not_guessed() -> None:
    (peer,) = parse_active_peers(' 0 R  id="branch" pri=7 state=established')
    assert peer["extra"] == {"pri": "7"} and peer["state"] == "established"


def test_lines_cut_at_the_terminal_width_are_refused() -> None:
    # v7 cuts a line at the terminal width and marks it with ">": the rest of the value is gone
    first = (
        " 0  D instance=default area=backbone address=172.16.0.2 priority=1 router-id=192.168.2.1"
        " dr=172.16.0.1"
    )
    width = len(first) + 12
    cut = first + " bdr=172.16.0.2 state=Full"
    text = "Flags: V - virtual; D - dynamic\n" + cut[: width - 1] + ">\n      state-changes=5 adjacency=1m\n"
    with pytest.raises(ParseError, match="terminal width"):
        parse_ospf_neighbor(text)
    whole = "Flags: V - virtual; D - dynamic\n" + cut + "\n      state-changes=5 adjacency=1m\n"
    assert parse_ospf_neighbor(whole)[0]["bdr"] == "172.16.0.2"
