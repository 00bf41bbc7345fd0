"""Several targets audited in parallel (one process, states collected concurrently): outcomes and host facts
reach the reports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
TARGET = "bulkhead-it-nopython"


@pytest.fixture
def target_without_python(docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", TARGET, IMAGE, "sleep", "600"], check=True, capture_output=True)
    yield TARGET
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)


def test_two_hosts_in_parallel_one_cannot_be_read(tmp_path, target_without_python):
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", f"--hosts=local://,docker://{target_without_python}",
         "--parallel=2", "--sections=5", f"--json={tmp_path}/r.json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stdout + completed.stderr
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert set(hosts) == {"local", target_without_python}
    assert "docker (rootful)" in hosts["local"]["facts"]["engines"]  # beside whatever else runs here
    assert hosts["local"]["summary"]["error"] == 0
    unreadable = hosts[target_without_python]
    assert "collection_error" in unreadable["facts"]
    assert {control["outcome"] for control in unreadable["controls"]} == {"error"}
    assert unreadable["controls"][0]["reasons"][0].startswith(f"cannot determine: state collection on {TARGET}")
    assert "summary" in completed.stdout and "total" in completed.stdout
