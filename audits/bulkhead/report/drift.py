"""Drift between two JSON audit reports: what failed anew, what was fixed, what broke, which hosts
and containers came and went. One line for the journal, a JSON document for a hook, text for people.

A control is a *new failure* on a host when it fails now and did not before (it passed, was waived,
not applicable, an error, absent, or the host is new), or when it failed before and fails now with
findings it did not have (a second container started with ``--pid host`` while the first one still
runs). Findings are compared by the object they name (``container web``) and their text with
numbers blurred, so that ``built 91 days ago`` on one day and ``built 92 days ago`` on the next
are the same finding, while a new container (``web-2`` beside ``web-1``) is a new one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bulkhead.results import Outcome

_UNRESOLVED = ("fail", "error")
_DIGITS = re.compile(r"\d+")


class BadReport(Exception):
    """A file that is not a readable JSON audit report."""


def load_report(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadReport(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadReport(f"{path}: cannot read: {error}") from None
    except ValueError as error:
        raise BadReport(f"{path}: not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("hosts"), dict):
        raise BadReport(f"{path}: not a bulkhead JSON report (no 'hosts')")
    return document


def _finding_key(finding: str) -> str:
    subject, separator, rest = finding.partition(": ")
    if not separator:
        return _DIGITS.sub("#", finding)
    return f"{subject}: {_DIGITS.sub('#', rest)}"


def _controls(document: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        host: {control["id"]: control for control in entry.get("controls", [])}
        for host, entry in document["hosts"].items()
    }


def _containers(document: dict[str, Any], host: str) -> dict[tuple[str, str], bool] | None:
    listed = ((document["hosts"].get(host) or {}).get("facts") or {}).get("container_list")
    if listed is None:
        return None
    # Gone containers (kept by the events recorder, judged by this audit) were not there to compare.
    return {(item["engine"], item["name"]): bool(item.get("running")) for item in listed if not item.get("gone")}


def compute_drift(
    before: dict[str, Any], after: dict[str, Any], before_label: str = "before", after_label: str = "after"
) -> dict[str, Any]:
    """The drift document (see the module docstring); ``status`` is ``new_failures`` or ``no_new_failures``."""
    old, new = _controls(before), _controls(after)
    new_failures: list[dict[str, Any]] = []
    new_errors: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    for host, controls in new.items():
        for control_id, control in controls.items():
            previous = old.get(host, {}).get(control_id)
            was = previous["outcome"] if previous else "absent"
            now = control["outcome"]
            entry = {"host": host, "control": control_id, "title": control.get("title", ""), "was": was, "now": now}
            entry["severity"] = control.get("severity")
            if now == "fail":
                findings = list(control.get("reasons") or [])
                if was == "fail":
                    known = {_finding_key(line) for line in previous.get("reasons") or []}
                    findings = [line for line in findings if _finding_key(line) not in known]
                    if not findings:
                        continue
                new_failures.append(entry | {"findings": findings})
            elif now == "error" and was != "error":
                new_errors.append(entry | {"reasons": list(control.get("reasons") or [])})
            elif was in _UNRESOLVED and now not in _UNRESOLVED:
                fixed.append(entry)
    containers_appeared: list[dict[str, Any]] = []
    containers_gone: list[dict[str, Any]] = []
    unknown_containers: list[str] = []
    for host in sorted(old.keys() & new.keys()):
        then, now_listed = _containers(before, host), _containers(after, host)
        if then is None or now_listed is None:
            unknown_containers.append(host)
            continue
        for engine, name in sorted(now_listed.keys() - then.keys()):
            running = now_listed[(engine, name)]
            containers_appeared.append({"host": host, "name": name, "engine": engine, "running": running})
        for engine, name in sorted(then.keys() - now_listed.keys()):
            containers_gone.append({"host": host, "name": name, "engine": engine})
    return {
        "before": {"label": before_label, "generated": before.get("generated"), "summary": before.get("summary")},
        "after": {"label": after_label, "generated": after.get("generated"), "summary": after.get("summary")},
        "status": "new_failures" if new_failures or new_errors else "no_new_failures",
        "new_failures": new_failures,
        "new_errors": new_errors,
        "fixed": fixed,
        "hosts_added": sorted(new.keys() - old.keys()),
        "hosts_removed": sorted(old.keys() - new.keys()),
        "containers_appeared": containers_appeared,
        "containers_gone": containers_gone,
        "containers_unknown_on": unknown_containers,
    }


def has_new_failures(drift: dict[str, Any]) -> bool:
    return bool(drift["new_failures"] or drift["new_errors"])


def _named(items: list[dict[str, Any]], limit: int = 5) -> str:
    labels = [f"{item['control']}@{item['host']}" for item in items]
    shown = ", ".join(labels[:limit])
    return f" ({shown}{', ...' if len(labels) > limit else ''})" if labels else ""


def _counts_text(summary: dict[str, Any] | None) -> str:
    summary = summary or {}
    return ", ".join(f"{summary.get(outcome.value, 0)} {outcome.value}" for outcome in Outcome)


def drift_line(drift: dict[str, Any], with_counts: bool = True) -> str:
    """One line for the journal: what changed, then (``with_counts``) where the run stands."""
    line = (
        f"drift {drift['before']['label']} -> {drift['after']['label']}: "
        f"{len(drift['new_failures'])} new failure(s){_named(drift['new_failures'])}, "
        f"{len(drift['new_errors'])} new error(s){_named(drift['new_errors'])}, "
        f"{len(drift['fixed'])} fixed, "
        f"hosts +{len(drift['hosts_added'])}/-{len(drift['hosts_removed'])}, "
        f"containers +{len(drift['containers_appeared'])}/-{len(drift['containers_gone'])}"
    )
    return f"{line}; now {_counts_text(drift['after']['summary'])}" if with_counts else line


def drift_json(drift: dict[str, Any]) -> str:
    return json.dumps(drift, indent=2) + "\n"


def drift_text(drift: dict[str, Any]) -> str:
    """Sections for people, each only when it has something to say."""
    lines = [f"drift from {drift['before']['label']} to {drift['after']['label']}"]
    if drift["new_failures"]:
        lines.append("new failures:")
        for item in drift["new_failures"]:
            lines.append(f"  {item['control']:<8} {item['host']}  {item['title']}  (was {item['was']})")
            lines += [f"           + {finding}" for finding in item["findings"]]
    if drift["new_errors"]:
        lines.append("new errors:")
        for item in drift["new_errors"]:
            lines.append(f"  {item['control']:<8} {item['host']}  {item['title']}  (was {item['was']})")
            lines += [f"           ! {reason}" for reason in item["reasons"]]
    if drift["fixed"]:
        lines.append("fixed:")
        lines += [f"  {i['control']:<8} {i['host']}  {i['title']}  ({i['was']} -> {i['now']})" for i in drift["fixed"]]
    for key, label in (("hosts_added", "new hosts"), ("hosts_removed", "hosts no longer audited")):
        if drift[key]:
            lines.append(f"{label}: {', '.join(drift[key])}")
    if drift["containers_appeared"]:
        lines.append("containers that appeared:")
        for item in drift["containers_appeared"]:
            state = "running" if item["running"] else "stopped"
            lines.append(f"  {item['host']}: {item['name']} [{item['engine']}, {state}]")
    if drift["containers_gone"]:
        lines.append("containers that went:")
        lines += [f"  {item['host']}: {item['name']} [{item['engine']}]" for item in drift["containers_gone"]]
    if drift["containers_unknown_on"]:
        lines.append(
            f"containers not compared (a report has no container list): {', '.join(drift['containers_unknown_on'])}"
        )
    lines.append(drift_line(drift))
    return "\n".join(lines)
