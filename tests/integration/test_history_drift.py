"""Real audits of this machine into a history, with a change in between: a container started with
``--pid host`` after the first run. The scheduled run's log line, its hook, ``compare --history``
and ``history`` must all name the control (5.15) and the container that appeared; a third run,
after the container is removed, must say it went."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
CONTROLS = ["5.4", "5.15", "2.2"]


def bulkhead(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", *arguments], capture_output=True, text=True, timeout=300
    )


def docker(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *arguments], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture
def busybox_image(docker_engine) -> str:
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    return IMAGE


@pytest.fixture
def container_name():
    name = f"bulkhead-hist-{uuid.uuid4().hex[:8]}"
    yield name
    docker("rm", "-f", name, check=False)


def scheduled_run(schedule: Path) -> tuple[subprocess.CompletedProcess, str]:
    completed = bulkhead("scheduled-audit", str(schedule), "--log", "stderr")
    lines = [line for line in completed.stderr.splitlines() if line.startswith("<")]
    assert len(lines) == 1, completed.stderr
    return completed, lines[0]


def test_a_container_started_between_two_runs_is_named_by_the_drift(tmp_path, busybox_image, container_name):
    history = tmp_path / "history"
    received = tmp_path / "hook-stdin.json"
    schedule = tmp_path / "schedule.yml"
    hook = [sys.executable, "-c", f"import sys; open({str(received)!r}, 'w').write(sys.stdin.read())"]
    schedule.write_text(
        json.dumps({"history": str(history), "keep": 5, "hosts": "local://", "controls": CONTROLS, "hook": hook})
    )

    first = bulkhead("audit", "--hosts=local://", f"--controls={','.join(CONTROLS)}", f"--history={history}")
    assert first.returncode in (0, 1), first.stdout + first.stderr
    assert f"history: {history}/" in first.stdout

    docker("run", "-d", "--name", container_name, "--pid", "host", "--network", "none", busybox_image, "sleep", "600")
    completed, line = scheduled_run(schedule)
    assert completed.returncode == 0, completed.stderr
    assert line.startswith("<4>bulkhead: audit ") and ": findings: " in line  # warning: findings
    assert "5.15@local" in line and "new failure(s)" in line

    drift = json.loads(received.read_text())  # the hook got the drift on stdin
    (failure,) = [item for item in drift["new_failures"] if item["control"] == "5.15"]
    assert failure["host"] == "local"
    assert f"container {container_name}: shares the host's pid namespace (--pid=host)" in failure["findings"]
    assert {"host": "local", "name": container_name, "engine": "docker (rootful)", "running": True} in drift[
        "containers_appeared"
    ]

    compared = bulkhead("compare", "--history", str(history), "--json")
    assert compared.returncode == 1, compared.stderr
    assert json.loads(compared.stdout)["new_failures"] == drift["new_failures"]

    listed = bulkhead("history", str(history), "--json")
    runs = json.loads(listed.stdout)["runs"]
    assert len(runs) == 2 and runs[1]["hosts"]["local"]["fail"] >= 1
    latest = history / runs[1]["name"]
    assert oct(latest.stat().st_mode & 0o777) == "0o700"
    assert {oct(path.stat().st_mode & 0o777) for path in latest.iterdir()} == {"0o600"}
    report = json.loads((latest / "audit.json").read_text())
    listed_names = [item["name"] for item in report["hosts"]["local"]["facts"]["container_list"]]
    assert container_name in listed_names
    assert 'id="trend"' in (latest / "audit.html").read_text()

    docker("rm", "-f", container_name)
    completed, line = scheduled_run(schedule)
    assert completed.returncode == 0, completed.stderr
    drift = json.loads(bulkhead("compare", "--history", str(history), "--json").stdout)
    assert {"host": "local", "name": container_name, "engine": "docker (rootful)"} in drift["containers_gone"]
    assert not [item for item in drift["new_failures"] if container_name in " ".join(item["findings"])]
    assert os.listdir(history) and len(json.loads(bulkhead("history", str(history), "--json").stdout)["runs"]) == 3
