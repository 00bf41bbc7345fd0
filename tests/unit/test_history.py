"""The audit history: one root-only directory per run, written whole or not at all, the last N kept."""

import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta

import pytest

from bulkhead.catalogue import load_catalogue
from bulkhead.cli import main
from bulkhead.history import History, HistoryError, entry_name, since, summarise
from bulkhead.report.history_run import record_run
from bulkhead.results import Outcome, ResultBook

START = datetime(2026, 11, 30, 3, 15, 0, tzinfo=UTC)


def report(hosts):
    """A JSON report: {host: {control: outcome}}."""
    document = {"generated": "2026-11-30T03:15:09+00:00", "seconds": 1.5, "hosts": {}, "summary": {}}
    for host, controls in hosts.items():
        counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
        for outcome in controls.values():
            counts[outcome] += 1
            document["summary"][outcome] = document["summary"].get(outcome, 0) + 1
        document["hosts"][host] = {
            "summary": counts,
            "facts": {},
            "controls": [{"id": cid, "title": cid, "outcome": outcome} for cid, outcome in controls.items()],
        }
    return document


def add_run(history, started, hosts, keep=30, exit_code=1):
    document = report(hosts)
    files = {"junit": "<testsuites/>", "json": json.dumps(document), "html": "<html></html>"}
    return history.add(started, files, summarise(document, entry_name(started), exit_code), keep)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_run_is_a_directory_named_by_its_start_readable_by_root_only(tmp_path):
    directory = tmp_path / "history"
    directory.mkdir(mode=0o755)  # an existing, wider directory is narrowed too
    old_umask = os.umask(0)
    try:
        entry = add_run(History(directory), START, {"web-1": {"2.2": "fail"}})
    finally:
        os.umask(old_umask)
    assert entry.name == "20261130T031500Z"
    assert mode(directory) == 0o700 and mode(entry.path) == 0o700
    assert sorted(path.name for path in entry.path.iterdir()) == [
        "audit.html",
        "audit.json",
        "audit.xml",
        "summary.json",
    ]
    assert {mode(path) for path in entry.path.iterdir()} == {0o600}
    summary = entry.summary()
    assert summary["counts"] == {"fail": 1}
    assert summary["hosts"] == {"web-1": {"pass": 0, "fail": 1, "error": 0, "not_applicable": 0, "waived": 0}}
    assert summary["started"] == "2026-11-30T03:15:00+00:00" and summary["exit_code"] == 1


def test_runs_are_listed_oldest_first_and_two_in_one_second_both_kept(tmp_path):
    history = History(tmp_path)
    add_run(history, START + timedelta(hours=1), {"a": {"2.2": "pass"}})
    add_run(history, START, {"a": {"2.2": "fail"}})
    add_run(history, START + timedelta(hours=1), {"a": {"2.2": "pass"}})
    assert [entry.name for entry in history.entries()] == [
        "20261130T031500Z",
        "20261130T041500Z",
        "20261130T041500Z-1",
    ]


def test_keep_prunes_the_oldest_and_never_the_newest(tmp_path):
    history = History(tmp_path)
    for hour in range(5):
        add_run(history, START + timedelta(hours=hour), {"a": {"2.2": "pass"}}, keep=3)
    assert [entry.name[9:13] for entry in history.entries()] == ["0515", "0615", "0715"]
    add_run(history, START + timedelta(hours=9), {"a": {"2.2": "pass"}}, keep=1)
    assert [entry.name for entry in history.entries()] == ["20261130T121500Z"]
    assert history.prune(0) == []  # keep 0 still keeps the newest
    with pytest.raises(HistoryError, match="at least 1"):
        add_run(history, START, {"a": {"2.2": "pass"}}, keep=0)


