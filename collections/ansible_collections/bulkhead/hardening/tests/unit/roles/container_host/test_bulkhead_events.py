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


def fake_docker(tmp_path, lines, code=0, inspected=None):
    """A docker client: `docker events` prints ``lines``, `docker container inspect` prints ``inspected``.

    Each call's arguments are appended to ``argv`` (one line per call)."""
    (tmp_path / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    (tmp_path / "inspect.json").write_text(json.dumps([inspected]) if inspected else "[]")
    script = tmp_path / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/argv\n'
        'case " $* " in *" inspect "*) '
        f'cat {tmp_path}/inspect.json; [ -n "$(cat {tmp_path}/inspect.json | tr -d "[]")" ]; exit $? ;; esac\n'
        f"cat {tmp_path}/events.jsonl\nexit {code}\n"
    )
    script.chmod(0o755)
    return str(script)


def test_follow_writes_one_line_per_recorded_event_and_keeps_the_resume_point(tmp_path):
    docker = fake_docker(tmp_path, [json.dumps(EVENT), "not json", json.dumps({**EVENT, "Type": "image"})])
    output = tmp_path / "events.log"
    code = events.main(["--docker", docker, "--host", "unix:///x.sock", "--output", str(output), *_state(tmp_path)])
    assert code == 1, "a clean end of `docker events` still exits non-zero, so that systemd restarts the recorder"
    assert output.read_text() == f"bulkhead-events action=create container=web id=0123456789ab image=nginx:1 {STAMP}\n"
    calls = (tmp_path / "argv").read_text().splitlines()
    assert calls[0].split() == [
        *("-H", "unix:///x.sock", "events", "--format", "{{json", ".}}", "--filter", "type=container"),
    ]
    assert calls[1:] == ["-H unix:///x.sock container inspect 0123456789abcdef"], "the created container is inspected"
    assert (tmp_path / "state" / "last").read_text() == str(EVENT["timeNano"])


def test_follow_passes_the_clients_failure_on(tmp_path):
    docker = fake_docker(tmp_path, [], code=3)
    assert events.main(["--docker", docker, "--output", str(tmp_path / "log"), "--since", "5", *_state(tmp_path)]) == 3
    assert (tmp_path / "argv").read_text().split()[-2:] == ["--since", "5"]


def _state(tmp_path):
    return ["--state-file", str(tmp_path / "state" / "last")]


# --- kept inspect documents (no container escapes the audit) ------------------------------------------

CONTAINER_ID = "c0ffee" * 10 + "abcd"
INSPECTED = {
    "Id": CONTAINER_ID,
    "Name": "/debug-1",
    "Image": "sha256:" + "1" * 64,
    "Config": {
        "User": "",
        "Image": "bulkhead-it/busybox:local",
        "Env": ["PATH=/bin", "DB_PASSWORD=s3cret-value"],
        "Labels": {"owner": "token-in-a-label"},
        "Cmd": ["sh", "-c", "echo hunter2"],
    },
    "HostConfig": {"PidMode": "host", "Memory": 0, "Binds": ["/etc:/host-etc:ro"]},
    "State": {"Status": "running", "Running": True, "Pid": 4242},
    "Mounts": [{"Type": "bind", "Source": "/etc", "Destination": "/host-etc", "RW": False}],
    "NetworkSettings": {"Networks": {"bridge": {}}, "Ports": {}},
}


def event(action, nanos=1764469212000000000, container_id=CONTAINER_ID):
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": container_id, "Attributes": {"name": "debug-1", "image": "bulkhead-it/busybox:local"}},
        "timeNano": nanos,
    }


def recorder_args(tmp_path, docker, *extra):
    return events.parse_args(["--docker", docker, *_state(tmp_path), *extra])


