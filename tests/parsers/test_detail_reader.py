"""The fast reader of plain key=value prints (`detail.read_items`) reads exactly as the engine's line reader:
the same records, the same ParseError at the same line, on real captures and on generated prints meant to
find the cases where the two could part (wrapped quotes, index-less items, blank lines, headers, repaints)."""

from __future__ import annotations

import random
import sys
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from ikefleet.parsers import detail, engine, parse_installed_sa
from ikefleet.parsers.detail import Handover, read_items
from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.ipsec import INSTALLED_SA
from ikefleet.parsers.raw import RawRecord
from ikefleet.parsers.text import clean_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from parse_bench import hub_output

SAMPLES = Path("/work/shared/routeros-samples")
COMMAND = "/ip ipsec installed-sa print"
Outcome = list[RawRecord] | tuple[str, int | None]


def _declined(text: str, command: str, legend: Mapping[str, str]) -> Generator[RawRecord, None, Handover]:
    """read_items declining every text: the engine's line reader reads it all, as before the fast reader."""
    return Handover(0, 1, dict(legend), None)
    yield  # (a generator, as read_items is)


@contextmanager
def line_reader_only() -> Iterator[None]:
    with mock.patch.object(engine, "read_items", _declined):
        yield


def outcome(text: str, legend: Mapping[str, str]) -> Outcome:
    try:
        return engine.parse_print(text, COMMAND, legend)
    except ParseError as exc:
        return (exc.message, exc.line)


def both(text: str, legend: Mapping[str, str]) -> tuple[Outcome, Outcome]:
    fast = outcome(text, legend)
    with line_reader_only():
        slow = outcome(text, legend)
    return fast, slow


def read_fully(text: str) -> bool:
    """True when read_items reads `text` to its end without handing over."""
    return fast_read(text) == -1


def fast_read(text: str) -> int:
    """Where read_items handed over (0: it read nothing), -1 when it read `text` to its end."""
    items = read_items(text, COMMAND, {})
    try:
        while True:
            next(items)
    except StopIteration as stop:
        return -1 if stop.value is None else int(stop.value.offset)
    except ParseError:
        return -1


def test_a_hub_detail_print_is_read_whole_by_the_fast_reader_as_the_line_reader_reads_it() -> None:
    text = hub_output(300)
    assert read_fully(text)
    fast, slow = both(text, INSTALLED_SA.legend)
    assert fast == slow
    assert isinstance(fast, list) and len(fast) == 300
    assert fast[7].index == 7 and fast[7].flags == {"esp"}
    assert "auth-key" not in fast[7].values and "enc-key" not in fast[7].values
    assert fast[7].values["addtime"] == "nov/27/2026 00:40:46"
    assert fast[7].values["add-lifetime"] == "24m/30m"
    records = parse_installed_sa(text)
    assert "0123456789abcdef" not in repr(records)


def test_a_wrapped_quoted_value_is_joined_without_a_space_and_a_bad_item_names_its_line() -> None:
    text = 'Flags: X - disabled\n 0   name="a long\n      name" comment=x\n\n 1 X !!b=1\n      mtu=1500\n'
    assert read_fully(text)
    fast, slow = both(text, {})
    assert fast == slow == ("expected key=value, got '!!b=1 mtu=1500'", 5)
    fast, slow = both(text.replace("!!b=1", "name=b"), {})
    assert fast == slow
    assert isinstance(fast, list) and fast[0].values["name"] == "a longname"
    assert fast[1].flags == {"disabled"}


