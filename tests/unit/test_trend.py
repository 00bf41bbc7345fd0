"""The HTML report's trend view: inline SVG from the history's summaries, readable for 50 x 20."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from bulkhead.catalogue import load_catalogue
from bulkhead.report.html import html_report
from bulkhead.report.trend import COLOURS, counts_chart, host_grid, run_label, trend_section, worst
from bulkhead.results import Outcome, ResultBook

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 11, 10, 3, 15, tzinfo=UTC)


def summaries(hosts=50, runs=20):
    """A fleet where host-07 starts failing at run 10, host-13 errors in the last run, host-42 joins at run 5."""
    made = []
    for run in range(runs):
        started = START + timedelta(days=run)
        per_host = {}
        for index in range(hosts):
            name = f"host-{index:02d}.example.org"
            if index == 42 and run < 5:
                continue
            counts = {"pass": 60, "fail": 0, "error": 0, "not_applicable": 50, "waived": 1}
            if index == 7 and run >= 10:
                counts["fail"], counts["pass"] = 3, 57
            if index == 13 and run == runs - 1:
                counts["error"], counts["pass"] = 1, 59
            per_host[name] = counts
        totals = {key: sum(counts[key] for counts in per_host.values()) for key in COLOURS}
        made.append(
            {"name": started.strftime("%Y%m%dT%H%M%SZ"), "started": started.isoformat(), "counts": totals,
             "hosts": per_host}
        )  # fmt: skip
    return made


def cells(svg_text):
    root = ET.fromstring(svg_text)
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def test_the_host_grid_has_one_cell_per_host_and_run_coloured_by_the_worst_outcome():
    runs = summaries()
    grid = host_grid(runs)
    found = cells(grid)
    assert len(found) == 50 * 20
    by_tip = {rect.find(f"{SVG}title").text: rect.get("fill") for rect in found}
    assert (
        by_tip["host-07.example.org in 20261119T031500Z: 0 fail, 0 error, 1 waived, 60 pass, 50 not applicable"]
        == (COLOURS["waived"])
    )
    assert (
        by_tip["host-07.example.org in 20261120T031500Z: 3 fail, 0 error, 1 waived, 57 pass, 50 not applicable"]
        == (COLOURS["fail"])
    )
    assert by_tip["host-42.example.org in 20261110T031500Z: not audited"] == "#ffffff"
    assert worst({"pass": 3, "error": 1, "fail": 0}) == "error"


def test_hosts_failing_in_the_latest_run_come_first_and_the_grid_stays_compact():
    grid = host_grid(summaries())
    root = ET.fromstring(grid)
    labels = [text.find(f"{SVG}title").text for text in root.iter(f"{SVG}text") if text.find(f"{SVG}title") is not None]
    assert labels[:3] == ["host-07.example.org", "host-13.example.org", "host-00.example.org"]
    assert float(root.get("width")) < 900 and float(root.get("height")) < 950


def test_the_counts_chart_stacks_every_outcome_per_run():
    chart = counts_chart(summaries(hosts=3, runs=4))
    bars = cells(chart)
    assert len(bars) == 4 * 3  # fail is 0 in these runs: pass, waived and not applicable per run
    assert {bar.get("fill") for bar in bars} == {COLOURS["pass"], COLOURS["waived"], COLOURS["not_applicable"]}
    labels = [text.text for text in ET.fromstring(chart).iter(f"{SVG}text")]
    assert "11-10 03:15" in labels and "11-13 03:15" in labels


def test_names_are_escaped_and_the_section_is_inline_only():
    runs = summaries(hosts=1, runs=2)
    for run in runs:
        run["hosts"] = {'<script>alert("x")</script>': run["hosts"]["host-00.example.org"]}
    section = trend_section(runs)
    assert "<script" not in section and "&lt;script&gt;" in section
    assert not re.search(r"(href|src)=", section)
    for svg in re.findall(r"<svg.*?</svg>", section):
        ET.fromstring(svg)  # well-formed
    assert trend_section([]) == ""
    assert run_label({"name": "x"}) == "x"


def test_the_html_report_carries_the_trend_only_when_given():
    book = ResultBook()
    book.record("web-1", "2.2", Outcome.FAIL, "icc is enabled", 0.1)
    catalogue = load_catalogue()
    plain = html_report(book, catalogue, {}, 1.0)
    assert 'id="trend"' not in plain
    page = html_report(book, catalogue, {}, 1.0, trend=trend_section(summaries(hosts=2, runs=3)))
    assert page.count("<svg") == 2 and "Trend over 3 audit run(s), 11-10 03:15 to 11-12 03:15 (UTC)" in page
    assert page.index('id="trend"') < page.index('id="results"')
