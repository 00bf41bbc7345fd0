"""`bulkhead scheduled-audit`: one audit into the history, one log line whose priority says how it
went, the hook on new failures, and a visible failure for every way a run can go wrong."""

import json
import os
import socket
import sys
from datetime import UTC, datetime, timedelta

import pytest

import bulkhead.scheduled as scheduled
from bulkhead.cli import main
from bulkhead.history import History, entry_name, summarise
from bulkhead.schedule_config import ScheduleError, load_schedule, parse_schedule
from bulkhead.scheduled import SyslogLine, history_lock, scheduled_audit

START = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)


def report(outcomes, containers=()):
    controls = [
        {"id": cid, "title": cid, "outcome": outcome, "reasons": reasons}
        for cid, (outcome, reasons) in outcomes.items()
    ]
    summary = {}
    for outcome, _reasons in outcomes.values():
        summary[outcome] = summary.get(outcome, 0) + 1
    facts = {"container_list": [{"name": name, "engine": "docker (rootful)", "running": True} for name in containers]}
    host = {"summary": summary, "facts": facts, "controls": controls}
    return {"summary": summary, "hosts": {"local": host}}


COMPLIANT = report({"5.15": ("pass", [])})
BROKEN = report({"5.15": ("fail", ["container debug: shares the host's PID namespace"])}, containers=["debug"])


class FakeAudit:
    """Stands in for `bulkhead audit`: records a given report into the schedule's history."""

    def __init__(self, *runs):
        self.runs = list(runs)  # (report, exit code); None: the audit did not run
        self.argv = []
        self.clock = START

    def __call__(self, argv):
        self.argv.append(list(argv))
        run = self.runs.pop(0)
        if run is None:
            return 2
        document, code = run
        history = next(arg.split("=", 1)[1] for arg in argv if arg.startswith("--history="))
        self.clock += timedelta(hours=1)
        History(history).add(
            self.clock, {"json": json.dumps(document)}, summarise(document, entry_name(self.clock), code), 30
        )
        return code


class Lines:
    def __init__(self):
        self.sent = []

    def send(self, priority, message):
        self.sent.append((priority, message))
        return "test"


def schedule_for(tmp_path, **extra):
    return parse_schedule({"history": str(tmp_path / "history"), "hosts": "local://"} | extra)


def test_a_schedule_becomes_the_audit_command_line_it_stands_for(tmp_path):
    schedule = parse_schedule(
        {
            "history": "/var/lib/bulkhead/history",
            "keep": 14,
            "inventory": "/etc/bulkhead/hosts.yml",
            "limit": "web*",
            "controls": ["5.4", 5.15],
            "fail_on": "high",
            "waivers": "/etc/bulkhead/waivers.yml",
            "settings": "/etc/bulkhead/audit-settings.yml",
            "parallel": 4,
            "sudo": True,
            "hook": ["/usr/local/bin/notify", "--to", "ops"],
        }
    )
    assert schedule.audit_argv() == [
        "audit", "--no-progress", "--history=/var/lib/bulkhead/history", "--keep=14",
        "--inventory=/etc/bulkhead/hosts.yml", "--limit=web*", "--waivers=/etc/bulkhead/waivers.yml",
        "--config=/etc/bulkhead/audit-settings.yml", "--controls=5.4,5.15", "--parallel=4", "--sudo",
        "--fail-on=high",
    ]  # fmt: skip
    assert schedule.hook == ["/usr/local/bin/notify", "--to", "ops"]
    from bulkhead.cli import build_parser

    parsed = build_parser().parse_args(schedule.audit_argv())
    assert parsed.history == "/var/lib/bulkhead/history" and parsed.keep == 14 and parsed.fail_on == "high"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"hosts": "local://"}, "history: required"),
        ({"history": "/h", "hook": "notify --all"}, "hook: expected a command as a list of strings"),
        ({"history": "/h", "keep": 0}, "keep: expected a whole number of at least 1"),
        ({"history": "/h", "fail_on": "severe"}, "fail_on: one of low, medium, high, critical"),
        ({"history": "/h", "targets": "x"}, "unknown key(s) targets"),
        (["history"], "expected a mapping"),
    ],
)
def test_a_bad_schedule_is_refused_with_the_reason(document, message):
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(document)


