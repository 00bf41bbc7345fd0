"""collector/host.py: the integrity baseline, and the host facts that read the /proc snapshot."""

import hashlib
import json

import pytest

from bulkhead.collector import host, proc
from bulkhead.collector.facts import FactError, fact


@pytest.fixture
def baseline(tmp_path, monkeypatch):
    path = tmp_path / "baseline.json"
    monkeypatch.setattr(host, "BASELINE", str(path))
    return path


def test_a_missing_baseline_is_an_error(baseline):
    assert "no integrity baseline at" in fact(host.integrity_baseline)["error"]


def test_the_baseline_is_compared_with_current_fingerprints(baseline, tmp_path):
    binary = tmp_path / "dockerd"
    binary.write_bytes(b"engine")
    recorded = {"format": 1, "files": {str(binary): "0" * 64, str(tmp_path / "gone"): None}, "images": {}}
    baseline.write_text(json.dumps(recorded))
    value = fact(host.integrity_baseline)["value"]
    assert value["recorded"] == recorded
    assert value["current"]["files"][str(tmp_path / "gone")] is None
    assert value["current"]["files"][str(binary)] == host._sha256(str(binary)) == hashlib.sha256(b"engine").hexdigest()


AUDITD = {"pid": 300, "argv": ["/sbin/auditd"]}
RSYSLOGD = {"pid": 301, "argv": ["/usr/sbin/rsyslogd", "-n", "-iNONE"]}
EVENTS = {"pid": 302, "argv": ["/usr/bin/python3", "/usr/local/sbin/bulkhead-events"]}
EVENTS_DIRECT = {"pid": 303, "argv": ["/usr/local/sbin/bulkhead-events", "--follow"]}
NOT_EVENTS = {"pid": 304, "argv": ["less", "-S", "/var/log/bulkhead-events"]}  # third word: not the recorder


def test_daemons_are_found_in_the_snapshot(fake_proc, monkeypatch):
    monkeypatch.setattr(host, "run", lambda argv: "enabled 1\npid 300\n")
    monkeypatch.setattr(host, "in_container", lambda: None)
    running = proc.take(fake_proc([AUDITD, RSYSLOGD, EVENTS, EVENTS_DIRECT, NOT_EVENTS]))
    quiet = proc.take(fake_proc([NOT_EVENTS]))
    assert host.audit_status(running)["auditd_running"] is True
    assert host.audit_status(quiet)["auditd_running"] is False
    assert host.audit_status(running)["kernel"] == {"enabled": "1", "pid": "300"}
    assert fact(host.audit_loaded_rules, quiet) == {
        "error": "auditd is not running, so no loaded audit rule can be trusted"
    }
    assert fact(host.audit_loaded_rules, running) == {"value": "enabled 1\npid 300\n"}
    assert host.rsyslog_config(running)["running"] is True
    assert host.rsyslog_config(quiet)["running"] is False
    assert host.events_recorder(running)["running"] == 2
    assert host.events_recorder(quiet)["running"] == 0


def test_the_recorders_losses_are_read_and_an_unreadable_note_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKHEAD_RECORDED_DIR", str(tmp_path / "containers"))
    assert host.recorder_losses() == [], "no losses file: no loss"
    note = {"from": "2026-11-30T01:00:00.000Z", "to": "2026-11-30T03:00:00.000Z", "reason": "outage", "noted": 1.0}
    (tmp_path / "losses.json").write_text(json.dumps([note]))
    assert host.recorder_losses() == [{"from": note["from"], "to": note["to"], "reason": "outage"}]
    for broken in ("{not json", json.dumps({"from": 1}), json.dumps(["text"])):
        (tmp_path / "losses.json").write_text(broken)
        with pytest.raises(FactError, match="cannot read the events recorder's losses"):
            host.recorder_losses()
