"""One engine runs every check of checks.yaml over the gathered states and returns a Report.

A host that could not be read gets `host.reachable` = error and every other check on it `error` ("could
not check"): an unreachable router is never compliant. A section that could not be read or parsed makes
the checks needing it `error` too. `Report.stories()` tells each router's problems as one story (story.py).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from ikefleet.inventory_yaml import safe_yaml
from ikefleet.redact import scrub
from ikefleet.routeros.schema import yaml_cached

from .checks import EVALUATORS, NEEDS, Context, Finding
from .expected import Expected
from .gather import HostState
from .story import Story, tell

STATUSES = ("error", "fail", "warn", "skip", "pass")  # worst first
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    scope: str  # host | hub | branch | fleet
    severity: str
    layer: str  # where in the tunnel's stack it looks: checks.yaml `layers`
    hint: dict[str, str]


def load_checks() -> tuple[list[CheckSpec], dict[str, Any]]:
    specs, settings, _ = _checks()
    return list(specs), copy.deepcopy(settings)


def layer_order() -> tuple[str, ...]:
    """The layers of checks.yaml, lowest first: the first failing one is a router's cause."""
    return _checks()[2]


@cache
def _checks() -> tuple[tuple[CheckSpec, ...], dict[str, Any], tuple[str, ...]]:
    """checks.yaml, read once per process (`compliance --every` evaluates again and again)."""
    text = resources.files("ikefleet.verify").joinpath("checks.yaml").read_text()
    ((_, data),) = yaml_cached("checks", [("checks.yaml", text)], safe_yaml().load)
    specs = tuple(CheckSpec(**c) for c in data["checks"])
    layers = tuple(data["layers"])
    missing = [c.id for c in specs if c.id not in EVALUATORS and c.id != "host.reachable"]
    if missing:
        raise RuntimeError(f"checks.yaml names checks without an evaluator: {missing}")
    unlayered = [f"{c.id}: {c.layer}" for c in specs if c.layer not in layers]
    if unlayered:
        raise RuntimeError(f"checks.yaml gives checks a layer not in `layers`: {unlayered}")
    return specs, dict(data.get("settings") or {}), layers


@dataclass
class CheckResult:
    """One check's verdict on one host (and subject). Not Nornir's `Result`, which carries a task's return
    value: a verify run's Nornir results hold HostStates, its Report holds these."""

    check: str
    title: str
    host: str
    status: str
    severity: str
    subject: str = ""
    expected: str = ""
    observed: str = ""
    hint: str = ""
    since: str = ""  # when this check started failing (from history), ISO time
    metrics: dict[str, float] = field(default_factory=dict)
    layer: str = ""  # the check's layer (checks.yaml); "" sorts after every layer
    about: str = ""  # the router the result is about: a hub result names its branch; "" = `host`

    def to_json(self) -> dict[str, Any]:
        # (not dataclasses.asdict: it deep-copies every field; all but `metrics` are strings, 3,400 results
        # at 200 branches)
        data = {name: getattr(self, name) for name in _RESULT_FIELDS}
        data["metrics"] = {k: v for k, v in self.metrics.items() if not math.isnan(v)}
        return data


_RESULT_FIELDS = tuple(f.name for f in fields(CheckResult))


def _worst(statuses: Iterable[str]) -> str:
    """The worst of a host's statuses (STATUSES is worst first); "pass" for none."""
    present = set(statuses)
    return next((s for s in STATUSES if s in present), "pass")


@dataclass
class Report:
    started: datetime
    finished: datetime
    hosts: list[str]
    results: list[CheckResult]

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}

    @property
    def compliant(self) -> bool:
        """Every check passed, on at least one router: a report that checked none is never compliant."""
        return bool(self.hosts) and all(r.status in ("pass", "skip", "warn") for r in self.results)

    @property
    def could_not_run(self) -> bool:
        """Nothing could be checked: no host was asked, or every host was unreachable."""
        return not self.hosts or (
            all(r.status == "error" for r in self.results if r.check == "host.reachable")
            and len([r for r in self.results if r.check == "host.reachable"]) == len(self.hosts)
        )

    def host_status(self, host: str) -> str:
        return _worst(r.status for r in self.results if r.host == host)

    def results_by_host(self) -> dict[str, list[CheckResult]]:
        """The results grouped by host, in order, in one pass: what a per-host report reads (a scan of
        every result per host grows with the fleet squared: 200 hosts 11 ms, 1,000 hosts ~0.3 s)."""
        grouped: dict[str, list[CheckResult]] = {}
        for r in self.results:
            grouped.setdefault(r.host, []).append(r)
        return grouped

    def host_statuses(self, hosts: list[str]) -> dict[str, str]:
        """Each host's worst status (`results_by_host`: one pass over the results)."""
        grouped = self.results_by_host()
        return {h: _worst(r.status for r in grouped.get(h, ())) for h in hosts}

    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status in ("error", "fail", "warn")]

    def stories(self) -> list[Story]:
        """Each router's problems as one story, cause first (worst routers first, the fleet last)."""
        return tell(self.results, layer_order())

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "compliant": self.compliant,
            "counts": self.counts,
            "hosts": self.host_statuses(self.hosts),
            "results": [r.to_json() for r in self.results],
            "stories": {s.host: s.to_json() for s in self.stories()},
        }