def test_first_run_is_info_and_a_new_failure_is_a_warning_that_runs_the_hook(tmp_path):
    received = tmp_path / "hook-stdin.json"
    hook = [sys.executable, "-c", f"import sys; open({str(received)!r}, 'w').write(sys.stdin.read())"]
    schedule = schedule_for(tmp_path, hook=hook)
    audit, lines = FakeAudit((COMPLIANT, 0), (BROKEN, 1)), Lines()
    assert scheduled_audit(schedule, lines, run=audit) == 0
    assert lines.sent == [(6, "audit 20261130T041500Z: compliant: 1 pass, 0 fail, 0 error, 0 not_applicable, 0 waived; "
                              "first run in this history")]  # fmt: skip
    assert not received.exists()
    assert scheduled_audit(schedule, lines, run=audit) == 0
    priority, line = lines.sent[-1]
    assert priority == 4
    assert line.startswith("audit 20261130T051500Z: findings: 0 pass, 1 fail")
    assert "drift 20261130T041500Z -> 20261130T051500Z: 1 new failure(s) (5.15@local)" in line
    assert "containers +1/-0" in line
    drift = json.loads(received.read_text())
    assert drift["new_failures"][0]["findings"] == ["container debug: shares the host's PID namespace"]
    assert drift["containers_appeared"][0]["name"] == "debug"


def test_an_incomplete_audit_is_an_error_line_and_exit_2_but_recorded(tmp_path):
    lines = Lines()
    errored = report({"5.15": ("error", ["cannot determine: engine unreachable"])})
    assert scheduled_audit(schedule_for(tmp_path), lines, run=FakeAudit((errored, 2))) == 2
    assert lines.sent[0][0] == 3 and "incomplete (controls could not be determined)" in lines.sent[0][1]
    assert len(History(tmp_path / "history").entries()) == 1


def test_an_audit_that_did_not_run_is_an_error_line_and_exit_2(tmp_path):
    lines = Lines()
    assert scheduled_audit(schedule_for(tmp_path), lines, run=FakeAudit(None)) == 2
    assert lines.sent == [(3, f"audit did not run (exit code 2); nothing recorded in {tmp_path / 'history'}")]


def test_a_failing_hook_is_an_error_line_and_exit_4(tmp_path):
    schedule = schedule_for(tmp_path, hook=[sys.executable, "-c", "import sys; print('mail server down'); sys.exit(3)"])
    lines = Lines()
    audit = FakeAudit((COMPLIANT, 0), (BROKEN, 1))
    scheduled_audit(schedule, lines, run=audit)
    assert scheduled_audit(schedule, lines, run=audit) == 4
    assert lines.sent[-1] == (3, f"audit 20261130T051500Z: hook {sys.executable}: exit code 3: mail server down")


def test_a_crash_is_a_non_zero_exit_and_an_error_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "schedule.yml"
    path.write_text(f"history: {tmp_path / 'history'}\n")

    def crash(argv):
        raise RuntimeError("collector exploded")

    monkeypatch.setattr(scheduled, "_run_cli_audit", crash)
    monkeypatch.setattr(scheduled, "DEV_LOG", str(tmp_path / "no-syslog"))
    assert main(["scheduled-audit", str(path), "--log", "stderr"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.splitlines()[-1] == "<3>bulkhead: scheduled audit crashed: RuntimeError: collector exploded"


def test_a_missing_schedule_file_is_one_error_line(tmp_path, capsys):
    assert main(["scheduled-audit", str(tmp_path / "none.yml"), "--log", "stderr"]) == 2
    expected = f"<3>bulkhead: scheduled audit not started: schedule {tmp_path / 'none.yml'}: no such file\n"
    assert capsys.readouterr().err == expected
    with pytest.raises(ScheduleError, match="not valid YAML"):
        (tmp_path / "bad.yml").write_text("history: [unclosed\n")
        load_schedule(tmp_path / "bad.yml")


def test_a_run_while_the_previous_one_holds_the_history_is_skipped_visibly(tmp_path):
    lines = Lines()
    with history_lock(tmp_path / "history") as locked:
        assert locked
        assert scheduled_audit(schedule_for(tmp_path), lines, run=FakeAudit((COMPLIANT, 0))) == 5
    assert lines.sent[0][0] == 3 and "still holds its lock" in lines.sent[0][1]


def test_the_line_goes_to_the_syslog_socket_with_its_priority_when_there_is_one(tmp_path):
    address = str(tmp_path / "log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        assert SyslogLine("auto", address).send(4, "audit x: findings") == "syslog"
        datagram = server.recv(4096).decode()
    assert datagram == f"<28>bulkhead[{os.getpid()}]: audit x: findings"  # daemon.warning


def test_without_a_listener_the_line_goes_to_stderr_with_a_journald_priority_prefix(tmp_path, capsys):
    (tmp_path / "log").touch()  # exists, but nobody listens
    assert SyslogLine("auto", str(tmp_path / "log")).send(6, "audit x: compliant") == "stderr"
    assert capsys.readouterr().err == "<6>bulkhead: audit x: compliant\n"
