"""``bulkhead history DIR``: the runs of an audit history, oldest first, with their counts and hosts.

Exit codes: 0 listed (an empty history lists nothing), 2 no such directory or an unreadable run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bulkhead.history import History, HistoryError
from bulkhead.report.table import table

_COLUMNS = ("pass", "fail", "error", "not_applicable", "waived")
_HOSTS_SHOWN = 3


def _hosts_text(hosts: dict[str, Any]) -> str:
    names = sorted(hosts)
    shown = ", ".join(names[:_HOSTS_SHOWN])
    more = f" (+{len(names) - _HOSTS_SHOWN} more)" if len(names) > _HOSTS_SHOWN else ""
    return f"{len(names)}: {shown}{more}"


def history_table(summaries: list[dict[str, Any]]) -> str:
    rows = []
    for summary in summaries:
        counts = summary.get("counts") or {}
        code = summary.get("exit_code")
        rows.append(
            [
                summary["name"],
                "?" if code is None else code,
                *(counts.get(column, 0) for column in _COLUMNS),
                _hosts_text(summary.get("hosts") or {}),
            ]
        )
    return "\n".join(table(["run", "exit", *_COLUMNS, "hosts"], rows, right=range(1, len(_COLUMNS) + 2)))


def run_history(args: argparse.Namespace) -> int:
    history = History(args.directory)
    try:
        summaries = history.summaries()
    except HistoryError as error:
        print(f"bulkhead history: {error}", file=sys.stderr)
        return 2
    for summary in summaries:
        summary["path"] = str(history.directory / summary["name"])
    if args.json:
        print(json.dumps({"history": str(history.directory), "runs": summaries}, indent=2))
    elif not summaries:
        print(f"no runs in {history.directory}")
    else:
        print(history_table(summaries))
    return 0
