"""The JSON report for dashboards: per host and control, outcome counts and host facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bulkhead import __version__
from bulkhead.catalogue import Catalogue
from bulkhead.report import indented_json
from bulkhead.results import Outcome, ResultBook


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
                    "seconds": round(result.duration, 3),
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
    return indented_json.dumps(document) + "\n"
