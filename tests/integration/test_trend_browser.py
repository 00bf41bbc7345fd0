"""The HTML report of a run recorded into a 20-run history, rendered by a real headless Chromium:
no console error, the trend's SVG in the rendered DOM, and a screenshot.

Set BULKHEAD_ARTIFACTS=DIR to keep the page and the screenshot (DIR/trend.html, DIR/trend.png).
"""

import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bulkhead.catalogue import load_catalogue
from bulkhead.report.history_run import record_run
from bulkhead.results import Outcome, ResultBook

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 10, 3, 15, tzinfo=UTC)
HOSTS = [f"web-{index:02d}.prod.example.org" for index in range(40)] + [f"db-{index}" for index in range(10)]
CONTROLS = ["2.2", "2.3", "5.4", "5.10", "5.15", "5.31", "4.1", "1.1.1"]
# Lines Chromium writes for console messages (console.log, uncaught exceptions) with --enable-logging.
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught")


def chromium(*arguments, cwd):
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make host-tools`", pytrace=False)
    profile = tempfile.mkdtemp(prefix="bulkhead-chromium-")
    try:
        return subprocess.run(
            [
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--enable-logging=stderr", "--v=0", *arguments,
            ],
            capture_output=True, text=True, timeout=120, cwd=cwd,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def book_for(run: int) -> ResultBook:
    """Drift on purpose: web-07 fails 5.15 from run 8, db-3 errors on 1.1.1 in runs 12-14, web-30
    appears at run 5, and 2.2 is fixed fleet-wide at run 15."""
    book = ResultBook()
    for index, host in enumerate(HOSTS):
        if host == "web-30.prod.example.org" and run < 5:
            continue
        for control in CONTROLS:
            outcome, reason = Outcome.PASS, None
            if control == "2.2" and run < 15:
                outcome, reason = Outcome.FAIL, "inter-container communication is enabled"
            if control == "5.15" and host == "web-07.prod.example.org" and run >= 8:
                outcome, reason = Outcome.FAIL, "container debug: shares the host's PID namespace"
            if control == "1.1.1" and host == "db-3" and 12 <= run <= 14:
                outcome, reason = Outcome.ERROR, "cannot determine: auditctl failed"
            if control == "5.31" and index % 4 == 0:
                outcome, reason = Outcome.NOT_APPLICABLE, "no running containers"
            if control == "5.10" and host.startswith("db-"):
                outcome, reason = Outcome.WAIVED, "container pg: no memory limit (waived: OPS-42)"
            book.record(host, control, outcome, reason, 0.01)
    return book


def twenty_run_page(directory: Path) -> str:
    catalogue = load_catalogue()
    html_text = ""
    for run in range(20):
        book = book_for(run)
        _entry, html_text = record_run(
            directory, 20, START + timedelta(days=run), book, catalogue, {}, 2.0, 1 if run < 15 else 0
        )
    return html_text


def test_the_trend_of_a_20_run_history_renders_in_chromium_without_console_errors(tmp_path):
    page = tmp_path / "trend.html"
    page.write_text(twenty_run_page(tmp_path / "history"))
    screenshot = tmp_path / "trend.png"
    shot = chromium(f"--screenshot={screenshot}", "--window-size=1400,1800", page.as_uri(), cwd=tmp_path)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert not [line for line in shot.stderr.splitlines() if CONSOLE.search(line)], shot.stderr[-3000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000

    dom = chromium("--dump-dom", page.as_uri(), cwd=tmp_path)
    assert dom.returncode == 0 and not [line for line in dom.stderr.splitlines() if CONSOLE.search(line)]
    assert "Trend over 20 audit run(s), 11-10 03:15 to 11-29 03:15 (UTC)" in dom.stdout
    assert dom.stdout.count("<svg") == 2
    assert dom.stdout.count("web-07.prod.example.org in 20261129T031500Z: 1 fail") == 1
    assert 'id="shown">(400 of 400 shown)' in dom.stdout  # the page's own script ran

    artifacts = os.environ.get("BULKHEAD_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(page, Path(artifacts) / "trend.html")
        shutil.copy(screenshot, Path(artifacts) / "trend.png")


def test_a_console_error_would_be_caught(tmp_path):
    """The check above can fail: a page with a script error shows up in Chromium's log."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    shot = chromium("--dump-dom", page.as_uri(), cwd=tmp_path)
    assert [line for line in shot.stderr.splitlines() if CONSOLE.search(line)]
