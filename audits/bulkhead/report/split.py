"""Per-host reports from one multi-host audit, for fleet audits (``playbooks/audit.yml``).

One audit of a fleet writes one JUnit report (a testsuite per host), one JSON report and one HTML
page. This splits them into ``DIR/<host>.xml``, ``DIR/<host>.json`` and ``DIR/<host>.html``, each
as the audit of that host alone would have written it, and prints a manifest (JSON) that says,
per host, where its reports are, its outcome counts and its verdict at a ``--fail-on`` threshold
(the exit code an audit of that host alone would have had).

    python -m bulkhead.report.split --json fleet.json [--junit fleet.xml] [--html] [--fail-on high] DIR

Exit codes: 0 split, 2 bad input (a missing or malformed report). Files in DIR that a previous
split wrote for hosts that are not in this report are removed, so DIR holds this audit only.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bulkhead.catalogue import SEVERITIES, Catalogue, load_catalogue
from bulkhead.report.files import write_atomically
from bulkhead.results import ControlResult, Outcome, ResultBook

EXIT_SPLIT = 0
EXIT_BAD_INPUT = 2
REPORT_SUFFIXES = (".json", ".xml", ".html")
VERDICTS = {0: "compliant", 1: "findings", 2: "incomplete"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The counters a <testsuites> element carries, summed over its testsuites.
_SUITE_COUNTERS = ("tests", "failures", "errors", "skipped", "disabled")


class SplitError(ValueError):
    """A report that cannot be split (missing, not JSON or XML, or not a bulkhead report)."""


def file_stems(hosts: Sequence[str]) -> dict[str, str]:
    """A file name stem per host: its name with anything but letters, digits, '.', '_' and '-'
    replaced (``ssh://root@db-1`` -> ``ssh_root_db-1``), unique, never hidden or empty."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for host in hosts:
        stem = _UNSAFE.sub("_", host).lstrip(".") or "host"
        candidate, number = stem, 1
        while candidate in taken:
            number += 1
            candidate = f"{stem}-{number}"
        taken.add(candidate)
        stems[host] = candidate
    return stems


def split_json(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One JSON document per host: the fleet document with that host alone and its own summary."""
    hosts = document.get("hosts")
    if document.get("tool") != "bulkhead" or not isinstance(hosts, dict):
        raise SplitError("not a bulkhead JSON report (no 'tool': 'bulkhead' and 'hosts')")
    per_host = {}
    for host, entry in hosts.items():
        single = {key: value for key, value in document.items() if key != "hosts"}
        single["summary"] = dict(entry.get("summary", {}))
        single["hosts"] = {host: entry}
        per_host[host] = single
    return per_host


def split_junit(text: str) -> dict[str, str]:
    """One JUnit document per testsuite (host), its <testsuites> counters recomputed."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise SplitError(f"not XML: {error}") from error
    if root.tag != "testsuites":
        raise SplitError(f"not a JUnit report with <testsuites> (root element <{root.tag}>)")
    per_host = {}
    for suite in root.findall("testsuite"):
        host = suite.get("name", "")
        single = ET.Element("testsuites")
        for counter in _SUITE_COUNTERS:
            if counter in root.attrib or counter in suite.attrib:
                single.set(counter, suite.get(counter, "0"))
        if "time" in suite.attrib:
            single.set("time", suite.get("time", "0"))
        single.append(copy.deepcopy(suite))
        ET.indent(single)
        per_host[host] = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(single, encoding="unicode") + "\n"
    return per_host


def book_from_json(document: dict[str, Any], catalogue: Catalogue) -> ResultBook:
    """The results of a JSON report, as the reports were built from (for the HTML page and verdicts)."""
    book = ResultBook()
    for host, entry in document["hosts"].items():
        by_control = book.hosts.setdefault(host, {})
        for control in entry.get("controls", []):
            if control["id"] not in catalogue:
                raise SplitError(f"control {control['id']} of host {host} is not in this bulkhead's catalogue")
            by_control[control["id"]] = ControlResult(
                control["id"],
                host,
                outcomes=[Outcome(control["outcome"])],
                reasons=list(control.get("reasons", [])),
                duration=float(control.get("seconds") or 0.0),
                waived=list(control.get("waived", [])),
                notes=list(control.get("notes", [])),
            )
    return book


def _load(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise SplitError(f"{what} {path}: {error.strerror or error}") from error


def split_reports(
    json_path: Path,
    junit_path: Path | None,
    directory: Path,
    html: bool = False,
    fail_on: str = SEVERITIES[0],
) -> dict[str, Any]:
    """Write the per-host reports into ``directory``; return the manifest."""
    from bulkhead.audit import exit_code

    try:
        fleet = json.loads(_load(json_path, "JSON report"))
    except json.JSONDecodeError as error:
        raise SplitError(f"JSON report {json_path}: not JSON: {error}") from error
    if not isinstance(fleet, dict):
        raise SplitError(f"JSON report {json_path}: not a bulkhead JSON report")
    documents = split_json(fleet)
    suites = split_junit(_load(junit_path, "JUnit report")) if junit_path else {}
    missing = sorted(set(documents) ^ set(suites)) if junit_path else []
    if missing:
        raise SplitError(f"the JSON and JUnit reports name different hosts: {', '.join(missing)}")
    catalogue = load_catalogue()
    stems = file_stems(list(documents))
    directory.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    hosts: dict[str, Any] = {}
    for host, document in documents.items():
        book = book_from_json(document, catalogue)
        files = {"json": directory / f"{stems[host]}.json"}
        write_atomically(files["json"], json.dumps(document, indent=2) + "\n")
        if host in suites:
            files["junit"] = directory / f"{stems[host]}.xml"
            write_atomically(files["junit"], suites[host])
        if html:
            from bulkhead.report.html import html_report

            files["html"] = directory / f"{stems[host]}.html"
            facts = {host: document["hosts"][host].get("facts", {})}
            write_atomically(files["html"], html_report(book, catalogue, facts, fleet.get("seconds")))
        written.update(files.values())
        verdict = VERDICTS[exit_code(book, catalogue, fail_on)]
        counts = ", ".join(f"{count} {outcome}" for outcome, count in document["summary"].items())
        hosts[host] = {
            "summary": document["summary"],
            "verdict": verdict,
            "line": f"{host}: {verdict} at fail_on {fail_on} ({counts})",
            "reports": {name: str(path) for name, path in files.items()},
        }
    for stale in directory.iterdir():
        if stale.suffix in REPORT_SUFFIXES and stale.is_file() and stale not in written:
            stale.unlink()
    return {
        "fail_on": fail_on,
        "summary": fleet.get("summary", {}),
        "verdicts": {"hosts": sorted(hosts)}
        | {verdict: sorted(h for h in hosts if hosts[h]["verdict"] == verdict) for verdict in VERDICTS.values()},
        "hosts": hosts,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bulkhead.report.split",
        description="Split a multi-host audit's reports into one report per host; print a JSON manifest.",
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="where the per-host reports go")
    parser.add_argument("--json", required=True, type=Path, help="the audit's JSON report")
    parser.add_argument("--junit", type=Path, help="the audit's JUnit report")
    parser.add_argument("--html", action="store_true", help="also write an HTML page per host")
    parser.add_argument(
        "--fail-on", choices=SEVERITIES, default=SEVERITIES[0], help="threshold of the verdicts (as bulkhead audit)"
    )
    args = parser.parse_args(argv)
    try:
        manifest = split_reports(args.json, args.junit, args.directory, args.html, args.fail_on)
    except (SplitError, OSError) as error:
        print(f"bulkhead: split: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(manifest, indent=2))
    return EXIT_SPLIT


if __name__ == "__main__":
    sys.exit(main())
