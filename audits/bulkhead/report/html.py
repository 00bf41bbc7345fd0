"""The HTML report for people: one self-contained page, summaries first, then every result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bulkhead import __version__
from bulkhead.catalogue import SEVERITIES, Catalogue
from bulkhead.results import ControlResult, Outcome, ResultBook

# Failures first, then what could not be decided, what was waived, what passed, what did not apply.
OUTCOME_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)


def _template(name: str) -> Any:
    import jinja2  # only when an HTML report is asked for

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bulkhead.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(name)


def _counts(results: list[ControlResult]) -> dict[str, int]:
    counts = dict.fromkeys((outcome.value for outcome in OUTCOME_ORDER), 0)
    for result in results:
        counts[result.outcome.value] += 1
    return counts


def _worst(counts: dict[str, int]) -> str:
    """The first outcome in report order that occurred: fail, error, waived, pass, not applicable."""
    return next((outcome.value for outcome in OUTCOME_ORDER if counts[outcome.value]), Outcome.NOT_APPLICABLE.value)


def host_section_matrix(book: ResultBook, catalogue: Catalogue) -> dict[str, Any]:
    """The fleet overview: one row per host (worst first), one cell per audited section.

    A cell holds the section's outcome counts on that host and its worst outcome, or None when
    no control of that section was audited there.
    """
    titles = catalogue.sections()
    audited = {catalogue[r.control_id].section for r in book.all_results()}
    sections = [{"id": section, "title": title} for section, title in titles.items() if section in audited]
    rank = {outcome.value: index for index, outcome in enumerate(OUTCOME_ORDER)}
    rows = []
    for host, by_control in book.hosts.items():
        cells: list[dict[str, Any] | None] = []
        for section in sections:
            results = [r for r in by_control.values() if catalogue[r.control_id].section == section["id"]]
            if not results:
                cells.append(None)
                continue
            counts = _counts(results)
            worst = _worst(counts)
            cells.append({"worst": worst, "count": counts[worst], "total": len(results), "counts": counts})
        host_counts = _counts(list(by_control.values()))
        rows.append({"host": host, "cells": cells, "worst": _worst(host_counts), "counts": host_counts})
    rows.sort(key=lambda row: (rank[row["worst"]], -row["counts"][row["worst"]], row["host"]))
    return {"sections": sections, "rows": rows}


def images_in_use(host_facts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each image in use once across hosts (by image ID), with the containers running it per host."""
    merged: dict[str, dict[str, Any]] = {}
    for host, facts in host_facts.items():
        for row in facts.get("images_in_use") or []:
            digest = (row.get("digests") or [row["id"]])[0]
            short = digest.rsplit("@", 1)[-1][:19]
            entry = merged.setdefault(row["id"], {**row, "containers": [], "digest": digest, "digest_short": short})
            entry["containers"] += [f"{host}: {name}" for name in row.get("containers") or []]
    return sorted(merged.values(), key=lambda row: row["image"])


def html_report(
    book: ResultBook,
    catalogue: Catalogue,
    host_facts: dict[str, dict[str, Any]],
    seconds: float | None = None,
    trend: str | None = None,
) -> str:
    """One self-contained page (inline CSS and JS): summaries, then every result, failures first.

    ``trend``: the trend section's HTML (``report.trend.trend_section``) when the run went into a history.
    """
    from markupsafe import Markup

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
        matrix=host_section_matrix(book, catalogue) if len(book.hosts) > 1 else None,
        notes=[note for result in results for note in result.notes],
        images=images_in_use(host_facts),
        vulnerability_severities=("critical", "high", "medium", "low", "negligible", "unknown"),
        trend=Markup(trend) if trend else "",  # report.trend escapes every name it writes
    )
