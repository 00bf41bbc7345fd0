"""Drift between two audit reports or two history runs: what failed anew, what was fixed, what
broke, which hosts and containers came and went; exit codes 0/1/2 and one-line bad input."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bulkhead.cli import main
from bulkhead.history import History, entry_name, summarise
from bulkhead.report.drift import compute_drift, drift_line

START = datetime(2026, 11, 30, 3, 15, 0, tzinfo=UTC)


def report(hosts, containers=None, generated="2026-11-30T03:15:09+00:00"):
    """hosts: {host: {control: outcome or (outcome, [reasons])}}; containers: {host: [(name, running)]}."""
    document = {"generated": generated, "summary": {}, "hosts": {}}
    for host, controls in hosts.items():
        entries = []
        for control_id, value in controls.items():
            outcome, reasons = value if isinstance(value, tuple) else (value, [])
            entries.append(
                {"id": control_id, "title": f"title {control_id}", "severity": "high", "outcome": outcome,
                 "reasons": reasons}
            )  # fmt: skip
            document["summary"][outcome] = document["summary"].get(outcome, 0) + 1
        facts = {}
        if containers is not None and host in containers:
            facts["container_list"] = [
                {"name": name, "engine": "docker (rootful)", "running": running} for name, running in containers[host]
            ]
        document["hosts"][host] = {"summary": {}, "facts": facts, "controls": entries}
    return document


BEFORE = report(
    {
        "web-1": {
            "2.2": ("fail", ["inter-container communication is enabled"]),
            "5.15": ("fail", ["container old: shares the host's PID namespace"]),
            "5.4": "pass",
            "BH-4.10": ("fail", ["image app:1: built 91 days ago (used by api)"]),
            "1.1.1": ("error", ["cannot determine: auditctl failed"]),
            "5.10": "waived",
        },
        "db-1": {"2.2": "pass"},
    },
    containers={"web-1": [("old", True), ("api", True), ("gone-soon", False)], "db-1": []},
)
AFTER = report(
    {
        "web-1": {
            "2.2": "pass",
            "5.15": ("fail", ["container old: shares the host's PID namespace",
                              "container new: shares the host's PID namespace"]),
            "5.4": ("fail", ["container new: runs privileged"]),
            "BH-4.10": ("fail", ["image app:1: built 92 days ago (used by api)"]),
            "1.1.1": "error",
            "5.10": ("fail", ["container api: no memory limit"]),
            "5.31": ("error", ["cannot determine: engine unreachable"]),
        },
        "cache-1": {"2.2": ("fail", ["inter-container communication is enabled"])},
    },
    containers={"web-1": [("old", True), ("api", True), ("new", True)], "cache-1": [("redis", True)]},
    generated="2026-11-30T04:15:09+00:00",
)  # fmt: skip


def by_control(items):
    return {(item["host"], item["control"]): item for item in items}


def test_new_failures_name_the_control_the_host_and_only_the_findings_that_appeared():
    drift = compute_drift(BEFORE, AFTER)
    failures = by_control(drift["new_failures"])
    assert set(failures) == {("web-1", "5.15"), ("web-1", "5.4"), ("web-1", "5.10"), ("cache-1", "2.2")}
    assert failures[("web-1", "5.15")]["findings"] == ["container new: shares the host's PID namespace"]
    assert failures[("web-1", "5.15")]["was"] == "fail"
    assert failures[("web-1", "5.4")] | {"findings": None} == {
        "host": "web-1", "control": "5.4", "title": "title 5.4", "was": "pass", "now": "fail", "severity": "high",
        "findings": None,
    }  # fmt: skip
    assert failures[("web-1", "5.10")]["was"] == "waived"  # an expired waiver fails anew
    assert failures[("cache-1", "2.2")]["was"] == "absent"  # a new host's failures are new
    assert drift["status"] == "new_failures"


def test_a_finding_whose_numbers_changed_is_not_new():
    drift = compute_drift(BEFORE, AFTER)
    assert ("web-1", "BH-4.10") not in by_control(drift["new_failures"])


def test_fixed_new_errors_hosts_and_containers():
    drift = compute_drift(BEFORE, AFTER)
    assert [(i["host"], i["control"], i["was"], i["now"]) for i in drift["fixed"]] == [("web-1", "2.2", "fail", "pass")]
    assert [(i["control"], i["reasons"]) for i in drift["new_errors"]] == [
        ("5.31", ["cannot determine: engine unreachable"])
    ]  # 1.1.1 was an error already
    assert drift["hosts_added"] == ["cache-1"] and drift["hosts_removed"] == ["db-1"]
    assert drift["containers_appeared"] == [
        {"host": "web-1", "name": "new", "engine": "docker (rootful)", "running": True}
    ]
    assert drift["containers_gone"] == [{"host": "web-1", "name": "gone-soon", "engine": "docker (rootful)"}]
    assert drift["containers_unknown_on"] == []


def test_reports_without_container_lists_say_containers_were_not_compared():
    before = report({"web-1": {"2.2": "pass"}})
    after = report({"web-1": {"2.2": "pass"}}, containers={"web-1": [("new", True)]})
    drift = compute_drift(before, after)
    assert drift["containers_appeared"] == [] and drift["containers_unknown_on"] == ["web-1"]
    assert drift["status"] == "no_new_failures"


def test_the_drift_line_is_one_line_for_the_journal():
    line = drift_line(compute_drift(BEFORE, AFTER, "20261130T031500Z", "20261130T041500Z"))
    assert "\n" not in line
    assert line == (
        "drift 20261130T031500Z -> 20261130T041500Z: 4 new failure(s) (5.15@web-1, 5.4@web-1, 5.10@web-1, "
        "2.2@cache-1), 1 new error(s) (5.31@web-1), 1 fixed, hosts +1/-1, containers +1/-1; "
        "now 1 pass, 5 fail, 2 error, 0 not_applicable, 0 waived"
    )


def write(path, document):
    path.write_text(json.dumps(document))
    return str(path)


def test_compare_two_files_prints_the_table_then_the_drift_and_exits_1_on_new_failures(tmp_path, capsys):
    before, after = write(tmp_path / "b.json", BEFORE), write(tmp_path / "a.json", AFTER)
    assert main(["compare", before, after]) == 1
    out = capsys.readouterr().out
    assert out.startswith("cache-1\n")
    assert "new failures:\n  5.15     web-1  title 5.15  (was fail)\n           + container new: shares" in out
    assert "containers that appeared:\n  web-1: new [docker (rootful), running]" in out
    assert "containers that went:\n  web-1: gone-soon [docker (rootful)]" in out
    assert "new hosts: cache-1\nhosts no longer audited: db-1" in out
    assert main(["compare", after, after]) == 0


def test_compare_json_is_the_drift_document_and_summary_one_line(tmp_path, capsys):
    before, after = write(tmp_path / "b.json", BEFORE), write(tmp_path / "a.json", AFTER)
    assert main(["compare", "--json", before, after]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "new_failures" and document["before"]["label"] == before
    assert main(["compare", "--summary", before, after]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON: Expecting property name"),
        ('["a list"]', "not a bulkhead JSON report (no 'hosts')"),
        (b"\xff\xfe", "cannot read"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(tmp_path, capsys, content, message):
    good = write(tmp_path / "good.json", BEFORE)
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    assert main(["compare", good, str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err
    assert captured.err.startswith(f"bulkhead compare: {bad}: ")


def history_with(tmp_path, *documents):
    history = History(tmp_path / "history")
    for hour, document in enumerate(documents):
        started = START + timedelta(hours=hour)
        files = {"json": json.dumps(document)}
        history.add(started, files, summarise(document, entry_name(started), 1), keep=30)
    return str(history.directory)


def test_compare_history_is_latest_against_previous_by_default(tmp_path, capsys):
    directory = history_with(tmp_path, AFTER, BEFORE, AFTER)
    assert main(["compare", "--history", directory, "--summary"]) == 1
    assert capsys.readouterr().out.startswith("drift 20261130T041500Z -> 20261130T051500Z: 4 new failure(s)")
    assert main(["compare", "--history", directory, "--since", "20261130T03", "--summary"]) == 0
    assert capsys.readouterr().out.startswith("drift 20261130T031500Z -> 20261130T051500Z: 0 new failure(s)")
    # two runs in the order given, even backwards in time: 2.2 fails again, 5.4 and 5.10 are fixed
    assert main(["compare", "--history", directory, "20261130T051500Z", "20261130T041500Z", "--summary"]) == 1
    assert "1 new failure(s) (2.2@web-1), 0 new error(s), 2 fixed" in capsys.readouterr().out
    assert main(["compare", "--history", directory, "20261130T041500Z"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("drift from 20261130T041500Z to 20261130T051500Z\nnew failures:")
    assert "cache-1\n  control" not in out  # the per-control table only with --table


@pytest.mark.parametrize(
    ("runs", "arguments", "message"),
    [
        (0, [], "has 0 run(s); comparing needs two"),
        (1, [], "has 1 run(s); comparing needs two"),
        (2, ["20991231T000000Z"], "no run named 20991231T000000Z"),
        (2, ["--since", "20991231"], "no run since 20991231"),
        (2, ["20261130T041500Z"], "is the latest run; nothing to compare it with"),
    ],
)
def test_compare_history_bad_input_is_exit_2_and_one_line(tmp_path, capsys, runs, arguments, message):
    directory = history_with(tmp_path, *[BEFORE] * runs) if runs else str(tmp_path)
    assert main(["compare", "--history", directory, *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1 and message in captured.err


def test_compare_history_of_a_missing_directory(tmp_path, capsys):
    assert main(["compare", "--history", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == f"bulkhead compare: history {tmp_path / 'none'}: no such directory\n"
