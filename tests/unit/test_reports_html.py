"""The HTML report: self-contained, failures first, summaries, and nothing but reasons and catalogue text."""

from bulkhead.audit import exit_code
from bulkhead.catalogue import load_catalogue
from bulkhead.report.html import html_report
from bulkhead.report.jsondoc import json_report
from bulkhead.results import Outcome, ResultBook

CATALOGUE = load_catalogue()


def sample_book() -> ResultBook:
    book = ResultBook()
    book.record("web-1", "5.12", Outcome.PASS, None, 0.01)
    book.record("web-1", "5.4", Outcome.FAIL, "container admin: runs --privileged", 0.01)
    book.record("web-1", "5.6", Outcome.ERROR, "cannot determine: processes unreadable", 0.01)
    book.record("web-1", "5.1", Outcome.NOT_APPLICABLE, "AppArmor is not enabled", 0.01)
    book.record("db-1", "4.6", Outcome.FAIL, "image <script>alert(1)</script>: no HEALTHCHECK", 0.01)
    return book


def test_html_is_self_contained_and_lists_failures_first():
    page = html_report(sample_book(), CATALOGUE, {"web-1": {"engines": ["docker (rootful)"]}}, 1.5)
    assert "<link" not in page and "src=" not in page  # no external stylesheet, script or image
    assert page.index("runs --privileged") < page.index("processes unreadable") < page.index("AppArmor is not")
    assert "By section" in page and "By severity" in page and 'id="q"' in page
    assert "docker (rootful)" in page


def test_html_escapes_what_checks_report():
    page = html_report(sample_book(), CATALOGUE, {}, None)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_json_carries_timings_and_summary():
    import json

    document = json.loads(json_report(sample_book(), CATALOGUE, {"web-1": {"collection_seconds": 0.2}}, 1.5))
    assert document["seconds"] == 1.5
    assert document["summary"]["fail"] == 2
    assert document["hosts"]["web-1"]["facts"] == {"collection_seconds": 0.2}


def test_exit_code_errors_win_then_severity_threshold():
    book = sample_book()
    assert exit_code(book, CATALOGUE, "low") == 2
    book.hosts["web-1"].pop("5.6")
    assert exit_code(book, CATALOGUE, "low") == 1  # 5.4 critical, 4.6 low
    assert exit_code(book, CATALOGUE, "critical") == 1
    book.hosts["web-1"].pop("5.4")
    assert exit_code(book, CATALOGUE, "medium") == 0  # only the low 4.6 is left
    assert exit_code(book, CATALOGUE, "low") == 1
