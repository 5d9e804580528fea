"""Export/terse/script parsing: the real captures in shared/routeros-samples, continuations (also mid-value),
quoting, selectors, and refusal of incomplete exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikefleet.lab.render import ExportLine, export
from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.script import (
    NUMBER,
    ExportInterrupted,
    ScriptError,
    export_version,
    logical_lines,
    parse_commands,
    parse_script,
)

SAMPLES = Path("/work/shared/routeros-samples")


def sample(name: str) -> str:
    """A capture without its line 1 (the command line or a note, per SOURCES.md)."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not available")
    return path.read_text(encoding="utf-8").split("\n", 1)[1]


def only(config: Config, path: str, **where: str) -> Item:
    found = list(config.find(path, **where))
    assert len(found) == 1, (path, where, found)
    return found[0]


def test_full_v6_export_with_crlf_and_default_selectors() -> None:
    text = sample("v6__export__mplslab-PE1.txt")
    config = parse_script(text)
    assert export_version(text) == "6.49.19"
    ether3 = only(config, "/interface ethernet", **{"default-name": "ether3"})
    assert ether3.values == {"default-name": "ether3", "mtu": "9000"} and ether3.comment == "PE2"
    instance = only(config, "/routing ospf instance")
    assert instance.default and instance.values == {"name": "ospf100", "router-id": "192.168.150.1"}
    assert [i.values["interface"] for i in config.items("/routing ospf interface")] == [
        "lo0",
        "ether1",
        "ether2",
        "ether3",
        "ether4",
        "ether5",
    ]
    assert config.items("/routing ospf interface")[1].values["authentication-key"] == "X" * 13
    assert [i.values["network"] for i in config.items("/routing ospf network")][-1] == "172.16.20.4/30"
    assert only(config, "/system identity").values == {"name": "PE1"}
    address = only(config, "/ip address", address="172.16.20.149/30")
    assert address.comment == "CE12" and address.values["network"] == "172.16.20.148"
    assert not any("\r" in v for items in config.menus.values() for i in items for v in i.values.values())


def test_continuations_between_words_after_key_and_quoted() -> None:
    config = parse_script(sample("unk__export_ipsec_ospf_routing-filter__branch13-6.43.4.txt"))
    wrapped = only(config, "/ip address", address="172.17.13.126/25")
    assert wrapped.disabled and wrapped.values["network"] == "172.17.13.0"  # `network=\` + next line
    dhcp = only(config, "/ip dhcp-server network")
    assert dhcp.values["domain"] == "adrrm.co.mz" and dhcp.values["gateway"] == "172.18.13.126"
    policies = config.items("/ip ipsec policy")
    assert len(policies) == 6 and sum(p.disabled for p in policies) == 4
    assert policies[4].values["sa-src-address"] == "1.1.1.13"  # `sa-src-address=\` + `    1.1.1.13`
    ether7 = only(config, "/interface ethernet", **{"default-name": "ether7"})
    assert ether7.comment == "CAMERA AND OTHER DEVICES"
    assert only(config, "/ip ipsec proposal").default  # `[ find default=true ]`
    telnet = only(config, "/ip service", name="telnet")  # `set telnet disabled=true`
    assert telnet.disabled
    # `secret="\XXXXX\X"` (masked `\$2018\$`): unknown escapes keep their character
    assert [p.values["secret"] for p in config.items("/ip ipsec peer")] == ["XXXXXX", "XXXXXX"]
    assert only(config, "/queue simple", name="172.17.13.24").values["target"] == ""


def test_interrupted_export_is_refused() -> None:
    text = sample("v6__export_eoip_interrupted__ru-crs125.txt")
    with pytest.raises(ExportInterrupted, match="interrupted"):
        parse_script(text)
    # the part before the marker parses, with a mid-value split of tunnel-id and mac-address
    complete = parse_script(text.split("#interrupted")[0])
    mng = only(complete, "/interface eoip", name="eoip-mng")
    assert mng.values["tunnel-id"] == "248" and mng.values["mac-address"] == "FE:ED:9E:2B:F4:13"
    assert mng.values["ipsec-secret"] == "X" * 40


