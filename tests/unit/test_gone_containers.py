"""Containers gone by the time of the audit are judged with the same checks (bulkhead.recorded, the registry).

The events recorder keeps each container's inspect document; the collector reports them as the fact
``recorded_containers``. The host form of every container check (``REGISTRY[id].judge``) judges
those not running any more, names them with their life span, and the JSON container list tells
them apart from running ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.collector import recorded as collector
from bulkhead.collector.engines import slim_container
from bulkhead.collector.facts import FactError
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.recorded import gone_containers, life_span
from bulkhead.report.container_list import container_list
from bulkhead.report.drift import _containers

NOW = datetime.now(UTC).replace(microsecond=0)
ENGINE = {"kind": "docker", "mode": "rootful", "user": None}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def document(name: str, *, pid_mode: str = "", running: bool = True, **recorded: datetime) -> dict[str, Any]:
    inspected = {
        "Id": f"{name}-id",
        "Name": "/" + name,
        "Config": {"Env": ["TOKEN=never-reported"], "User": "1000"},
        "HostConfig": {"PidMode": pid_mode, "Memory": 1 << 26, "PidsLimit": 64},
        "State": {"Running": running, "Status": "running" if running else "exited", "Pid": 7 if running else 0},
    }
    kept = slim_container(inspected, ENGINE)
    if recorded:
        kept["Recorded"] = {key: stamp(value) for key, value in recorded.items()}
    return kept


def host(running: list[dict[str, Any]], kept: list[dict[str, Any]] | dict[str, str]) -> HostState:
    return HostState(
        "test",
        {
            "containers": {"value": running},
            "recorded_containers": kept if isinstance(kept, dict) else {"value": kept},
            "container_processes": {"value": {}},
        },
    )


STARTED, FINISHED = NOW - timedelta(minutes=30), NOW - timedelta(minutes=28, seconds=32)
DEBUG = document("debug-1", pid_mode="host", Created=STARTED, Started=STARTED, Finished=FINISHED, Removed=FINISHED)
SPAN = f"removed, ran {STARTED:%H:%M:%S}-{FINISHED:%H:%M:%S}"
if STARTED.date() != NOW.date() or FINISHED.date() != NOW.date():  # the test runs just after midnight
    SPAN = f"removed, ran {STARTED:%Y-%m-%d %H:%M:%S}-{FINISHED:%Y-%m-%d %H:%M:%S}"


def test_a_removed_container_fails_the_control_with_its_life_span_in_the_finding():
    state = host([document("web")], [DEBUG])
    assert REGISTRY["5.15"].judge(state, AuditConfig()) == [
        f"container debug-1 ({SPAN}): shares the host's pid namespace (--pid=host)"
    ]


def test_gone_containers_are_judged_when_none_runs():
    assert REGISTRY["5.15"].judge(host([], [DEBUG]), AuditConfig()) == [
        f"container debug-1 ({SPAN}): shares the host's pid namespace (--pid=host)"
    ]


def test_a_compliant_gone_container_passes_and_no_container_at_all_is_not_applicable():
    clean = document("clean-1", Created=STARTED, Started=STARTED, Finished=FINISHED, Removed=FINISHED)
    assert REGISTRY["5.15"].judge(host([], [clean]), AuditConfig()) == []
    with pytest.raises(NotApplicable, match="no running containers"):
        REGISTRY["5.15"].judge(host([], []), AuditConfig())


def test_a_running_container_is_judged_once_as_running():
    running = document("debug-1", pid_mode="host")
    assert REGISTRY["5.15"].judge(host([running], [DEBUG]), AuditConfig()) == [
        "container debug-1: shares the host's pid namespace (--pid=host)"
    ]


def test_a_stopped_container_still_there_is_judged_as_stopped():
    stopped = document("debug-1", pid_mode="host", running=False)
    kept = document("debug-1", pid_mode="host", Created=STARTED, Started=STARTED, Finished=FINISHED)
    assert REGISTRY["5.15"].judge(host([stopped], [kept]), AuditConfig()) == [
        f"container debug-1 ({SPAN.replace('removed', 'stopped')}): shares the host's pid namespace (--pid=host)"
    ]


def test_containers_outside_the_window_are_not_judged_again():
    old = NOW - timedelta(days=3)
    kept = document("old-1", pid_mode="host", Started=old, Finished=old, Removed=old)
    assert REGISTRY["5.15"].judge(host([document("web")], [kept]), AuditConfig()) == []
    wide = AuditConfig({"gone_containers_days": 7})
    assert len(REGISTRY["5.15"].judge(host([document("web")], [kept]), wide)) == 1


def test_a_check_that_needs_a_running_container_skips_gone_ones():
    # 5.6 reads the container's processes: there are none to read once it is gone.
    assert REGISTRY["5.6"].judge(host([], [DEBUG]), AuditConfig()) == []


def test_an_unreadable_record_is_an_error_not_a_pass():
    with pytest.raises(FactUnavailable, match="permission denied"):
        REGISTRY["5.15"].judge(host([], {"error": "permission denied"}), AuditConfig())


def test_a_state_without_the_fact_judges_running_containers_only():
    state = HostState("test", {"containers": {"value": [document("web", pid_mode="host")]}})
    assert REGISTRY["5.15"].judge(state, AuditConfig()) == [
        "container web: shares the host's pid namespace (--pid=host)"
    ]


@pytest.mark.parametrize(
    ("recorded", "present", "expected"),
    [
        ({"Created": "2026-11-30T03:00:11.000Z"}, False, "removed, created 03:00:11, never started"),
        ({"Started": "2026-11-30T03:00:12.000Z"}, False, "removed, ran from 03:00:12"),
        (
            {"Started": "2026-11-30T03:00:12.000Z", "Finished": "2026-11-30T03:01:40.000Z"},
            True,
            "stopped, ran 03:00:12-03:01:40",
        ),
        (
            {"Started": "2026-11-30T03:00:12.000Z", "Removed": "2026-11-30T03:01:40.000Z"},
            False,
            "removed, ran 03:00:12-03:01:40",
        ),
        (
            {"Started": "2026-11-29T23:59:00.000Z", "Finished": "2026-11-30T00:01:00.000Z"},
            False,
            "removed, ran 2026-11-29 23:59:00-2026-11-30 00:01:00",
        ),
        ({}, False, "removed, never started"),
    ],
    ids=["never-started", "no-end-recorded", "stopped", "removed", "across-midnight", "nothing-recorded"],
)
def test_life_span(recorded, present, expected):
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert life_span({"Recorded": recorded}, present=present, now=now) == expected


def test_the_container_list_tells_running_stopped_and_gone_apart():
    stopped = document("stopped-1", running=False)
    listed = container_list(host([document("web"), stopped], [DEBUG]))
    assert listed == [
        {"name": "debug-1", "engine": "docker (rootful)", "running": False, "gone": True, "ran": SPAN},
        {"name": "stopped-1", "engine": "docker (rootful)", "running": False, "gone": False},
        {"name": "web", "engine": "docker (rootful)", "running": True, "gone": False},
    ]
    assert "never-reported" not in json.dumps(listed)
    report = {"hosts": {"h": {"facts": {"container_list": listed}}}}
    assert set(_containers(report, "h")) == {("docker (rootful)", "stopped-1"), ("docker (rootful)", "web")}, (
        "drift compares containers that were there"
    )


def test_gone_containers_sorted_by_name():
    other = dict(DEBUG, Id="a-id", Name="a-debug")
    assert [item[0]["Name"] for item in gone_containers(host([], [DEBUG, other]), AuditConfig())] == [
        "a-debug",
        "debug-1",
    ]


# --- the collector's side: reading what the recorder kept --------------------------------------------


def test_the_collector_reads_kept_documents_through_the_slim_shape(tmp_path):
    kept = dict(DEBUG)
    kept["Config"] = dict(DEBUG["Config"], Env=["TOKEN=never-reported"], EnvNames=["TOKEN=never-reported"])
    kept["HostConfig"] = dict(DEBUG["HostConfig"], Secret="never-reported")
    (tmp_path / "debug.json").write_text(json.dumps(kept))
    (tmp_path / "notes.txt").write_text("not a document")
    (tmp_path / "odd.json").write_text(json.dumps({"Name": "no id"}))
    found = collector.recorded_containers(str(tmp_path))
    assert [item["Name"] for item in found] == ["debug-1"]
    assert found[0]["HostConfig"]["PidMode"] == "host"
    assert found[0]["Config"]["EnvNames"] == ["TOKEN"]
    assert found[0]["Recorded"] == DEBUG["Recorded"]
    assert "never-reported" not in json.dumps(found)


def test_no_recorder_no_documents_and_an_unreadable_directory_is_an_error(tmp_path):
    assert collector.recorded_containers(str(tmp_path / "missing")) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(FactError, match="cannot read the events recorder's containers"):
        collector.recorded_containers(str(tmp_path / "file"))
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "broken.json").write_text("{not json")
    with pytest.raises(FactError, match=r"broken\.json"):
        collector.recorded_containers(str(tmp_path / "dir"))


@pytest.mark.parametrize("module", ["bulkhead.recorded", "bulkhead.report.container_list", "bulkhead.checks.registry"])
def test_imports_first_in_a_fresh_interpreter(module):
    # The registry imports bulkhead.recorded: neither may need the other half-imported.
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
