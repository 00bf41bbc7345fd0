"""Compliance reports built from a ResultBook: JUnit (for CI systems) and JSON (for dashboards).

Reports carry only what the checks wrote as reasons and the catalogue's own text: no state the
collector gathered is copied in, which is what keeps container environments and keys out.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    details = "\n".join(result.reasons)
    match result.outcome:
        case Outcome.FAIL:
            case.add_failure_info(message=result.summary, output=details, failure_type="finding")
        case Outcome.ERROR:
            case.add_error_info(message=result.summary, output=details, error_type="undetermined")
        case Outcome.NOT_APPLICABLE:
            case.add_skipped_info(message=result.summary or "not applicable")
        case Outcome.WAIVED:
            case.add_skipped_info(message=f"waived: {result.summary}")
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


def json_report(book: ResultBook, catalogue: Catalogue, host_facts: dict[str, dict[str, Any]]) -> str:
    hosts = {}
    for host, by_control in book.hosts.items():
        controls = []
        for control_id, result in by_control.items():
            control = catalogue[control_id]
            controls.append(
                {
                    "id": control.id,
                    "title": control.title,
                    "section": control.section,
                    "severity": control.severity,
                    "level": control.level,
                    "remediation": control.remediation,
                    "references": control.references,
                    "outcome": result.outcome.value,
                    "reasons": result.reasons,
                    "seconds": round(result.duration, 4),
                }
            )
        counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
        for entry in controls:
            counts[entry["outcome"]] += 1
        hosts[host] = {"summary": counts, "facts": host_facts.get(host, {}), "controls": controls}
    document = {
        "tool": "bulkhead",
        "version": __version__,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "hosts": hosts,
    }
    return json.dumps(document, indent=2) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