def test_export_cut_inside_a_continued_line_is_refused() -> None:
    text = "/interface eoip\nadd name=eoip-x remote-address=\\\n"
    with pytest.raises(ExportInterrupted):
        parse_script(text)


def test_sections_with_numbers_and_quoted_spaces() -> None:
    text = sample("v6__export_ipsec_sections__ne-se-67085.txt").replace("\n...", "\n")
    config = parse_script(text)
    assert only(config, "/ip ipsec policy", **{NUMBER: "0"}).disabled  # `set 0 disabled=yes`
    assert only(config, "/ip ipsec identity").values == {"peer": "NOC", "secret": "*****"}
    nat = config.items("/ip firewall nat")[-1]
    assert nat.values == {"action": "masquerade", "chain": "srcnat", "out-interface": "WAN port"}
    rule = config.items("/ip firewall filter")[2]
    assert rule.comment == "IPSEC NAT-T" and rule.values["dst-port"] == "4500"
    assert only(config, "/ip ipsec proposal", name="asa-p2").values["lifetime"] == "8h"


def test_export_with_trailing_ellipsis_is_not_a_command() -> None:
    with pytest.raises(ScriptError, match="unsupported command"):
        parse_script(sample("v6__export_ipsec_sections__ne-se-67085.txt"))


def test_verbose_export_comments_and_disabled() -> None:
    config = parse_script(sample("v6__ip_address_export_verbose__ntc.txt"))
    first, second = config.items("/ip address")
    assert not first.disabled and "disabled" not in first.values
    assert second.disabled and second.comment == "test comment" and second.values["interface"] == "eth3_vlan1"


def test_v7_exports_quoted_values_across_lines() -> None:
    config = parse_script(sample("v7__export_eoip_ipsec_excerpt__forum-rb5009.txt"))
    ether5 = only(config, "/interface ethernet", **{"default-name": "ether5"})
    assert ether5.values["name"] == "ether5-IPTV STB"
    assert only(config, "/interface l2tp-client").values["use-ipsec"] == "yes"
    chr7 = parse_script(sample("v7__export_ospf_nbma_static-neighbor__chr-7.21.4.txt"))
    peer = only(chr7, "/interface wireguard peers")
    assert peer.values["public-key"] == "YbliGIqgfgnHFa1EfnV/vzUTM2iPFysj7KGj1ussKD0="
    assert peer.values["endpoint-address"] == "51.250.29.98"
    assert [i.values["address"] for i in chr7.items("/system ntp client servers")] == [
        "pool.ntp.org",
        "time.cloudflare.com",
    ]


def test_terse_lines_carry_their_path() -> None:
    text = (
        "# nov/27/2026 00:00:00 by RouterOS 6.49.19\n"
        "/interface eoip add comment=ikefleet local-address=10.0.0.2 name=eoip-hub remote-address=10.0.0.1 "
        "tunnel-id=1\n"
        "/ip ipsec proposal set [ find default=yes ] enc-algorithms=aes-256-cbc\n"
        "/ip ipsec peer add name=hub address=203.0.113.1/32 exchange-mode=ike2\n"
        "/system ntp client set enabled=yes\n"
        "/system ntp client set primary-ntp=192.0.2.123\n"
    )
    config = parse_script(text)
    eoip = only(config, "/interface eoip")
    assert eoip.comment == "ikefleet" and eoip.values["tunnel-id"] == "1"
    assert only(config, "/ip ipsec proposal").default
    assert only(config, "/ip ipsec peer").values["address"] == "203.0.113.1/32"
    assert only(config, "/system ntp client").values == {"enabled": "yes", "primary-ntp": "192.0.2.123"}


def test_place_before_is_not_a_value() -> None:
    config = parse_script("/ip firewall filter\nadd action=accept chain=input protocol=udp place-before=0\n")
    rule = only(config, "/ip firewall filter")
    assert rule.values == {"action": "accept", "chain": "input", "protocol": "udp"}