def test_a_created_container_is_kept_without_environment_values_in_a_root_only_file(tmp_path):
    old = events.os.umask(0)  # the widest umask: the modes must not depend on it
    try:
        docker = fake_docker(tmp_path, [], inspected=INSPECTED)
        path = events.keep(recorder_args(tmp_path, docker), event("create"))
    finally:
        events.os.umask(old)
    assert path == str(tmp_path / "state" / "containers" / f"{CONTAINER_ID}.json")
    text = Path(path).read_text()
    for secret in ("s3cret-value", "token-in-a-label", "hunter2"):
        assert secret not in text
    kept = json.loads(text)
    assert kept["Name"] == "debug-1"
    assert kept["Engine"] == "docker (rootful)"
    assert kept["Config"]["EnvNames"] == ["DB_PASSWORD", "PATH"]
    assert kept["HostConfig"]["PidMode"] == "host"
    assert kept["Recorded"] == {"Created": "2025-11-30T02:20:12.000Z"}
    assert Path(path).stat().st_mode & 0o777 == 0o600
    assert Path(path).parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in Path(path).parent.iterdir()) == [f"{CONTAINER_ID}.json"], "no temporary file left"


def test_the_life_cycle_is_stamped_on_the_kept_document(tmp_path):
    docker = fake_docker(tmp_path, [], inspected=INSPECTED)
    args = recorder_args(tmp_path, docker)
    second = 10**9
    events.keep(args, event("create", 1764469212 * second))
    events.keep(args, event("start", 1764469213 * second))
    (tmp_path / "inspect.json").write_text("[]")  # gone from the engine: destroy needs no inspect
    events.keep(args, event("die", 1764469300 * second))
    path = events.keep(args, event("destroy", 1764469301 * second))
    assert json.loads(Path(path).read_text())["Recorded"] == {
        "Created": "2025-11-30T02:20:12.000Z",
        "Started": "2025-11-30T02:20:13.000Z",
        "Finished": "2025-11-30T02:21:40.000Z",
        "Removed": "2025-11-30T02:21:41.000Z",
    }
    assert (tmp_path / "argv").read_text().count("inspect") == 2, "create and start inspect; die and destroy do not"


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        ({"Type": "image"}, False),
        ({"Action": "exec_start: sh"}, False),
        ({"Actor": {"ID": "../../etc/passwd", "Attributes": {}}}, False),
        ({"Action": "destroy"}, False),
    ],
    ids=["not-a-container", "exec", "not-an-id", "destroy-of-an-unknown-container"],
)
def test_what_is_not_kept(tmp_path, change, kept):
    docker = fake_docker(tmp_path, [], inspected=INSPECTED)
    assert (events.keep(recorder_args(tmp_path, docker), {**event("create"), **change}) is not None) == kept
    assert not (tmp_path / "etc").exists()


def test_a_container_gone_before_it_could_be_inspected_is_said_and_not_kept(tmp_path, capsys):
    docker = fake_docker(tmp_path, [], inspected=None)
    assert events.keep(recorder_args(tmp_path, docker), event("create")) is None
    assert "could not inspect container c0ffeec0ffee (create)" in capsys.readouterr().err


def test_no_documents_with_an_empty_containers_dir(tmp_path):
    docker = fake_docker(tmp_path, [], inspected=INSPECTED)
    assert events.keep(recorder_args(tmp_path, docker, "--containers-dir", ""), event("create")) is None
    assert not (tmp_path / "argv").exists(), "nothing is inspected"


def test_a_huge_document_is_cut_to_the_size_bound_and_says_so(tmp_path):
    many = dict(INSPECTED, Mounts=[{"Source": f"/data/{n}", "Destination": f"/d/{n}"} for n in range(5000)])
    docker = fake_docker(tmp_path, [], inspected=many)
    path = events.keep(recorder_args(tmp_path, docker, "--max-document-bytes", "8192"), event("create"))
    kept = json.loads(Path(path).read_text())
    assert Path(path).stat().st_size <= 8192
    assert kept["Recorded"]["Truncated"] is True
    assert len(kept["Mounts"]) == 50
    assert kept["HostConfig"]["PidMode"] == "host", "what the checks read stays"


def test_a_document_that_cannot_fit_is_not_kept(tmp_path, capsys):
    docker = fake_docker(tmp_path, [], inspected=INSPECTED)
    assert events.keep(recorder_args(tmp_path, docker, "--max-document-bytes", "100"), event("create")) is None
    assert "document larger than 100 bytes" in capsys.readouterr().err


