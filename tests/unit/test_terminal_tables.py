"""Terminal tables never break their columns, whatever the length of host names, IDs or titles."""

import re

from bulkhead.catalogue import load_catalogue
from bulkhead.report.controls_table import controls_table
from bulkhead.report.history_list import history_table
from bulkhead.report.table import table
from bulkhead.report.terminal import print_summary
from bulkhead.results import Outcome, ResultBook

CATALOGUE = load_catalogue()
LONG_HOST = "ansible-managed-container-host-with-a-very-long-name.eu-central-1.compute.internal.example.com"


def ends_of_numbers(line):
    return [match.end() for match in re.finditer(r"\d+", line)]


def test_the_summary_table_keeps_its_columns_with_long_host_names(capsys):
    book = ResultBook()
    for host in ("a", LONG_HOST, "db-1"):
        book.record(host, "2.2", Outcome.FAIL, "icc is enabled", 0.01)
        book.record(host, "5.4", Outcome.PASS, None, 0.01)
        for index in range(123):
            book.record(host, "5.10", Outcome.FAIL, f"container c{index}: no memory limit", 0.0)
    print_summary(book, CATALOGUE)
    lines = capsys.readouterr().out.splitlines()
    summary = lines[lines.index("summary") + 1 :]
    header, rows = summary[0], summary[1:]
    assert [row.split()[0] for row in rows] == ["a", LONG_HOST, "db-1", "total"]
    # every count ends where its header ends (right-aligned under it), after a host column as wide as the longest
    width = len("  ") + len(LONG_HOST)
    header_ends = [match.end() for match in re.finditer(r"\S+", header[width:])]
    assert len(header_ends) == 5
    for row in rows:
        assert ends_of_numbers(row[width:]) == header_ends, row


def test_control_lines_keep_their_columns(capsys):
    book = ResultBook()
    for control_id in ("2.2", "BH-4.16", "5.4"):
        book.record("web", control_id, Outcome.PASS, None, 0.0)
    print_summary(book, CATALOGUE)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  PASS")]
    starts = {line.index(CATALOGUE[line.split()[1]].title) for line in lines}
    assert len(starts) == 1, lines


def test_the_controls_table_keeps_its_columns_with_long_remediation_variables():
    lines = controls_table().splitlines()
    assert max(len(control.remediation) for control in CATALOGUE) > 32
    starts = {line.rindex(control.title) for line, control in zip(lines, CATALOGUE, strict=True)}
    assert len(starts) == 1


def test_the_history_table_keeps_its_columns():
    summaries = [
        {"name": "20261130T004310Z", "exit_code": 1, "counts": {"pass": 2, "fail": 1}, "hosts": {LONG_HOST: {}}},
        {"name": "20261130T004310Z-12", "exit_code": 0, "counts": {"pass": 12345}, "hosts": {"a": {}}},
    ]
    lines = history_table(summaries).splitlines()
    assert len({line.index("  1: ") for line in lines[1:]}) == 1
    assert len({len(line.split("  1: ")[0]) for line in lines[1:]} | {lines[0].index("  hosts")}) == 1


def test_table_pads_all_but_the_last_column():
    assert table(["a", "n", "title"], [["long-name", 1, "x"], ["b", 12345, "a much longer title"]], right=[1]) == [
        "a              n  title",
        "long-name      1  x",
        "b          12345  a much longer title",
    ]
