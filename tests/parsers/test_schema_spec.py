"""What a `Spec` learns while parsing (its names' plan, its flag defaults, what is no evidence) is its own:
a spec made after another one was freed never reads with the freed one's knowledge (the tables keyed by
`id(spec)` did, as CPython gives a new object the freed one's address)."""

from __future__ import annotations

import gc
from typing import TypedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.raw import RawRecord
from ikefleet.parsers.schema import Spec, convert, run
from ikefleet.parsers.values import Seconds


class _Peer(TypedDict, total=False):
    address: str
    name: str
    passive: bool


class _Port(TypedDict, total=False):
    port: int
    address: str
    disabled: bool


def _peer_spec() -> Spec:
    return Spec(command="/ip peer print", record=_Peer, legend={"P": "passive"}, flags={"passive": "passive"})


def _port_spec() -> Spec:
    return Spec(command="/ip port print", record=_Port, legend={"X": "disabled"},
                flags={"disabled": "disabled"}, aliases={"remote": "address"})


def test_a_spec_made_where_a_freed_one_was_reads_with_its_own_plan() -> None:
    # made, used and freed in turn: CPython puts each new spec where the last one was
    for _ in range(5):
        peer = _peer_spec()
        assert run(" 0 P address=192.0.2.1 remote=a\n", peer) == [
            {"index": 0, "passive": True, "address": "192.0.2.1", "extra": {"remote": "a"}}
        ]
        del peer
        gc.collect()
        port = _port_spec()
        # "remote" is this spec's alias of address (the peer's plan said: an extra); "passive" is no flag of
        # this one (the peer's defaults said False); its own flag defaults to False
        assert run(" 0 remote=192.0.2.9 port=500\n", port) == [
            {"index": 0, "disabled": False, "address": "192.0.2.9", "port": 500}
        ]
        del port
        gc.collect()


def test_each_spec_keeps_its_plan_flag_defaults_and_evidence() -> None:
    spec = Spec(command="/ip peer print", record=_Peer, legend={"P": "passive"}, flags={"passive": "passive"})
    assert spec.flag_defaults == {"passive": False}
    assert spec.not_evidence == {"index", "object_id", "comment", "extra", "passive"}
    run(" 0 P address=192.0.2.1\n", spec)
    assert spec.plan["address"][0] == "address"
    assert spec.plan is spec.plan  # computed once, then an attribute


class _Typed(TypedDict, total=False):
    index: int
    comment: str
    address: str
    port: int
    mtu: int
    uptime: Seconds
    disabled: bool
    dynamic: bool


KEYS = ["address", "remote", "port", "mtu", "uptime", "disabled", "dynamic", "comment", "index", "x", "Y-z"]
VALUES = ["", "1", " 2 ", "0x1F", "-3", "1_0", "\u0663", "\u00b2", "yes", "no", "1h2m", "abc", "0x"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(KEYS), max_size=6),
                          st.lists(st.sampled_from(VALUES), min_size=6, max_size=6),
                          st.sets(st.sampled_from(["disabled", "dynamic", "other"])),
                          st.booleans()),
                min_size=1, max_size=4))
def test_a_record_typed_by_its_learnt_layout_is_typed_as_by_each_name(
        records: list[tuple[list[str], list[str], set[str], bool]]) -> None:
    # the first record of a key order is typed name by name (and its layout learnt); the same record again
    # takes the layout: each must give the same record, or the same error (a flag or an id whose field's
    # value is empty keeps its own; ints as int() reads them or, hex and errors, as `integer` does)
    spec = Spec(command="/x print", record=_Typed, legend={"X": "disabled"},
                flags={"disabled": "disabled", "dynamic": "dynamic"}, aliases={"remote": "address"})
    for keys, values, flags, printed in records:
        raw = RawRecord(index=3, comment="c", flags=flags, values=dict(zip(keys, values, strict=False)),
                        printed=printed)
        first, again = _outcome(raw, spec), _outcome(raw, spec)
        assert first == again
        if isinstance(first, str):  # (no error: learnt unless two keys name one field)
            names = [spec.plan[key][0] for key in raw.values if spec.plan[key][0]]
            assert (tuple(raw.values) in spec.layouts) == (len(set(names)) == len(names))


def _outcome(raw: RawRecord, spec: Spec) -> object:
    try:
        record = convert(raw, spec)
    except ParseError as exc:
        return ("ParseError", exc.message)
    return repr(record)  # (the order and the types too)