def test_a_run_that_fails_half_way_leaves_nothing_that_looks_like_a_run(tmp_path, monkeypatch):
    history = History(tmp_path)
    add_run(history, START, {"a": {"2.2": "pass"}})
    import bulkhead.history as module

    real_write = module._write_private
    written = []

    def failing_write(path, text):
        written.append(path.name)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(module, "_write_private", failing_write)
    with pytest.raises(OSError, match="No space"):
        add_run(history, START + timedelta(hours=1), {"a": {"2.2": "fail"}})
    assert [entry.name for entry in history.entries()] == ["20261130T031500Z"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["20261130T031500Z"]


def test_what_a_killed_run_left_is_never_listed_and_is_cleaned_up_later(tmp_path):
    history = History(tmp_path)
    killed = tmp_path / ".partial-20261130T041500Z-abcd"
    killed.mkdir()
    (killed / "audit.json").write_text("{}")
    incomplete = tmp_path / "20261130T051500Z"  # a directory with the name but no summary
    incomplete.mkdir()
    assert history.entries() == []
    stale = time.time() - 7200
    os.utime(killed, (stale, stale))
    add_run(history, START, {"a": {"2.2": "pass"}})
    assert not killed.exists()
    assert [entry.name for entry in history.entries()] == ["20261130T031500Z"]


def test_since_takes_a_run_name_a_utc_time_or_an_age(tmp_path):
    history = History(tmp_path)
    for hour in (0, 5, 24):
        add_run(history, START + timedelta(hours=hour), {"a": {"2.2": "pass"}})
    assert since(history, "20261130T081500Z").name == "20261130T081500Z"
    assert since(history, "20261130T04").name == "20261130T081500Z"
    assert since(history, "20261201").name == "20261201T031500Z"
    now = START + timedelta(hours=25)
    assert since(history, "21h", now=now).name == "20261130T081500Z"
    assert since(history, "2d", now=now).name == "20261130T031500Z"
    with pytest.raises(HistoryError, match="no run since"):
        since(history, "20270101")
    with pytest.raises(HistoryError, match="give a run name"):
        since(history, "yesterday")


def test_bulkhead_history_lists_runs_with_counts_and_hosts(tmp_path, capsys):
    history = History(tmp_path)
    add_run(history, START, {"web-1": {"2.2": "fail", "2.3": "pass"}, "web-2": {"2.2": "pass"}})
    add_run(history, START + timedelta(days=1), {"web-1": {"2.2": "pass"}}, exit_code=0)
    assert main(["history", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "exit", "pass", "fail", "error", "not_applicable", "waived", "hosts"]
    assert lines[1].split() == ["20261130T031500Z", "1", "2", "1", "0", "0", "0", "2:", "web-1,", "web-2"]
    assert lines[2].split() == ["20261201T031500Z", "0", "1", "0", "0", "0", "0", "1:", "web-1"]
    assert main(["history", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [run["name"] for run in runs] == ["20261130T031500Z", "20261201T031500Z"]
    assert runs[0]["hosts"]["web-1"]["fail"] == 1 and runs[0]["path"] == str(tmp_path / "20261130T031500Z")


def test_bulkhead_history_of_a_missing_directory_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["history", str(tmp_path / "nope")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"bulkhead history: history {tmp_path / 'nope'}: no such directory\n"
    assert main(["history", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"no runs in {tmp_path}\n"


def test_recording_an_audit_writes_its_three_reports_and_a_trend_over_the_kept_runs(tmp_path):
    catalogue = load_catalogue()
    facts = {"web-1": {"container_list": [{"name": "api", "engine": "docker (rootful)", "running": True}]}}
    for hour, outcome in enumerate((Outcome.PASS, Outcome.FAIL, Outcome.FAIL)):
        book = ResultBook()
        book.record("web-1", "2.2", outcome, "icc is enabled" if outcome is Outcome.FAIL else None, 0.1)
        entry, html_text = record_run(
            tmp_path, 2, START + timedelta(hours=hour), book, catalogue, facts, 1.0, int(outcome is Outcome.FAIL)
        )
    assert [e.name for e in History(tmp_path).entries()] == ["20261130T041500Z", "20261130T051500Z"]
    assert entry.file("html").read_text() == html_text
    assert 'id="trend"' in html_text and "Trend over 2 audit run(s)" in html_text
    document = entry.report()
    assert document["hosts"]["web-1"]["facts"]["container_list"][0]["name"] == "api"
    assert 'name="web-1"' in entry.file("junit").read_text()


def test_a_shared_directory_or_one_owned_by_someone_else_is_refused_not_narrowed(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)
    (shared / "someone-elses-file").write_text("x")
    with pytest.raises(HistoryError, match="readable by others and holds other files"):
        add_run(History(shared), START, {"a": {"2.2": "pass"}})
    assert mode(shared) == 0o1777 and History(shared).entries() == []
    if os.geteuid() != 0:
        return  # giving a directory to another user needs root (CI and our machines run as root)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(HistoryError, match="owned by uid 65534"):
        History(theirs).prepare()


def test_audit_refuses_an_unusable_history_or_keep_without_history_before_auditing(tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    (shared / "notes.txt").write_text("x")
    assert main(["audit", "--controls", "2.2", "--history", str(shared)]) == 2
    assert "give the history a directory of its own" in capsys.readouterr().err
    assert main(["audit", "--controls", "2.2", "--keep", "3"]) == 2
    assert capsys.readouterr().err == "bulkhead: --keep 3: it needs --history\n"