def test_prune_drops_old_documents_then_the_oldest_beyond_the_count(tmp_path):
    now = 1_800_000_000
    for number, age_days in enumerate([0.1, 0.2, 0.3, 8, 30]):
        path = tmp_path / f"{number:012x}.json"
        path.write_text("{}")
        os_time = now - age_days * 86400
        events.os.utime(path, (os_time, os_time))
    (tmp_path / "unrelated.txt").write_text("")
    removed = events.prune(str(tmp_path), keep_days=7, max_documents=2, now=now)
    assert sorted(Path(path).name for path in removed) == [f"{n:012x}.json" for n in (2, 3, 4)]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "000000000000.json",
        "000000000001.json",
        "unrelated.txt",
    ]


def test_follow_keeps_documents_and_prunes(tmp_path):
    docker = fake_docker(tmp_path, [json.dumps(event("create"))], inspected=INSPECTED)
    stale = tmp_path / "state" / "containers" / ("a" * 64 + ".json")
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    events.os.utime(stale, (1, 1))
    events.main(["--docker", docker, "--output", str(tmp_path / "log"), *_state(tmp_path)])
    assert sorted(path.name for path in stale.parent.iterdir()) == [f"{CONTAINER_ID}.json"]


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("2026-11-30T01:15:27.06042311Z", 1796001327060423110),
        ("2026-11-30T02:15:27.5+01:00", 1796001327500000000),
        ("2026-11-30T01:15:27Z", 1796001327000000000),
        ("yesterday", None),
        (None, None),
    ],
    ids=["nanoseconds", "offset", "whole-seconds", "unreadable", "missing"],
)
def test_parse_time_nano(text, nanos):
    assert events.parse_time_nano(text) == nanos


def test_podman_events_are_read_in_dockers_shape():
    podman = {
        "ContainerExitCode": 137,
        "ID": CONTAINER_ID,
        "Image": "localhost/bulkhead-it/busybox:local",
        "Name": "db",
        "Status": "died",
        "Time": "2026-11-30T01:15:27.06042311Z",
        "Type": "container",
        "Attributes": {},
    }
    line = events.describe(events.normalise(podman))
    assert line == (
        "action=die container=db id=c0ffeec0ffee image=localhost/bulkhead-it/busybox:local exit=137 "
        "time=2026-11-30T01:15:27.060Z"
    )
    assert events.normalise(EVENT) is EVENT, "a Docker event is left as it is"


@pytest.mark.parametrize(
    ("argv", "client", "engine"),
    [
        ([], ["docker"], "docker (rootful)"),
        (["--host", "unix:///run/user/0/docker.sock"], ["docker", "-H", "unix:///run/user/0/docker.sock"], None),
        (["--engine", "podman"], ["podman"], "podman (rootful)"),
        (
            ["--engine", "podman", "--user", "alice"],
            ["runuser", "-u", "alice", "--", "podman"],
            "podman (rootless, user alice)",
        ),
    ],
    ids=["docker", "rootless-docker", "podman", "rootless-podman"],
)
def test_engines(tmp_path, argv, client, engine):
    args = events.parse_args([*argv, *_state(tmp_path)])
    assert events.client_argv(args) == client
    label = events.engine_label(events.engine_of(args))
    if engine:
        assert label == engine
    else:
        assert label.startswith("docker (rootless, user ")


# --- issue 18: a kill between a line and its resume point; losses are noted, never silent -----------


def test_an_outage_past_the_resume_window_is_noted_for_the_audit(tmp_path, capsys):
    old = int((time.time() - 7200) * 1e9)
    events.save_since(str(tmp_path / "state" / "last"), old)
    assert events.read_since(args(tmp_path)) is None, "it starts from now"
    losses = json.loads((tmp_path / "state" / "losses.json").read_text())
    assert [loss["from"] for loss in losses] == [events.iso(old)]
    assert "longer than its resume window (3600 s)" in losses[0]["reason"]
    assert (tmp_path / "state" / "losses.json").stat().st_mode & 0o777 == 0o600
    assert "container events may be lost since" in capsys.readouterr().err


