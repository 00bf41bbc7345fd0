"""The JUnit report for CI systems: one testsuite per host, one testcase per control."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from junit_xml import TestCase, TestSuite, to_xml_report_string

from bulkhead import __version__
from bulkhead.catalogue import Catalogue, Control
from bulkhead.results import ControlResult, Outcome, ResultBook


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


def _testcase(control: Control, result: ControlResult) -> TestCase:
    case = TestCase(
        name=f"{control.id} {control.title}",
        classname=f"bulkhead.section_{control.section}",
        elapsed_sec=round(result.duration, 4),
    )
    details = "\n".join(result.details)
    match result.outcome:
        case Outcome.FAIL:
            case.add_failure_info(message=result.summary, output=details, failure_type="finding")
        case Outcome.ERROR:
            case.add_error_info(message=result.summary, output=details, error_type="undetermined")
        case Outcome.NOT_APPLICABLE:
            case.add_skipped_info(message=result.summary or "not applicable")
        case Outcome.WAIVED:
            case.add_skipped_info(message=result.summary, output=details)
    return case


def junit_report(book: ResultBook, catalogue: Catalogue) -> str:
    suites = []
    properties_in_order: list[dict[str, str]] = []
    for host, by_control in book.hosts.items():
        cases = []
        for control_id, result in by_control.items():
            control = catalogue[control_id]
            cases.append(_testcase(control, result))
            properties_in_order.append(control_properties(control) | {"control.outcome": result.outcome.value})
        suites.append(
            TestSuite(
                name=host,
                test_cases=cases,
                hostname=host,
                package="bulkhead",
                timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
                properties={"bulkhead.version": __version__},
            )
        )
    document = ET.fromstring(to_xml_report_string(suites, prettyprint=False))
    # junit-xml has no per-testcase properties; Jenkins, GitLab and junitparser read them, so
    # they are added here, in the same order the testcases were written.
    for testcase, properties in zip(document.iter("testcase"), properties_in_order, strict=True):
        element = ET.Element("properties")
        for name, value in properties.items():
            ET.SubElement(element, "property", {"name": name, "value": value})
        testcase.insert(0, element)
    ET.indent(document)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(document, encoding="unicode") + "\n"