def _hint(spec: CheckSpec, host: str, f: Finding, clean: Callable[[str], str]) -> str:
    if f.status == "pass":
        return ""
    if f.status == "error" and spec.id != "host.reachable":
        return f"could not check {spec.id} on {host}: {f.observed}"
    template = spec.hint.get(f.reason) or spec.hint.get("default", "")
    values = {"host": host, "subject": f.subject, "expected": f.expected, "observed": f.observed, **f.facts}
    try:
        return clean(template.format(**values))
    except (KeyError, ValueError, IndexError):  # a fact the evaluator did not give: the plain default
        return clean(f"{spec.title}: expected {f.expected}, observed {f.observed}")


def _scope_hosts(spec: CheckSpec, expected: Expected, hosts: list[str]) -> list[str]:
    if spec.scope == "hub":
        return [h for h in hosts if h == expected.hub]
    if spec.scope == "branch":
        return [h for h in hosts if h in expected.tunnels]
    if spec.scope == "fleet":
        return ["fleet"] if expected.hub in hosts else []
    return list(hosts)


def _result(spec: CheckSpec, host: str, f: Finding, clean: Callable[[str], str]) -> CheckResult:
    return CheckResult(
        check=spec.id,
        title=spec.title,
        host=host,
        status=f.status,
        severity=spec.severity,
        subject=f.subject,
        expected=clean(f.expected),
        observed=clean(f.observed),
        hint=_hint(spec, host, f, clean),
        metrics=dict(f.metrics),
        layer=spec.layer,
        about=f.subject if spec.scope == "hub" and f.subject else host,
    )


def evaluate(expected: Expected, states: dict[str, HostState], now: datetime | None = None) -> Report:
    """Every check on every host in `states` (the hosts that were asked, reachable or not)."""
    started = now or datetime.now(UTC)
    specs, settings = load_checks()
    ctx = Context(expected, states, settings, started)
    hosts = [h for h in expected.hosts if h in states]
    # Every text is scrubbed, and most are alike across routers ("Full", "no difference"): 6,800 texts, 1,200
    # different, at 200 branches. Each is scrubbed once per report, against the secrets known when it began.
    clean = cache(scrub)
    results: list[CheckResult] = []
    for spec in specs:
        for host in _scope_hosts(spec, expected, hosts):
            results.extend(_run(spec, ctx, host, clean))
    return Report(started, datetime.now(UTC), hosts, results)


def _run(spec: CheckSpec, ctx: Context, host: str, clean: Callable[[str], str]) -> list[CheckResult]:
    target = ctx.expected.hub if host == "fleet" else host
    state = ctx.states[target]
    if spec.id == "host.reachable":
        status = "pass" if state.reachable else "error"
        return [_result(spec, host, Finding(status, "reachable", state.error or "reachable"), clean)]
    if not state.reachable:
        return [_result(spec, host, Finding("error", "", f"{target} unreachable"), clean)]
    unread = [f"{s}: {state.problems[s]}" for s in NEEDS[spec.id] if s in state.problems]
    if unread:
        return [_result(spec, host, Finding("error", "", "could not read " + "; ".join(unread)), clean)]
    fn = EVALUATORS[spec.id]
    try:
        findings = fn(ctx) if spec.scope == "fleet" else fn(ctx, host)
    except Exception as exc:  # a bug or an unexpected shape: this check could not decide
        findings = [Finding("error", "", f"check failed: {type(exc).__name__}: {exc}")]
    return [_result(spec, host, f, clean) for f in findings]