def test_an_unreadable_resume_point_is_noted_and_old_notes_go(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "losses.json").write_text(json.dumps([{"to": "x", "reason": "old", "noted": 1.0}]))
    (tmp_path / "state" / "last").write_text("garbage")
    assert events.read_since(args(tmp_path)) is None
    losses = json.loads((tmp_path / "state" / "losses.json").read_text())
    assert [loss["reason"] for loss in losses] == [f"the resume point {tmp_path}/state/last is unreadable ('garbage')"]


def test_a_first_start_and_a_resume_within_the_window_note_nothing(tmp_path):
    assert events.read_since(args(tmp_path)) is None
    events.save_since(str(tmp_path / "state" / "last"), int(time.time() * 1e9))
    assert events.read_since(args(tmp_path)) is not None
    assert not (tmp_path / "state" / "losses.json").exists()


@pytest.mark.parametrize("written", [True, False], ids=["line-written", "line-not-written"])
def test_a_kill_between_the_line_and_the_resume_point_neither_duplicates_nor_loses(tmp_path, written):
    """The run saved "T pending", then may have written T's line, then was killed before saving T."""
    first = event("create", nanos=int(time.time() * 1e9))
    second = event("start", nanos=first["timeNano"] + 1000)
    output = tmp_path / "events.log"
    line = f"bulkhead-events {events.describe(first)}\n"
    output.write_text(line if written else "")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "last").write_text(f"{first['timeNano']} pending")
    docker = fake_docker(tmp_path, [json.dumps(first), json.dumps(second)], inspected=INSPECTED)
    events.main(["--docker", docker, "--output", str(output), *_state(tmp_path)])
    assert output.read_text() == line + f"bulkhead-events {events.describe(second)}\n"
    follow = [call for call in (tmp_path / "argv").read_text().splitlines() if "--filter" in call]
    since = follow[0].split()[-1]
    assert since == f"{first['timeNano'] // 10**9}.{first['timeNano'] % 10**9:09d}", "the pending event is replayed"
    assert (tmp_path / "state" / "last").read_text() == str(second["timeNano"])


def test_each_line_is_written_between_a_pending_and_a_saved_resume_point(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(events, "save_since", lambda path, nanos, pending=False: saved.append((nanos, pending)))
    first = event("create")
    docker = fake_docker(tmp_path, [json.dumps(first)], inspected=INSPECTED)
    events.main(["--docker", docker, "--output", str(tmp_path / "log"), *_state(tmp_path)])
    assert saved == [(first["timeNano"], True), (first["timeNano"], False)]


def test_a_full_engine_buffer_newer_than_the_resume_point_is_noted(tmp_path):
    """Docker keeps its last 256 events: if all are newer than the resume point, older ones were dropped."""
    last = int((time.time() - 600) * 1e9)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "last").write_text(str(last))
    buffered = [last + (60 + i) * 10**9 for i in range(events.ENGINE_EVENTS_BUFFER)]
    (tmp_path / "buffer").write_text("".join(f"{nanos}\n" for nanos in buffered))
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\ncase " $* " in *" --until "*) cat {tmp_path}/buffer ;; esac\nexit 0\n')
    script.chmod(0o755)
    events.main(["--docker", str(script), "--output", str(tmp_path / "log"), *_state(tmp_path)])
    losses = json.loads((tmp_path / "state" / "losses.json").read_text())
    assert [(loss["from"], loss["to"]) for loss in losses] == [(events.iso(last), events.iso(buffered[0]))]
    assert "keeps its last 256 events only" in losses[0]["reason"]
    # The buffer reaches back past the resume point: nothing was dropped, nothing is noted.
    (tmp_path / "state" / "losses.json").unlink()
    (tmp_path / "buffer").write_text("".join(f"{nanos}\n" for nanos in [last - 1, *buffered]))
    events.main(["--docker", str(script), "--output", str(tmp_path / "log"), *_state(tmp_path)])
    assert not (tmp_path / "state" / "losses.json").exists()