def test_quoting_escapes() -> None:
    config = parse_script('/system note\nset note="a \\"b\\" \\\\ \\$x \\? c\\_d \\D0\\9F"\n')
    assert only(config, "/system note").values["note"] == 'a "b" \\ $x ? c d \xd0\x9f'


def test_prompt_echo_lines_are_skipped() -> None:
    config = parse_script("[admin@R1] > /export terse\n/system identity set name=R1\n")
    assert only(config, "/system identity").values == {"name": "R1"}


@pytest.mark.parametrize("text", ["/ip address\nremove 0\n", "/ip address\nadd [ find ] x=1\n", "add x=1\n"])
def test_unsupported_lines_raise(text: str) -> None:
    with pytest.raises(ScriptError):
        parse_script(text)


def test_logical_lines_join_mid_value() -> None:
    assert logical_lines('add name="abc\\\n    def" x=1\n') == [(1, 'add name="abcdef" x=1')]


_VALUE = st.text(
    alphabet=st.sampled_from([*'abcXYZ019 -_.:/,@+"\\$?=[]{};#\t', "\u00e9"]), min_size=0, max_size=90
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.sampled_from(["comment", "name", "note", "x", "long-key-name"]), _VALUE),
        min_size=1,
        max_size=6,
        unique_by=lambda kv: kv[0],
    ),
    width=st.integers(min_value=30, max_value=200),
    terse=st.booleans(),
)
def test_lab_export_round_trips(values: list[tuple[str, str]], width: int, terse: bool) -> None:
    """Whatever the lab's v6 export writes (wrapped at any width, terse or not), the parser reads back."""
    text = export([("/system note", [ExportLine("add", tuple(values))])], terse=terse, width=width)
    item = only(parse_script(text), "/system note")
    expected = dict(values)
    assert item.comment == expected.pop("comment", "")
    assert item.values == expected


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='ab1-="  \t/.', max_size=40))
def test_the_split_word_reader_agrees_with_the_character_scanner(line: str) -> None:
    """Lines without escapes or `[`: the fast reader gives the scanner's words, or steps aside (None)
    where the scanner has an error to report (an unterminated quote)."""
    from ikefleet.routeros.script import _plain_tokens, _scan_tokens

    try:
        scanned = _scan_tokens(line, 1)
    except ScriptError:
        assert _plain_tokens(line) is None
        return
    assert _plain_tokens(line) in (None, scanned)


@pytest.mark.parametrize(
    "line",
    [
        'add comment="defconf: accept established,related" connection-state=established',
        'add name="a b" "quoted word" x=1 ="empty key" last',
        'add a="x""y" b=""',  # quoted values back to back: two words, as the scanner reads them
        "add name=ether1   mtu=1500  ",
    ],
)
def test_quoted_export_lines_take_the_split_reader(line: str) -> None:
    """Quoted values without escapes (the export's comments) are read without the scanner, alike."""
    from ikefleet.routeros.script import _plain_tokens, _scan_tokens

    assert _plain_tokens(line) == _scan_tokens(line, 1)


@pytest.mark.parametrize("line", ['add a=b"c"', 'add "x"y', 'add a="x"=y', 'add a=b="c"', 'add x="open'])
def test_quotes_glued_to_words_go_to_the_scanner(line: str) -> None:
    from ikefleet.routeros.script import _plain_tokens

    assert _plain_tokens(line) is None


_SAMPLES = Path("/work/shared/routeros-samples")
_CAPTURES = sorted([*_SAMPLES.rglob("*export*.txt"), *(Path(__file__).parent.parent / "data").glob("*.txt")])


@pytest.mark.parametrize("path", _CAPTURES, ids=lambda p: p.name)
def test_every_export_line_of_the_captures_reads_as_the_scanner_reads_it(path: Path) -> None:
    from ikefleet.routeros.script import _plain_tokens, _scan_tokens

    try:
        lines = logical_lines(path.read_text(encoding="utf-8", errors="replace"))
    except ScriptError:
        pytest.skip("an interrupted export")
    for number, line in lines:
        plain = _plain_tokens(line)
        if plain is not None:
            assert plain == _scan_tokens(line, number), line


