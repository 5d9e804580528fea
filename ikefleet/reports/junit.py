"""JUnit XML (Jenkins/Ant schema): first a `stories` testsuite, one testcase per router that fails with
its story (cause and hint first, the symptoms it explains in the text), then one testsuite per host, one
testcase per check (and subject).

The per-check testcases stay: CI keeps each test's history by name, and dashboards filter on check ids; the
story testcase is where a reader starts. A healthy router's story testcase passes, so the count of tests does
not change with the fleet's health. fail -> <failure>, error (could not check) -> <error>, skip -> <skipped>;
warn passes with the hint in <system-out>. Every attribute the Ant schema requires is written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ikefleet.verify.engine import CheckResult, Report
from ikefleet.verify.story import Story


def _case(suite: ET.Element, r: CheckResult) -> None:
    name = r.check + (f"[{r.subject}]" if r.subject else "")
    case = ET.SubElement(suite, "testcase", name=name, classname=f"ikefleet.{r.host}", time="0")
    text = f"expected: {r.expected}\nobserved: {r.observed}" + (f"\nhint: {r.hint}" if r.hint else "")
    if r.status == "fail":
        el = ET.SubElement(case, "failure", message=r.hint or r.observed, type=r.severity)
        el.text = text
    elif r.status == "error":
        el = ET.SubElement(case, "error", message=r.hint or r.observed, type="could-not-check")
        el.text = text
    elif r.status == "skip":
        ET.SubElement(case, "skipped", message=r.observed)
    elif r.status == "warn":
        ET.SubElement(case, "system-out").text = text


def _story_text(story: Story) -> str:
    c = story.cause
    lines = [
        f"cause ({c.layer}): {c.check}" + (f" [{c.subject}]" if c.subject else "") + f" on {c.host}",
        f"hint: {c.hint}",
        f"expected: {c.expected}",
        f"observed: {c.observed}",
    ]
    if story.symptoms:
        lines.append(f"{len(story.symptoms)} more, explained by the cause:")
    for s in story.symptoms:
        subject = f" [{s.subject}]" if s.subject else ""
        lines.append(f"  {s.status} {s.check}{subject} on {s.host}: {s.observed}")
    return "\n".join(lines)


def _stories_suite(root: ET.Element, report: Report, stamp: str, duration: str) -> dict[str, int]:
    stories = {s.host: s for s in report.stories()}
    routers = [*report.hosts, *(h for h in stories if h not in report.hosts)]
    suite = ET.SubElement(root, "testsuite", name="stories", id="0", package="ikefleet", timestamp=stamp,
                          hostname="-", time=duration)
    ET.SubElement(suite, "properties")
    counts = {"tests": len(routers), "failures": 0, "errors": 0, "skipped": 0}
    for host in routers:
        case = ET.SubElement(suite, "testcase", name=host, classname="ikefleet.stories", time="0")
        story = stories.get(host)
        if story is None:
            continue
        message = story.cause.hint or story.cause.observed
        if story.cause.status == "fail":
            el = ET.SubElement(case, "failure", message=message, type=story.layer)
            counts["failures"] += 1
        elif story.cause.status == "error":
            el = ET.SubElement(case, "error", message=message, type="could-not-check")
            counts["errors"] += 1
        else:  # only warnings: the router passes, its story told in the output
            el = ET.SubElement(case, "system-out")
        el.text = _story_text(story)
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")
    for k, v in counts.items():
        suite.set(k, str(v))
    return counts


def render_junit(report: Report) -> str:
    duration = f"{(report.finished - report.started).total_seconds():.3f}"
    stamp = report.started.replace(tzinfo=None, microsecond=0).isoformat()
    hosts = [*report.hosts, *(["fleet"] if any(r.host == "fleet" for r in report.results) else [])]
    root = ET.Element("testsuites", name="ikefleet verify")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if report.hosts:
        totals = _stories_suite(root, report, stamp, duration)
    by_host = report.results_by_host()
    for index, host in enumerate(hosts, start=1):
        mine = by_host.get(host, [])
        counts = {
            "tests": len(mine),
            "failures": sum(r.status == "fail" for r in mine),
            "errors": sum(r.status == "error" for r in mine),
            "skipped": sum(r.status == "skip" for r in mine),
        }
        for k, v in counts.items():
            totals[k] += v
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": host,
                "id": str(index),
                "package": "ikefleet",
                "timestamp": stamp,
                "hostname": host,
                "time": duration,
                **{k: str(v) for k, v in counts.items()},
            },
        )
        ET.SubElement(suite, "properties")
        for r in mine:
            _case(suite, r)
        ET.SubElement(suite, "system-out")
        ET.SubElement(suite, "system-err")
    if not report.hosts:  # no suite would read as all passed: one error says nothing was checked
        suite = ET.SubElement(root, "testsuite", name="ikefleet", id="0", package="ikefleet", timestamp=stamp,
                              hostname="-", time=duration, tests="1", failures="0", errors="1", skipped="0")
        ET.SubElement(suite, "properties")
        case = ET.SubElement(suite, "testcase", name="routers.checked", classname="ikefleet", time="0")
        ET.SubElement(case, "error", message="no router was checked", type="could-not-check")
        ET.SubElement(suite, "system-out")
        ET.SubElement(suite, "system-err")
        totals["tests"], totals["errors"] = 1, 1
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", duration)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
