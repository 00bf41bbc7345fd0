"""Compliance reports built from a ResultBook: JUnit (CI systems), JSON (dashboards), HTML (people).

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
from bulkhead.catalogue import SEVERITIES, Catalogue, Control
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


def json_report(
    book: ResultBook, catalogue: Catalogue, host_facts: dict[str, dict[str, Any]], seconds: float | None = None
) -> str:
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
                    "waived": result.waived,
                    "notes": result.notes,
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
        "seconds": seconds,
        "summary": {outcome.value: count for outcome, count in book.counts().items()},
        "hosts": hosts,
    }
    return json.dumps(document, indent=2) + "\n"


# Failures first, then what could not be decided, what was waived, what passed, what did not apply.
OUTCOME_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)


def _template(name: str) -> Any:
    import jinja2  # only when an HTML report is asked for

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bulkhead", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    return environment.get_template(name)


def _counts(results: list[ControlResult]) -> dict[str, int]:
    counts = dict.fromkeys((outcome.value for outcome in OUTCOME_ORDER), 0)
    for result in results:
        counts[result.outcome.value] += 1
    return counts


def html_report(
    book: ResultBook, catalogue: Catalogue, host_facts: dict[str, dict[str, Any]], seconds: float | None = None
) -> str:
    """One self-contained page (inline CSS and JS): summaries, then every result, failures first."""
    results = book.all_results()
    rank = {severity: index for index, severity in enumerate(SEVERITIES)}
    rows = []
    for result in results:
        control = catalogue[result.control_id]
        lines = [{"kind": "", "text": line} for line in result.reasons]
        lines += [{"kind": "waived", "text": line} for line in result.waived if line not in result.reasons]
        lines += [{"kind": "note", "text": line} for line in result.notes]
        rows.append(
            {
                "outcome": result.outcome.value,
                "host": result.host,
                "id": control.id,
                "title": control.title,
                "section": control.section,
                "level": control.level,
                "severity": control.severity,
                "severity_rank": rank[control.severity],
                "remediation": control.remediation,
                "rationale": control.rationale,
                "references": control.references_text(),
                "lines": lines,
                "order": (OUTCOME_ORDER.index(result.outcome), -rank[control.severity], result.host),
            }
        )
    rows.sort(key=lambda row: row["order"])
    sections = catalogue.sections()
    by_section = [
        {
            "label": f"{section} {title}",
            "counts": _counts([r for r in results if catalogue[r.control_id].section == section]),
        }
        for section, title in sections.items()
        if any(catalogue[r.control_id].section == section for r in results)
    ]
    by_severity = [
        {"label": severity, "counts": _counts([r for r in results if catalogue[r.control_id].severity == severity])}
        for severity in reversed(SEVERITIES)
    ]
    hosts = [
        {"name": host, "counts": _counts(list(by_control.values())), "facts": host_facts.get(host, {})}
        for host, by_control in book.hosts.items()
    ]
    return _template("report.html.j2").render(
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        version=__version__,
        seconds=seconds if seconds is not None else "?",
        total=len(results),
        hosts=hosts,
        outcomes=[outcome.value for outcome in OUTCOME_ORDER],
        severities=list(enumerate(SEVERITIES)),
        by_section=by_section,
        by_severity=by_severity,
        rows=rows,
        notes=[note for result in results for note in result.notes],
    )


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
