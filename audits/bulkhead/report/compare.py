"""``bulkhead compare``: two JSON audit reports side by side, control by control."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bulkhead.catalogue import load_catalogue
from bulkhead.results import Outcome


def print_comparison(before_path: Path, after_path: Path) -> None:
    """Per host, each control's outcome before and after, marking what was fixed or regressed."""
    before = _outcomes(before_path)
    after = _outcomes(after_path)
    order = {control.id: index for index, control in enumerate(load_catalogue())}
    current_host = None
    fixed = regressed = 0
    for host, control_id in sorted(before.keys() | after.keys(), key=lambda key: (key[0], order.get(key[1], 1e9))):
        if host != current_host:
            current_host = host
            print(f"{host}\n  {'control':<10} {'before':<15} {'after':<15} title")
        old, new = before.get((host, control_id), ("-", "")), after.get((host, control_id), ("-", ""))
        marker = ""
        if old[0] in ("fail", "error") and new[0] == "pass":
            marker, fixed = "  fixed", fixed + 1
        elif old[0] == "pass" and new[0] in ("fail", "error"):
            marker, regressed = "  REGRESSED", regressed + 1
        print(f"  {control_id:<10} {old[0]:<15} {new[0]:<15} {new[1] or old[1]}{marker}")
    for label, outcomes in (("before", before), ("after", after)):
        counts = Counter(outcome for outcome, _title in outcomes.values())
        print(f"{label:<7} " + ", ".join(f"{counts[outcome.value]} {outcome.value}" for outcome in Outcome))
    print(f"{fixed} control(s) fixed, {regressed} regressed")


def _outcomes(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        (host, control["id"]): (control["outcome"], control["title"])
        for host, entry in document["hosts"].items()
        for control in entry["controls"]
    }
