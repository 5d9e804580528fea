"""Stories on recorded output: a router's failures are grouped under its first failing layer, cause and
hint first; the hub's results about a branch are that branch's; a late layer alone is its own cause."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from recorded import report, state

from ikefleet.reports.console import render_console
from ikefleet.reports.json_report import render_json
from ikefleet.reports.junit import render_junit
from ikefleet.reports.prometheus import render_prometheus
from ikefleet.verify.checks import router_time
from ikefleet.verify.engine import Report, layer_order, load_checks
from ikefleet.verify.gather import HostState

TIMEOUT = (
    " 9 time=00:00:01 topics=ipsec,error message=phase1 negotiation failed due to time up "
    "198.51.100.3[500]<=>203.0.113.1[500]\n"
)


def empty(*sections: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for s in sections:
            text = re.sub(rf"(<<ikefleet:{s}>>\n).*?(?=<<ikefleet:)", r"\1", text, flags=re.S)
        return text

    return edit


def br2_wan_cut(text: str) -> str:
    """br2 as its WAN is cut: no IKE peer, no SA, no OSPF neighbour, no BFD, a phase 1 time-out logged."""
    text = empty("active_peers", "installed_sa", "ospf_neighbor", "bfd")(text)
    return text.replace("<<ikefleet:log>>\n", "<<ikefleet:log>>\n" + TIMEOUT)


def hub_loses_br2(text: str) -> str:
    """The hub's view of the same cut: br2's peer and OSPF neighbour are gone."""
    text = re.sub(r" \d+ R  id=CN=br2-client.*?\n\n", "", text, flags=re.S)
    return re.sub(r" \d+ instance=default router-id=192\.168\.3\.1 .*?\n\n", "", text, flags=re.S)


def wan_cut() -> Report:
    return report({"br2": br2_wan_cut, "hub": hub_loses_br2})


def problems(rep: Report) -> list[tuple[str, str, str]]:
    return sorted((r.check, r.host, r.subject) for r in rep.failures())


def test_every_check_has_a_layer_in_the_order() -> None:
    specs, _ = load_checks()
    order = layer_order()
    assert all(s.layer in order for s in specs)
    assert order.index("reachability") < order.index("ike") < order.index("sa") < order.index("eoip")
    assert order.index("eoip") < order.index("ospf") < order.index("bfd") < order.index("routes")
    assert order.index("routes") < order.index("filters")


def test_wan_cut_is_one_story_under_ike_with_the_hub_view_folded_in() -> None:
    rep = wan_cut()
    stories = {s.host: s for s in rep.stories()}
    assert set(stories) == {"br2", "fleet"}  # hub, br1 and br3 have nothing of their own
    br2 = stories["br2"]
    assert (br2.layer, br2.cause.check, br2.cause.host) == ("ike", "ike.peer", "br2")
    assert br2.cause.hint.startswith("br2's WAN is down or its uplink cannot reach 203.0.113.1")
    assert "/ping 203.0.113.1" in br2.cause.hint
    folded = [(s.check, s.host, s.subject) for s in br2.symptoms]
    assert ("hub.peers", "hub", "br2") in folded and ("hub.ospf", "hub", "br2") in folded
    assert {"ipsec.sa", "ospf.neighbor", "bfd.neighbor"} <= {c for c, _, _ in folded}
    layers = [s.layer for s in br2.symptoms]
    assert layers == sorted(layers, key=layer_order().index)  # told up the stack
    # nothing lost, nothing twice: every problem is one story's cause or symptom
    told = sorted((r.check, r.host, r.subject) for s in stories.values() for r in (s.cause, *s.symptoms))
    assert told == problems(rep)


def test_wan_cut_in_json_console_junit_and_prometheus() -> None:
    rep = wan_cut()
    data = json.loads(render_json(rep))
    story = data["stories"]["br2"]
    assert list(story) == ["status", "cause", "symptoms"]
    assert story["cause"]["layer"] == "ike" and story["cause"]["check"] == "ike.peer"
    assert story["cause"]["hint"].startswith("br2's WAN is down")
    assert {"check": "hub.peers", "host": "hub", "subject": "br2"}.items() <= next(
        s for s in story["symptoms"] if s["check"] == "hub.peers"
    ).items()
    assert "br1" not in data["stories"] and "hub" not in data["stories"]
    by_about = {(r["check"], r["subject"]): r["about"] for r in data["results"] if r["host"] == "hub"}
    assert by_about[("hub.peers", "br2")] == "br2" and by_about[("hub.unknown-peers", "")] == "hub"

    text = render_console(rep, width=400)
    block = text[text.index("\nbr2: ") :]
    assert block.index("ike.peer") < block.index("hint: br2's WAN is down") < block.index("ipsec.sa")
    assert block.index("hint: br2's WAN") < block.index("hub.peers (br2) on hub")
    assert "\nhub: " not in text and "\nbr1: " not in text

    root = ET.fromstring(render_junit(rep))
    stories = next(s for s in root.iter("testsuite") if s.get("name") == "stories")
    cases = {c.get("name"): c for c in stories.iter("testcase")}
    assert set(cases) == {"hub", "br1", "br2", "br3", "fleet"}
    failure = cases["br2"].find("failure")
    assert failure is not None and failure.get("type") == "ike"
    assert (failure.get("message") or "").startswith("br2's WAN is down")
    body = failure.text or ""
    assert body.startswith("cause (ike): ike.peer on br2\nhint: br2's WAN is down")
    assert "hub.peers [br2] on hub" in body and "ipsec.sa on br2" in body
    assert all(cases[h].find("failure") is None for h in ("hub", "br1", "br3"))

    families = {f.name: f for f in text_string_to_metric_families(render_prometheus(rep))}
    causes = {s.labels["host"]: s.labels for s in families["ikefleet_host_cause"].samples}
    assert causes["br2"] == {"host": "br2", "layer": "ike", "check": "ike.peer"}
    assert "br1" not in causes and "hub" not in causes


def test_a_late_layer_alone_is_its_own_cause() -> None:
    leak = (
        " 9 ADo  dst-address=172.16.0.4/30 gateway=172.16.0.1 \n"
        "        gateway-status=172.16.0.1 reachable via  eoip-hub distance=110 \n"
        "        scope=20 target-scope=10 ospf-metric=20 ospf-type=intra-area \n\n"
    )
    rep = report({"br1": lambda t: t.replace("<<ikefleet:bfd>>", leak + "<<ikefleet:bfd>>")})
    (story,) = rep.stories()
    assert (story.host, story.layer, story.cause.check, story.symptoms) == (
        "br1", "filters", "routes.no-tunnel-nets", ()
    )
    assert "ospf-in" in story.cause.hint and "ikefleet rollout" in story.cause.hint


def test_a_failure_is_the_cause_before_a_lower_warning() -> None:
    when = router_time(state("br2")) + timedelta(days=10)  # type: ignore[operator]
    stamp = when.strftime("%b/%d/%Y %H:%M:%S").lower()

    def renew_and_exstart(text: str) -> str:  # certificate inside the renew window, OSPF in ExStart
        at = text.index('name="br2-client"')
        head, block = text[:at], text[at:]
        old = block[block.index("invalid-after=") : block.index("expires-after=")]
        return (head + block.replace(old, f"invalid-after={stamp} ", 1)).replace(
            'state="Full"', 'state="ExStart"'
        )

    (story,) = report({"br2": renew_and_exstart}).stories()
    assert story.cause.check == "ospf.neighbor" and "MTU" in story.cause.hint
    assert [(s.check, s.status) for s in story.symptoms] == [("cert.valid", "warn")]
    (warned,) = report({"br2": lambda t: renew_and_exstart(t).replace('"ExStart"', '"Full"')}).stories()
    assert (warned.status, warned.cause.check) == ("warn", "cert.valid")


def test_unreachable_router_story_is_its_reachability() -> None:
    rep = report(br1=HostState("br1", error="ConnectionRefusedError: refused"))
    (story,) = [s for s in rep.stories() if s.host == "br1"]
    assert (story.status, story.layer, story.cause.check) == ("error", "reachability", "host.reachable")
    assert {s.status for s in story.symptoms} == {"error"}
    text = render_console(rep, width=400)
    assert "12 checks could not run" in text and text.count("COULD NOT CHECK") == 3  # table, story, cause


def test_a_healthy_fleet_has_no_story() -> None:
    rep = report()
    assert rep.compliant and rep.stories() == []
    assert json.loads(render_json(rep))["stories"] == {}


def test_verbose_console_adds_symptom_hints_and_passed_checks() -> None:
    rep = wan_cut()
    plain, verbose = render_console(rep, width=400), render_console(rep, width=400, verbose=True)
    hub_ospf_hint = next(r.hint for r in rep.failures() if r.check == "hub.ospf")
    assert hub_ospf_hint not in plain and hub_ospf_hint in verbose
    assert "br1 passed: host.reachable, ike.peer" in verbose and "br1 passed" not in plain