def test_the_line_reader_takes_over_where_the_text_stops_being_plain() -> None:
    # an item's line without "=" (`x y=1` goes on with the previous value by the line reader's rules)
    text = " 0 name=a\n      mtu=1\n 1 name=b\n      x y=1\n 2 name=c\n"
    with pytest.raises(StopIteration) as stop:
        next(read_items(text, COMMAND, {}))  # item 0 is not handed on: a table row could still add to it
    handover = stop.value.value
    assert (handover.offset, handover.lineno) == (text.index(" 1 name=b"), 3)
    assert handover.last is not None and handover.last.values == {"name": "a", "mtu": "1"}
    fast, slow = both(text, {})
    assert fast == slow
    assert isinstance(fast, list) and [r.values.get("name") for r in fast] == ["a", "b x", "c"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/routeros-samples not available")
def test_every_real_capture_reads_the_same_as_printed_and_as_its_clean_lines() -> None:
    files = sorted(SAMPLES.rglob("*.txt"))
    assert len(files) > 50
    fully = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = "\r\n".join(clean_lines(text)) + "\r\n"  # as a session's reply: prompts and echo gone
        for version in (text, clean):
            for legend in ({}, INSTALLED_SA.legend):
                fast, slow = both(version, legend)
                assert fast == slow, path.name
        fully += read_fully(clean) and bool(clean.strip())
    assert fully >= 5  # real detail prints do take the fast path


FIRSTS = [" 0  E spi=0x1 src-address=192.0.2.1:4500", "12 ADo  dst-address=10.0.0.0/24 gateway=ether1",
          "*1 X name=a", " 3", " 4  A", " 5 ABCDEFGHI x=1", " 6 E ;;; c", ' 7 XD  name="long',
          "   DA  dst-address=10.1.0.0/16", "1999  E spi=0x2", " 8 E  x y=1", ' 9  name="a" mtu=1',
          " 10 E =x", " 11 + * name=a"]
GOES_ON = ["      state=mature auth-algorithm=sha256", '      auth-key="0123"', '      enc-key="0123',
           '      4567" addtime=nov/27/2026 00:40:46', "      23456789", "      12 x=1", "      x y=1",
           "state=mature", '      name="a b" c=d', "      issuer=CN=CA", "      =x", "      a=1 b",
           "      gateway-status=10.0.0.2 reachable via  ether1", "      E x=1", '      v=""', "      ABC",
           # (characters at the ends of the body's ranges)
           '      a=!#\x7f\x0e\x00 b="!#\x7f\x0e\x00"', '      c="\x01!', '      \x7f#!" d=\x08',
           '      k="a=b c" d=1', "      port=4500 local-address=1.2.3.4 port=500", "      spii=1 spii=2"]
OTHERS = ["", "   ", "Flags: X - disabled, E - ESP", "Flags: X - disabled,", "   D - dynamic",
          " #  DST-ADDRESS  GATEWAY", "Columns: A, B", ";;; comment", "      ;;; c", "junk", "[admin@R1] > ",
          "-- [Q quit|D dump|down]", "\x1b[K", "a\rb", "\u00e9=1", "\tx=1", '      key="a\\"b"',
          "ip ipsec installed-sa print detail", '[{".id":"*1"}]', ".id=*1;name=a"]


def generated(rng: random.Random) -> str:
    lines = []
    if rng.random() < 0.5:
        lines.append(rng.choice(["Flags: H - hw-aead, A - AH, E - ESP", "Flags: X - disabled, E - ESP", ""]))
    if rng.random() < 0.8:
        lines.append(rng.choice(FIRSTS))
    for _ in range(rng.randrange(0, 14)):
        pool = rng.choices([FIRSTS, GOES_ON, OTHERS], weights=[4, 8, 0.5])[0]
        line = rng.choice(pool)
        if rng.random() < 0.1:
            line += "  "
        lines.append(line)
    text = rng.choice(["\n", "\r\n"]).join(lines)
    return text + rng.choice(["", "\n", "\r\n", "\r\n\r\n", "  "])


def test_generated_prints_read_the_same_by_both_readers() -> None:
    rng = random.Random(30)
    read = fully = 0
    for _ in range(6000):
        text = generated(rng)
        for legend in ({}, INSTALLED_SA.legend):
            fast, slow = both(text, legend)
            assert fast == slow, repr(text)
        where = fast_read(text)
        read += where != 0
        fully += where == -1
    assert read > 2000 and fully > 1000  # the comparison does reach the fast reader, and its hand-over


def test_a_plain_text_has_no_line_the_cleaning_changes() -> None:
    assert detail.plain(hub_output(3))
    for mark in ("\x1b[K", "\t", "\\", ">", ";;;", "-- [Q quit|D dump|down]", "\u00e9", "\x0c"):
        assert not detail.plain(hub_output(3) + mark)


COMMENTED = ["v6__interface_eoip_print__ru-notes.txt", "v6__ip_route_print_detail__ntc.txt",
             "v7-more/v7__routing_bfd_session_print__helpmt-bfd.txt"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/routeros-samples not available")
@pytest.mark.parametrize("name", COMMENTED)
def test_items_whose_first_line_is_their_comment_are_read_by_the_fast_reader(name: str) -> None:
    # " 0  R ;;; router1" then the pairs below: ikefleet's own policy, EoIP and OSPF interface reads
    clean = "\r\n".join(clean_lines((SAMPLES / name).read_text(encoding="utf-8"))) + "\r\n"
    assert read_fully(clean)
    fast, slow = both(clean, {})
    assert fast == slow
    assert isinstance(fast, list) and any(record.comment for record in fast)


def test_a_comment_after_the_legend_that_could_go_on_with_it_is_left_to_the_line_reader() -> None:
    # a first item's comment line holding " - " may be the legend going on (the line reader's rule)
    text = "Flags: X - disabled, R - running\n 0  R ;;; a - b\n      name=x mtu=1\n"
    assert fast_read(text) == 0
    fast, slow = both(text, {})
    assert fast == slow
    text = "Flags: X - disabled, R - running\n 0  R ;;; ab\n      name=x mtu=1\n"
    assert read_fully(text)
    fast, slow = both(text, {})
    assert fast == slow and isinstance(fast, list) and fast[0].comment == "ab"


def test_an_item_read_again_is_a_record_of_its_own_and_a_bad_one_names_its_command_and_line() -> None:
    text = " 0  E spi=0x1 state=mature\n 1  E spi=0x1 state=mature\n"
    first, second = engine.parse_print(text, COMMAND, INSTALLED_SA.legend)
    first.values["spi"] = "changed"
    assert second.values == {"spi": "0x1", "state": "mature"}
    bad = ' 0  E spi=0x1\n 1  E spi="a"b"c\n'
    for command in ("/ip ipsec installed-sa print", "/ip ipsec policy print"):
        fast, slow = both(bad, {})
        assert fast == slow
        with pytest.raises(ParseError) as error:
            engine.parse_print(bad, command, {})
        assert (error.value.command, error.value.line) == (command, 2)