def test_export_lines_take_the_split_reader() -> None:
    from ikefleet.routeros.script import _plain_tokens, _scan_tokens

    text = (Path(__file__).parent.parent / "data" / "seed_R1.txt").read_text(encoding="utf-8")
    lines = [line for _, line in logical_lines(text) if "[" not in line and "\\" not in line]
    assert len(lines) > 20
    for line in lines:
        assert _plain_tokens(line) == _scan_tokens(line, 1), line


def test_lines_read_before_in_another_export_keep_their_own_numbers_and_values() -> None:
    """A line seen in an earlier export (the reader remembers repeated lines) is its own command: its line
    number, a fresh `args` dict, and an error at its own line."""
    first = parse_commands("/ip address add address=10.0.0.1/24 interface=ether1\n")
    second = parse_commands("# hello\n\n/ip address add address=10.0.0.1/24 interface=ether1\n")
    assert (first[0].line, second[0].line) == (1, 3)
    first[0].args["interface"] = "changed"
    assert second[0].args == {"address": "10.0.0.1/24", "interface": "ether1"}
    bad = '/system note add note="open\n'
    for prefix, number in (("", 1), ("\n\n", 3)):
        with pytest.raises(ScriptError, match=f"line {number}: unterminated"):
            parse_commands(prefix + bad)


def test_an_unsupported_command_is_named_before_its_selector_is_read() -> None:
    """(v7__serialize_to_json__helpmt-scripting.txt): the command is what is wrong, not its `[ ... ]`."""
    with pytest.raises(ScriptError, match="line 1: unsupported command ':put'"):
        parse_commands(":put [:serialize value=a,b,c to=json]\n")
    with pytest.raises(ScriptError, match="line 2: only \\[ find"):
        parse_commands("/ip address\nset [ get 0 ] x=1\n")


_BARE_WORDS = st.sampled_from(["/ip", "ipsec", "/peer", "/", "add", "set", "remove", "a=b", "=x", "k=",
                               "x=y=z",
                               "comment=c", "disabled=yes", "place-before=1", "0", "name", "a=1", "a=2"])


@given(st.lists(_BARE_WORDS, min_size=1, max_size=8), st.sampled_from([" ", "  "]))
@settings(max_examples=300, deadline=None)
def test_a_line_without_quotes_reads_as_the_tokens_read_it(words: list[str], gap: str) -> None:
    """The quote-free lines' reading (one str.split) is the tokenizer's, word for word."""
    from ikefleet.routeros import script

    line = gap.join(words)
    tokens = script._plain_tokens(line)
    assert tokens is not None
    menu, rest = script._menu(line, tokens)
    expected = (menu, tuple(rest[:1]), tuple(str(v) for k, v in rest[1:] if k is None),
                tuple((k, str(v)) for k, v in rest[1:] if k is not None),
                script.split_flags(dict((k, str(v)) for k, v in rest[1:] if k is not None).items()))
    assert script._bare_line(line) == expected


_SELECTOR_WORDS = st.sampled_from(["/routing", "ospf", "set", "[", "]", "[find", "find]", "find",
                                   "default=yes",
                                   "name=x", "where", "a=b=c", "=x", "x", "router-id=10.0.0.1", "[ find ]"])


@given(st.lists(_SELECTOR_WORDS, min_size=1, max_size=9), st.sampled_from([" ", "  "]))
@settings(max_examples=300, deadline=None)
def test_a_line_with_a_selector_tokenizes_as_the_scanner_reads_it(words: list[str], gap: str) -> None:
    """`set [ find default=yes ] ...` read without the character scanner gives the scanner's words (or its
    error)."""
    from ikefleet.routeros import script

    line = gap.join(words)
    try:
        scanned: object = script._scan_tokens(line, 3)
    except ScriptError as exc:
        scanned = str(exc)
    try:
        read: object = script.tokenize(line, 3)
    except ScriptError as exc:
        read = str(exc)
    assert read == scanned
