"""Fleet reports: per-host reports split from one multi-host audit, and the HTML host x section matrix."""

import json
import xml.etree.ElementTree as ET

import pytest

from bulkhead.catalogue import load_catalogue
from bulkhead.report.html import host_section_matrix, html_report
from bulkhead.report.jsondoc import json_report
from bulkhead.report.junit import junit_report
from bulkhead.report.split import SplitError, file_stems, main, split_junit, split_reports
from bulkhead.results import Outcome, ResultBook

CATALOGUE = load_catalogue()


def fleet_book() -> ResultBook:
    book = ResultBook()
    book.record("web-1", "5.4", Outcome.FAIL, "container admin: runs --privileged", 0.01)  # critical
    book.record("web-1", "BH-1.4", Outcome.PASS, None, 0.01)
    book.record("db-1", "BH-1.4", Outcome.FAIL, "no Defaults logfile= in /etc/sudoers", 0.01)  # medium
    book.record("db-1", "5.4", Outcome.PASS, None, 0.01)
    book.record("cache-1", "BH-1.4", Outcome.PASS, None, 0.01)
    book.record("cache-1", "5.4", Outcome.ERROR, "cannot determine: containers: engine unreachable", 0.01)
    return book


@pytest.fixture
def fleet_reports(tmp_path):
    book = fleet_book()
    facts = {"web-1": {"engines": ["docker (rootful)"]}}
    (tmp_path / "fleet.json").write_text(json_report(book, CATALOGUE, facts, 2.5))
    (tmp_path / "fleet.xml").write_text(junit_report(book, CATALOGUE))
    return tmp_path


def test_split_writes_each_host_alone_with_its_own_counts(fleet_reports):
    out = fleet_reports / "hosts"
    manifest = split_reports(fleet_reports / "fleet.json", fleet_reports / "fleet.xml", out, html=True)
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{host}.{suffix}" for host in ("web-1", "db-1", "cache-1") for suffix in ("json", "xml", "html")
    )
    web = json.loads((out / "web-1.json").read_text())
    assert list(web["hosts"]) == ["web-1"]
    assert web["summary"] == {"pass": 1, "fail": 1, "error": 0, "not_applicable": 0, "waived": 0}
    assert web["hosts"]["web-1"]["facts"] == {"engines": ["docker (rootful)"]}
    assert web["seconds"] == 2.5  # the fleet audit's duration, as the other top-level keys
    root = ET.fromstring((out / "db-1.xml").read_text())
    assert [suite.get("name") for suite in root.findall("testsuite")] == ["db-1"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    assert "control.id: " in root.find(".//testcase/system-out").text  # control metadata kept
    page = (out / "cache-1.html").read_text()
    assert "engine unreachable" in page and "runs --privileged" not in page
    assert manifest["hosts"]["db-1"]["reports"]["junit"] == str(out / "db-1.xml")


def test_verdicts_follow_the_threshold_and_errors_win(fleet_reports):
    out = fleet_reports / "hosts"
    low = split_reports(fleet_reports / "fleet.json", fleet_reports / "fleet.xml", out, fail_on="low")
    assert low["verdicts"] == {
        "hosts": ["cache-1", "db-1", "web-1"],
        "compliant": [],
        "findings": ["db-1", "web-1"],
        "incomplete": ["cache-1"],
    }
    high = split_reports(fleet_reports / "fleet.json", None, out, fail_on="high")
    assert high["verdicts"]["findings"] == ["web-1"]  # 5.4 is critical; db-1's medium finding is below
    assert high["verdicts"]["compliant"] == ["db-1"]
    assert high["hosts"]["db-1"]["line"].startswith("db-1: compliant at fail_on high (1 pass, 1 fail")


def test_a_second_split_removes_reports_of_hosts_no_longer_audited(fleet_reports):
    out = fleet_reports / "hosts"
    out.mkdir()
    (out / "old-host.json").write_text("{}")
    (out / "README.txt").write_text("kept")
    split_reports(fleet_reports / "fleet.json", fleet_reports / "fleet.xml", out)
    assert not (out / "old-host.json").exists()
    assert (out / "README.txt").exists()


def test_host_names_become_safe_unique_file_names():
    assert file_stems(["ssh://root@db-1", "ssh://root/db-1", "../etc", "web-1"]) == {
        "ssh://root@db-1": "ssh_root_db-1",
        "ssh://root/db-1": "ssh_root_db-1-2",
        "../etc": "_etc",
        "web-1": "web-1",
    }


def test_split_refuses_what_is_not_a_bulkhead_report(tmp_path, capsys):
    (tmp_path / "other.json").write_text('{"tool": "something else"}')
    with pytest.raises(SplitError, match="not a bulkhead JSON report"):
        split_reports(tmp_path / "other.json", None, tmp_path / "hosts")
    with pytest.raises(SplitError, match="root element <testsuite>"):
        split_junit("<testsuite name='x'/>")
    assert main(["--json", str(tmp_path / "missing.json"), str(tmp_path / "hosts")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_split_refuses_json_and_junit_of_different_audits(fleet_reports):
    other = ResultBook()
    other.record("web-1", "5.4", Outcome.PASS, None, 0.01)
    (fleet_reports / "other.xml").write_text(junit_report(other, CATALOGUE))
    with pytest.raises(SplitError, match="different hosts: cache-1, db-1"):
        split_reports(fleet_reports / "fleet.json", fleet_reports / "other.xml", fleet_reports / "hosts")


def test_main_prints_the_manifest(fleet_reports, capsys):
    out = fleet_reports / "hosts"
    assert main(["--json", str(fleet_reports / "fleet.json"), "--fail-on", "critical", str(out)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["fail_on"] == "critical"
    assert manifest["summary"]["fail"] == 2


def test_matrix_has_a_row_per_host_worst_first_and_a_cell_per_section():
    matrix = host_section_matrix(fleet_book(), CATALOGUE)
    assert [section["id"] for section in matrix["sections"]] == ["1", "5"]
    rows = {row["host"]: row for row in matrix["rows"]}
    assert [row["host"] for row in matrix["rows"]] == ["db-1", "web-1", "cache-1"]  # fail (by name), then error
    section_1, section_5 = rows["web-1"]["cells"]
    assert section_1 == {"worst": "pass", "count": 1, "total": 1, "counts": section_1["counts"]}
    assert (section_5["worst"], section_5["count"], section_5["total"]) == ("fail", 1, 1)
    assert rows["cache-1"]["cells"][1]["worst"] == "error"


def test_matrix_cell_is_empty_where_a_host_had_no_control_of_the_section():
    book = fleet_book()
    book.record("lone", "BH-1.4", Outcome.PASS, None, 0.01)
    rows = {row["host"]: row for row in host_section_matrix(book, CATALOGUE)["rows"]}
    assert rows["lone"]["cells"][1] is None


def test_html_shows_the_matrix_for_a_fleet_only():
    page = html_report(fleet_book(), CATALOGUE, {}, 1.0)
    assert 'id="matrix"' in page and "Hosts &times; sections" in page
    assert 'class="cell m-fail"' in page and 'class="cell m-error"' in page
    assert "<script src" not in page and "<link" not in page
    single = ResultBook()
    single.record("web-1", "5.4", Outcome.PASS, None, 0.01)
    assert 'id="matrix"' not in html_report(single, CATALOGUE, {}, 1.0)
