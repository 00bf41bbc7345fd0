"""The JUnit report for CI systems: one testsuite per host, one testcase per control.

Valid against the JUnit schema Jenkins' xUnit plugin and pytest's ``xunit2`` family follow
(``junit-10.xsd``, tests/data/): Jenkins shows a test as package / class / name, read from
``classname`` (split at its last dot) and ``name``; GitLab shows ``classname`` as the suite and
``name`` as the test. So each testcase is ``classname="bulkhead.<host>.section_<N>"``,
``name="<control id> <title>"``: one host's controls never look like another's.

The schema allows no ``<properties>`` inside a testcase, so each control's metadata (severity,
level, remediation, references, outcome) is the testcase's ``<system-out>``, one ``key: value`` a
line, which Jenkins and GitLab show with the test; per host facts are the testsuite's properties.
Waived and not-applicable controls are both ``<skipped>`` (JUnit has nothing else for "not
counted"), told apart by the type and by the message prefix: ``waived: ...`` or
``not applicable: ...``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from bulkhead import __version__
from bulkhead.catalogue import Catalogue, Control
from bulkhead.results import ControlResult, Outcome, ResultBook

OUTCOME_PROPERTY = "control.outcome"
# Characters XML 1.0 does not allow at all (a finding may quote a terminal escape)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def control_properties(control: Control) -> dict[str, str]:
    return {
        "control.id": control.id,
        "control.title": control.title,
        "control.severity": control.severity,
        "control.level": str(control.level),
        "control.section": control.section,
        "control.remediation": control.remediation,
        "control.references": control.references_text(),
    }


def seconds(value: float) -> str:
    return f"{value:.3f}"


def classname(host: str, control: Control) -> str:
    return f"bulkhead.{host}.section_{control.section}"


def _testcase(control: Control, result: ControlResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": classname(result.host, control),
            "name": f"{control.id} {control.title}",
            "time": seconds(result.duration),
        },
    )
    details = "\n".join(result.details)
    match result.outcome:
        case Outcome.FAIL:
            ET.SubElement(case, "failure", {"type": "finding", "message": result.summary}).text = details
        case Outcome.ERROR:
            ET.SubElement(case, "error", {"type": "undetermined", "message": result.summary}).text = details
        case Outcome.NOT_APPLICABLE:
            message = f"not applicable: {result.summary}" if result.summary else "not applicable"
            ET.SubElement(case, "skipped", {"type": "not_applicable", "message": message})
        case Outcome.WAIVED:
            skipped = ET.SubElement(case, "skipped", {"type": "waived", "message": f"waived: {result.summary}"})
            skipped.text = details
    metadata = control_properties(control) | {OUTCOME_PROPERTY: result.outcome.value, "host": result.host}
    ET.SubElement(case, "system-out").text = "\n".join(f"{name}: {value}" for name, value in metadata.items())
    return case


def junit_report(book: ResultBook, catalogue: Catalogue) -> str:
    timestamp = datetime.now(UTC).isoformat(timespec="seconds")
    root = ET.Element("testsuites", {"name": "bulkhead"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for host, by_control in book.hosts.items():
        results = list(by_control.values())
        counts = {outcome: sum(1 for result in results if result.outcome is outcome) for outcome in Outcome}
        suite_time = sum(result.duration for result in results)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": host,
                "hostname": host,
                "package": f"bulkhead.{host}",
                "tests": str(len(results)),
                "failures": str(counts[Outcome.FAIL]),
                "errors": str(counts[Outcome.ERROR]),
                "skipped": str(counts[Outcome.WAIVED] + counts[Outcome.NOT_APPLICABLE]),
                "time": seconds(suite_time),
                "timestamp": timestamp,
            },
        )
        properties = ET.SubElement(suite, "properties")
        suite_properties = {"bulkhead.version": __version__, "bulkhead.host": host}
        suite_properties |= {f"bulkhead.{outcome.value}": str(count) for outcome, count in counts.items()}
        for name, value in suite_properties.items():
            ET.SubElement(properties, "property", {"name": name, "value": value})
        for control_id, result in by_control.items():
            suite.append(_testcase(catalogue[control_id], result))
        totals["tests"] += len(results)
        totals["failures"] += counts[Outcome.FAIL]
        totals["errors"] += counts[Outcome.ERROR]
        total_time += suite_time
    root.attrib |= {name: str(value) for name, value in totals.items()} | {"time": seconds(total_time)}
    for element in root.iter():
        element.text = _NOT_XML.sub("?", element.text) if element.text else element.text
        element.attrib = {name: _NOT_XML.sub("?", value) for name, value in element.attrib.items()}
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
