"""JUnit XML (Jenkins/Ant schema): one testsuite per host, one testcase per check (and subject).

fail -> <failure>, error (could not check) -> <error>, skip -> <skipped>; warn passes with the hint in
<system-out>. Every attribute the Ant schema requires is written (timestamp, hostname, time, type).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ikefleet.verify.engine import Report, Result


def _case(suite: ET.Element, r: Result) -> None:
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


def render_junit(report: Report) -> str:
    duration = f"{(report.finished - report.started).total_seconds():.3f}"
    stamp = report.started.replace(tzinfo=None, microsecond=0).isoformat()
    hosts = [*report.hosts, *(["fleet"] if any(r.host == "fleet" for r in report.results) else [])]
    root = ET.Element("testsuites", name="ikefleet verify")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for index, host in enumerate(hosts):
        mine = [r for r in report.results if r.host == host]
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
            name=host,
            id=str(index),
            package="ikefleet",
            timestamp=stamp,
            hostname=host,
            time=duration,
            **{k: str(v) for k, v in counts.items()},
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
