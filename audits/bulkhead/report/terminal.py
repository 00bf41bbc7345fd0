"""What an audit prints: a progress bar on a terminal, then every control per host and a table of counts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TextIO

from bulkhead.catalogue import Catalogue, load_catalogue
from bulkhead.report.table import table
from bulkhead.results import ControlResult, Outcome, ResultBook

if TYPE_CHECKING:  # pytest is imported by the audit when it runs, not by whoever prints a summary
    import pytest

_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)
_COLOURS = {
    Outcome.FAIL: "\033[1;31m",
    Outcome.ERROR: "\033[1;35m",
    Outcome.WAIVED: "\033[33m",
    Outcome.PASS: "\033[32m",
    Outcome.NOT_APPLICABLE: "\033[2m",
}


class Progress:
    """Registered as a pytest plugin: keeps the result book and draws progress on a terminal (or not)."""

    def __init__(self, progress: TextIO | None) -> None:
        self.book: ResultBook | None = None
        self.catalogue: Catalogue | None = None
        self.notes: list[str] = []
        self.facts: dict[str, dict[str, Any]] = {}
        self.progress = progress
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        if self.progress is not None:
            self.progress.write(f"\r  {self.total} checks to run; collecting the hosts' state...")
            self.progress.flush()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.progress is None or not (report.when == "call" or (report.when == "setup" and report.failed)):
            return
        self.done += 1
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        self.progress.write(
            "\r" + " " * 78 + f"\r  auditing [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} checks"
            f"  {time.monotonic() - self.started:5.1f} s"
        )
        self.progress.flush()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from bulkhead.pytest_plugin import catalogue_of, host_facts, result_book, waiver_notes

        self.book = result_book(session.config)
        self.catalogue = catalogue_of(session.config)
        self.notes = waiver_notes(session.config)
        self.facts = host_facts(session.config)
        if self.progress is not None:
            self.progress.write("\r" + " " * 78 + "\r")
            self.progress.flush()


def _paint(text: str, outcome: Outcome, colour: bool) -> str:
    return f"{_COLOURS[outcome]}{text}\033[0m" if colour else text


def _sorted(by_control: dict[str, ControlResult]) -> list[ControlResult]:
    return sorted(by_control.values(), key=lambda result: _ORDER.index(result.outcome))


def print_summary(
    book: ResultBook, catalogue: Catalogue | None = None, *, colour: bool = False, verbose: bool = False
) -> None:
    """Per host: every control (failures first) with its reason, then a table of counts."""
    catalogue = catalogue or load_catalogue()
    label_width = max(len(outcome.value) for outcome in Outcome)
    for host, by_control in book.hosts.items():
        print(f"\n{host}")
        id_width = max(len(control_id) for control_id in by_control)
        severity_width = max(len(catalogue[control_id].severity) for control_id in by_control)
        for result in _sorted(by_control):
            control = catalogue[result.control_id]
            label = _paint(f"{result.outcome.value.upper():<{label_width}}", result.outcome, colour)
            print(f"  {label}  {result.control_id:<{id_width}}  {control.severity:<{severity_width}}  {control.title}")
            if result.outcome is Outcome.PASS:
                continue
            lines = result.details if verbose else ([result.summary] if result.summary else [])
            if not verbose and result.notes:
                lines += result.notes
            for line in lines:
                print(f"  {'':<{label_width}}  {'':<{id_width}}  -> {line}")
    print("\nsummary")
    rows = []
    for host, by_control in book.hosts.items():
        counts = dict.fromkeys(_ORDER, 0)
        for result in by_control.values():
            counts[result.outcome] += 1
        rows.append([host, *(counts[outcome] for outcome in _ORDER)])
    if len(book.hosts) > 1:
        totals = book.counts()
        rows.append(["total", *(totals[outcome] for outcome in _ORDER)])
    columns = range(1, len(_ORDER) + 1)
    for line in table(["host", *(outcome.value for outcome in _ORDER)], rows, right=columns, indent="  "):
        print(line)
