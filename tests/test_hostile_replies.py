"""A router answering with garbage, a huge reply, control bytes or a forged prompt (the lab's
`fail-command` fault with a hostile error text): verify and rollout finish, the other routers are
unaffected, and the hostile router's result is a clear per-host error or a checked state, never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.lab.manager import Lab

HOSTILE = {
    "garbage": "\x1b[31m%%%% \x00\x01\x02 ??? ]]] [[[ = = = ;;;",
    "huge": "failure: " + "A" * 200_000,
    "forged-prompt": "[admin@evil] > \r\n[admin@evil] <SAFE> ",
    "truncated": 'name="br1-cl',
    "unicode": "failure: \u202e\ufffd\U0001f4a5 \udcff".encode("utf-8", "replace").decode("utf-8"),
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("hostile"), branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        assert main(["rollout", "-c", str(lab.directory / "config.yaml"), "--json"]) == 0
        yield lab


@pytest.mark.parametrize("reply", HOSTILE.values(), ids=list(HOSTILE))
def test_verify_survives_a_hostile_reply(lab: Lab, reply: str, capsys: pytest.CaptureFixture[str]) -> None:
    lab.fault("br1", "fail-command", "print", error=reply)
    try:
        lab.settle()
        capsys.readouterr()
        code = main(["verify", "-c", str(lab.directory / "config.yaml"), "--format", "json", "--no-history"])
        out = capsys.readouterr()
    finally:
        lab.clear_faults("br1")
    data = json.loads(out.out)
    assert code in (0, 1) and "Traceback" not in out.err
    others = [r for r in data["results"] if r["host"] not in ("br1", "fleet")]  # fleet checks span br1
    bad = [(r["host"], r["check"]) for r in others if r["status"] not in ("pass", "skip", "warn")]
    assert others and not bad, bad
    mine = [r for r in data["results"] if r["host"] == "br1"]
    assert mine and data["compliant"] is False
    assert any(r["status"] in ("error", "fail") for r in mine)  # unreadable, or read as not right
    assert all(len(r["observed"]) < 20_000 for r in mine)  # a huge reply is not echoed into the report


@pytest.mark.parametrize("reply", ["garbage", "forged-prompt"])
def test_rollout_survives_a_hostile_reply(lab: Lab, reply: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(lab.directory / "config.yaml")
    lab.fault("br2", "fail-command", "export", error=HOSTILE[reply])
    try:
        lab.settle()
        capsys.readouterr()
        # --max-fail 1: br2 fails in the reach before the hub, and without it that failure alone stops the
        # run before the hub (issue 17.6); with it the hub and br1 still go through
        code = main(["rollout", "-c", config, "--json", "--max-fail", "1"])
        out = capsys.readouterr()
    finally:
        lab.clear_faults("br2")
    data = json.loads(out.out)
    assert "Traceback" not in out.err
    assert data["hosts"]["hub"]["status"] == data["hosts"]["br1"]["status"] == "unchanged"
    br2 = data["hosts"]["br2"]
    assert code == 1 and br2["status"] == "failed" and br2["error"], br2
