"""How a verify's remediations and report are computed may change (a memo the routers of one run share,
views of each menu, the collector held off while judging); what they say may not.

`tests/data/remediations_ca84b84.json` holds digests of every output below as the code at ca84b84 gave them
(before any of it): made with `write_golden()` run against that tree (PYTHONPATH=<tree>:tests).
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, hub, write_inventory

from ikefleet.diff import Remediation, managed_part, remediate, restore
from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import host_major, render_host
from ikefleet.inventory import load_inventory
from ikefleet.plan import Plan, build_plan
from ikefleet.routeros.config import Config
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import ScriptError, parse_script

GOLDEN = Path(__file__).parent / "data" / "remediations_ca84b84.json"
SAMPLES = Path("/work/shared/routeros-samples")
VERIFY_DATA = Path(__file__).parent / "verify"


def fleet_of(root: Path) -> tuple[Fleet, Plan]:
    """A hub and eight branches, the last two on RouterOS 7."""
    hosts = {"hub": hub(), **{f"br{n}": branch(n) for n in range(1, 7)},
             **{f"br{n}": branch(n, ros_version="7.16.1") for n in (7, 8)}}  # fmt: skip
    fleet = load_inventory(write_inventory(root, hosts))
    return fleet, build_plan(fleet)


def drifted(config: Config, n: int) -> Config:
    """`config` with the drift kind `n % 5`: none, changed and dropped, foreign and extra, moved and
    disabled, unknown field and reset. Several routers get each kind, so a shared memo is hit with drift
    as well as without."""
    config = Config.from_json(config.to_json())
    menus = config.menus
    kind = n % 5
    if kind == 1:
        for item in menus.get("/ip ipsec proposal", []):
            item.values["pfs-group"] = "modp2048"
        if menus.get("/routing filter"):
            menus["/routing filter"].pop()
    elif kind == 2:
        for item in menus.get("/ip ipsec peer", [])[:1]:
            item.comment = "operator"  # someone else's now: ikefleet's peer is missing, its name taken
        rules = menus.get("/ip firewall filter", [])
        if rules:
            config.add("/ip firewall filter", {**rules[0].values, "dst-port": "8291"}, comment="ikefleet")
        for item in menus.get("/ip ipsec identity", [])[:1]:
            config.add("/ip ipsec identity", dict(item.values), comment="by hand")
    elif kind == 3:
        rules = menus.get("/ip firewall filter", [])
        if len(rules) > 1:
            rules[0], rules[1] = rules[1], rules[0]
        for item in menus.get("/ip firewall nat", [])[:1]:
            item.disabled = True
    elif kind == 4:
        for item in menus.get("/interface eoip", [])[:1]:
            item.values["mtu"] = "1400"
            item.values["x-unknown"] = "1"
        for item in menus.get("/ip ipsec peer", [])[:1]:
            item.values["local-address"] = "198.51.100.99"
        for item in menus.get("/ip ipsec profile", [])[:1]:
            item.values.pop("lifetime", None)
            item.values["dpd-interval"] = "00:00:15"
    return config


def remediation_text(rem: Remediation) -> dict[str, Any]:
    return {"commands": rem.commands, "rollback": rem.rollback, "diff": rem.diff(),
            "conflicts": rem.conflicts}  # fmt: skip


def exports() -> list[Path]:
    return sorted([*SAMPLES.glob("*export*"), *SAMPLES.glob("*/*export*")]) if SAMPLES.is_dir() else []


def cases(root: Path) -> Iterator[tuple[str, Config, Config, int]]:
    """(name, current, intended, major): the fleet's routers drifted, and the real exports as a router."""
    fleet, plan = fleet_of(root)
    for n, host in enumerate(["hub", *(b.name for b in plan.branches)]):
        intended = parse_script(render_host(fleet, plan, host))
        yield f"fleet:{host}", drifted(intended, n), intended, host_major(fleet, host)
    for path in exports():
        try:
            current = parse_script(path.read_text())
        except ScriptError:
            continue
        for host in ("hub", "br1"):
            major = 7 if path.name.startswith("v7") else 6
            dialect = with_versions(fleet, {host: "7.16.1" if major == 7 else "6.49.2"})
            yield f"export:{path.name}:{host}", current, parse_script(render_host(dialect, plan, host)), major


