"""One audit run into a history: its three reports, its summary, and an HTML page with the trend."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bulkhead.catalogue import Catalogue
from bulkhead.history import Entry, History, summarise
from bulkhead.report.html import html_report
from bulkhead.report.jsondoc import json_report
from bulkhead.report.junit import junit_report
from bulkhead.report.trend import trend_section
from bulkhead.results import ResultBook


def record_run(
    directory: Path | str,
    keep: int,
    started: datetime,
    book: ResultBook,
    catalogue: Catalogue,
    facts: dict[str, dict[str, Any]],
    seconds: float,
    exit_code: int,
) -> tuple[Entry, str]:
    """Write the run and prune the history; returns the entry and the HTML page (with its trend)."""
    history = History(directory)
    json_text = json_report(book, catalogue, facts, seconds)
    summary = summarise(json.loads(json_text), history.next_name(started), exit_code)
    # The trend shows the runs the history will hold once this one is in: the last `keep`.
    runs = ([*history.readable_summaries(), summary])[-keep:]
    html_text = html_report(book, catalogue, facts, seconds, trend=trend_section(runs))
    files = {"junit": junit_report(book, catalogue), "json": json_text, "html": html_text}
    return history.add(started, files, summary, keep), html_text
