"""roles/container_host/files/bulkhead-events, the engine event recorder (a program without .py suffix)."""

import importlib.machinery
import importlib.util
import json
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "container_host" / "files" / "bulkhead-events"


def load_script():
    loader = importlib.machinery.SourceFileLoader("bulkhead_events", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


events = load_script()

EVENT = {
    "Type": "container",
    "Action": "create",
    "Actor": {"ID": "0123456789abcdef", "Attributes": {"name": "web", "image": "nginx:1", "SECRET": "x"}},
    "timeNano": 1764408000123456789,
}
STAMP = "time=2025-11-29T09:20:00.123Z"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, f"action=create container=web id=0123456789ab image=nginx:1 {STAMP}"),
        ({"Type": "network"}, None),
        ({"Action": "attach"}, None),
        ({"Action": "", "status": "destroy"}, f"action=destroy container=web id=0123456789ab image=nginx:1 {STAMP}"),
        (
            {"Action": "die", "Actor": {"ID": "0123456789abcdef", "Attributes": {"name": "web", "exitCode": "137"}}},
            f'action=die container=web id=0123456789ab image="?" exit=137 {STAMP}',
        ),
        (
            {"Action": "exec_start: sh -c echo $TOKEN", "Actor": {"ID": "ab", "Attributes": {"execID": "e" * 64}}},
            f'action=exec_start container="?" id=ab image="?" exec_id=eeeeeeeeeeee {STAMP}',
        ),
        (
            {"Actor": {"ID": "ab", "Attributes": {"name": "my web", "image": "x", "bulkhead.user": "alice"}}},
            f'action=create container="my web" id=ab image=x user=alice {STAMP}',
        ),
        (
            {"Actor": None, "id": "cd", "from": "busybox", "timeNano": None, "time": 1764408000},
            'action=create container="?" id=cd image=busybox time=2025-11-29T09:20:00.000Z',
        ),
    ],
    ids=[
        "create",
        "not-a-container",
        "not-recorded",
        "old-status-field",
        "die",
        "exec-args-dropped",
        "quoted",
        "old-engine",
    ],
)
def test_describe(change, expected):
    line = events.describe({**EVENT, **change})
    assert line == expected
    assert "SECRET" not in (line or "") and "TOKEN" not in (line or "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("web-1", "web-1"),
        ("a b", '"a b"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("reg:5000/x@sha256:ab", "reg:5000/x@sha256:ab"),
    ],
    ids=["plain", "blank", "empty", "quotes", "image-ref"],
)
def test_quote(value, expected):
    assert events._quote(value) == expected


def args(tmp_path, *extra):
    return events.parse_args(["--state-file", str(tmp_path / "state" / "last"), *extra])


def test_resume_point_round_trip(tmp_path):
    now = int(time.time() * 1e9)
    events.save_since(str(tmp_path / "state" / "last"), now)
    assert events.read_since(args(tmp_path)) == f"{(now + 1) // 10**9}.{(now + 1) % 10**9:09d}"
    assert list((tmp_path / "state").iterdir()) == [tmp_path / "state" / "last"], "no temporary file is left"


@pytest.mark.parametrize(
    ("state", "expected"),
    [(None, None), ("garbage", None), (str(int((time.time() - 7200) * 1e9)), None)],
    ids=["no-state", "unreadable", "older-than-the-resume-window"],
)
def test_no_resume_point(tmp_path, state, expected):
    if state is not None:
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "last").write_text(state)
    assert events.read_since(args(tmp_path)) == expected


def test_since_wins_over_the_state_file(tmp_path):
    events.save_since(str(tmp_path / "state" / "last"), int(time.time() * 1e9))
    assert events.read_since(args(tmp_path, "--since", "1700000000")) == "1700000000"


def test_an_unwritable_resume_point_is_not_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    events.save_since(str(tmp_path / "file" / "last"), 1)  # a file where the directory should be


def fake_docker(tmp_path, lines, code=0):
    """A docker client that prints ``lines`` for `docker events` and records its arguments."""
    (tmp_path / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/argv\ncat {tmp_path}/events.jsonl\nexit {code}\n')
    script.chmod(0o755)
    return str(script)


def test_follow_writes_one_line_per_recorded_event_and_keeps_the_resume_point(tmp_path):
    docker = fake_docker(tmp_path, [json.dumps(EVENT), "not json", json.dumps({**EVENT, "Type": "image"})])
    output = tmp_path / "events.log"
    code = events.main(["--docker", docker, "--host", "unix:///x.sock", "--output", str(output), *_state(tmp_path)])
    assert code == 1, "a clean end of `docker events` still exits non-zero, so that systemd restarts the recorder"
    assert output.read_text() == f"bulkhead-events action=create container=web id=0123456789ab image=nginx:1 {STAMP}\n"
    assert (tmp_path / "argv").read_text().split() == [
        *("-H", "unix:///x.sock", "events", "--format", "{{json", ".}}", "--filter", "type=container"),
    ]
    assert (tmp_path / "state" / "last").read_text() == str(EVENT["timeNano"])


def test_follow_passes_the_clients_failure_on(tmp_path):
    docker = fake_docker(tmp_path, [], code=3)
    assert events.main(["--docker", docker, "--output", str(tmp_path / "log"), "--since", "5", *_state(tmp_path)]) == 3
    assert (tmp_path / "argv").read_text().split()[-2:] == ["--since", "5"]


def _state(tmp_path):
    return ["--state-file", str(tmp_path / "state" / "last")]
