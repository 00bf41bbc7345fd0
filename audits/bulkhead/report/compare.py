"""``bulkhead compare``: two JSON audit reports, or two runs of a history, side by side and as drift.

Exit codes: 0 no new failure, 1 new failures or new errors, 2 bad input (a missing or non-JSON
report, a history with fewer than two runs, an unknown run name).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bulkhead.catalogue import load_catalogue
from bulkhead.history import History, HistoryError, since
from bulkhead.report.drift import (
    BadReport,
    compute_drift,
    drift_json,
    drift_line,
    drift_text,
    has_new_failures,
    load_report,
)
from bulkhead.results import Outcome

EXIT_NO_NEW_FAILURES = 0
EXIT_NEW_FAILURES = 1
EXIT_BAD_INPUT = 2


def print_comparison(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Per host, each control's outcome before and after, marking what was fixed or regressed."""
    old = _outcomes(before)
    new = _outcomes(after)
    order = {control.id: index for index, control in enumerate(load_catalogue())}
    current_host = None
    fixed = regressed = 0
    for host, control_id in sorted(old.keys() | new.keys(), key=lambda key: (key[0], order.get(key[1], 1e9))):
        if host != current_host:
            current_host = host
            print(f"{host}\n  {'control':<10} {'before':<15} {'after':<15} title")
        was, now = old.get((host, control_id), ("-", "")), new.get((host, control_id), ("-", ""))
        marker = ""
        if was[0] in ("fail", "error") and now[0] == "pass":
            marker, fixed = "  fixed", fixed + 1
        elif was[0] == "pass" and now[0] in ("fail", "error"):
            marker, regressed = "  REGRESSED", regressed + 1
        print(f"  {control_id:<10} {was[0]:<15} {now[0]:<15} {now[1] or was[1]}{marker}")
    for label, outcomes in (("before", old), ("after", new)):
        counts = Counter(outcome for outcome, _title in outcomes.values())
        print(f"{label:<7} " + ", ".join(f"{counts[outcome.value]} {outcome.value}" for outcome in Outcome))
    print(f"{fixed} control(s) fixed, {regressed} regressed")


def _outcomes(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (host, control["id"]): (control["outcome"], control.get("title", ""))
        for host, entry in document["hosts"].items()
        for control in entry.get("controls", [])
    }


def history_pair(directory: str, runs: list[str], since_when: str | None) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """(label, report) before and after: latest vs previous, ``--since`` vs latest, RUN vs latest, RUN vs RUN."""
    history = History(directory)
    entries = history.entries()
    if len(runs) > 2:
        raise HistoryError("compare --history takes at most two run names")
    if since_when and runs:
        raise HistoryError("give either --since or run names, not both")
    if len(runs) == 2:
        first, second = history.entry(runs[0]), history.entry(runs[1])
    elif runs or since_when:
        if not entries:
            raise HistoryError(f"history {directory} has no runs")
        first = history.entry(runs[0]) if runs else since(history, since_when or "")
        second = entries[-1]
    else:
        if len(entries) < 2:
            raise HistoryError(f"history {directory} has {len(entries)} run(s); comparing needs two")
        first, second = entries[-2], entries[-1]
    if first.name == second.name:
        raise HistoryError(f"history {directory}: {first.name} is the latest run; nothing to compare it with")
    return (first.name, first.report()), (second.name, second.report())


def run_compare(args: argparse.Namespace) -> int:
    try:
        if args.history:
            (before_label, before), (after_label, after) = history_pair(args.history, args.runs, args.since)
        else:
            if len(args.runs) != 2 or args.since:
                raise BadReport("compare takes two JSON reports (BEFORE AFTER), or --history DIR")
            before_label, after_label = args.runs
            before, after = (load_report(Path(path)) for path in args.runs)
    except (BadReport, HistoryError) as error:
        print(f"bulkhead compare: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    drift = compute_drift(before, after, before_label, after_label)
    if args.json:
        sys.stdout.write(drift_json(drift))
    elif args.summary:
        print(drift_line(drift))
    else:
        if not args.history or args.table:
            print_comparison(before, after)
            print()
        print(drift_text(drift))
    return EXIT_NEW_FAILURES if has_new_failures(drift) else EXIT_NO_NEW_FAILURES
