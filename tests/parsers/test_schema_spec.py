"""What a `Spec` learns while parsing (its names' plan, its flag defaults, what is no evidence) is its own:
a spec made after another one was freed never reads with the freed one's knowledge (the tables keyed by
`id(spec)` did, as CPython gives a new object the freed one's address)."""

from __future__ import annotations

import gc
from typing import TypedDict

from ikefleet.parsers.schema import Spec, run


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