def outputs(root: Path, shared: dict[Any, Any] | None = None) -> dict[str, Any]:
    """Each case's remediation, restore and managed part; `shared`: one memo for all remediations."""
    out: dict[str, Any] = {}
    for name, current, intended, major in cases(root):
        schema = load_schema(major)
        made = remediate(current, intended, schema) if shared is None else \
            remediate(current, intended, schema, shared=shared)  # fmt: skip
        out[name] = remediation_text(made)
        out["restore:" + name] = remediation_text(restore(current, intended, schema))
        out["managed:" + name] = managed_part(current, intended, schema).to_json()
    return out


def report_json(edits: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """judge() on the recorded hub + 3 branches (tests/verify/data), each host's text edited (old, new)."""
    sys.path.insert(0, str(VERIFY_DATA))
    try:
        from recorded import DATA, HOSTS, raw, state
    finally:
        sys.path.remove(str(VERIFY_DATA))
    from ikefleet.verify.judge import judge

    fleet = load_inventory(DATA / "config.yaml")
    def edited(host: str) -> str:
        old, new = edits.get(host, ("", ""))
        assert old in raw(host), (host, old)
        return raw(host).replace(old, new) if old else raw(host)

    states = {h: state(h, lambda _, h=h: edited(h)) for h in HOSTS}
    data = judge(fleet, build_plan(fleet), states).to_json()
    return {k: v for k, v in data.items() if k not in ("started", "finished")}


REPORT_EDITS: dict[str, dict[str, tuple[str, str]]] = {
    "converged": {},
    "drifted": {
        "br1": ("pfs-group=modp4096", "pfs-group=modp2048"),
        "br2": ("/ip ipsec proposal add", "/ip ipsec proposal add comment=by-hand"),
        "hub": ("name=ikefleet pfs-group=modp4096", "name=ikefleet pfs-group=modp1024"),
    },
}


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def digests(root: Path) -> dict[str, str]:
    found = {name: digest(value) for name, value in outputs(root).items()}
    found.update({f"report:{name}": digest(report_json(edits)) for name, edits in REPORT_EDITS.items()})
    return found


def write_golden() -> None:  # pragma: no cover - run by hand against the reference tree
    import tempfile

    GOLDEN.write_text(json.dumps(digests(Path(tempfile.mkdtemp())), indent=1, sort_keys=True) + "\n")


def test_remediations_and_reports_are_as_before(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    found = digests(tmp_path)
    if not SAMPLES.is_dir():  # the corpus lives beside the checkout: compare what can be made here
        golden = {k: v for k, v in golden.items() if "export:" not in k}
    assert len(golden) > 40 and any(k.startswith("report:") for k in golden)
    changed = sorted(k for k in golden if found.get(k) != golden[k])
    assert not changed, changed


def test_the_drift_makes_every_kind_of_remediation(tmp_path: Path) -> None:
    """The cases exercise adds, sets, unsets, removes, moves, conflicts (else the digests prove little)."""
    made = outputs(tmp_path)
    commands = [c for k, v in made.items() if k.startswith("fleet:") for c in v["commands"]]
    for verb in (" add ", " set ", " unset ", " remove ", " move "):
        assert any(verb in c for c in commands), verb
    assert any(v["conflicts"] for k, v in made.items() if k.startswith("fleet:"))
    assert not made["fleet:hub"]["commands"] and not made["fleet:br5"]["commands"]  # the converged ones


def test_a_memo_shared_by_a_runs_remediations_changes_none_of_them(tmp_path: Path) -> None:
    shared: dict[Any, Any] = {}
    alone = outputs(tmp_path / "alone")
    together = outputs(tmp_path / "shared", shared)
    assert together == alone
    menus = sum(len({*c.menus, *i.menus}) for _, c, i, _ in cases(tmp_path / "count"))
    assert 0 < len(shared) < menus * 0.7  # menus alike on several routers were worked out once


def test_judge_holds_the_collector_off_and_gives_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import ikefleet.verify.judge as judge_module

    seen: list[bool] = []
    real = judge_module.evaluate

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(judge_module, "evaluate", watched)
    assert gc.isenabled()
    first = report_json({})
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that holds it off itself keeps it off
    try:
        assert report_json({}) == first
        assert not gc.isenabled()
    finally:
        gc.enable()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("evaluate failed")

    monkeypatch.setattr(judge_module, "evaluate", broken)
    with pytest.raises(RuntimeError):
        report_json({})
    assert gc.isenabled()
