"""Several docker:// targets audited at once from one process, one of which hangs: it alone is an error."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

IMAGE = "bulkhead-test/systemd:bookworm"  # has python3; run here without systemd, as a plain process
TARGETS = [f"bulkhead-it-fleet-{index}" for index in range(3)]
HUNG = "bulkhead-it-fleet-hung"
# The hung target's python3 never answers: the collector's command sleeps until it is killed.
HANG = "printf '#!/bin/sh\\nexec sleep 600\\n' > /usr/local/bin/python3 && chmod 755 /usr/local/bin/python3"


@pytest.fixture
def fleet(docker_engine):
    names = [*TARGETS, HUNG]
    for name in names:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    for name in TARGETS:
        subprocess.run(["docker", "run", "-d", "--name", name, IMAGE, "sleep", "600"], check=True, capture_output=True)
    subprocess.run(
        ["docker", "run", "-d", "--name", HUNG, IMAGE, "sh", "-c", f"{HANG} && exec sleep 600"],
        check=True,
        capture_output=True,
    )
    yield names
    for name in names:  # one at a time (Docker 20.10 and concurrent removals)
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_a_hung_target_is_an_error_and_the_others_are_judged(tmp_path, fleet):
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", f"--hosts={','.join(f'docker://{name}' for name in fleet)}",
         "--parallel=4", "--host-timeout=5", f"--json={tmp_path}/r.json", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stdout + completed.stderr
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert set(hosts) == set(fleet)
    hung = hosts[HUNG]
    reason = f"state collection on {HUNG} timed out after 5 s"
    assert hung["facts"]["collection_error"] == reason
    assert {control["outcome"] for control in hung["controls"]} == {"error"}
    assert {control["reasons"][0] for control in hung["controls"]} == {f"cannot determine: {reason}"}
    for name in TARGETS:
        judged = hosts[name]
        assert "collection_error" not in judged["facts"], judged["facts"]
        assert judged["facts"]["unavailable_facts"] is not None
        outcomes = {control["outcome"] for control in judged["controls"]}
        assert {"pass", "fail"} <= outcomes, outcomes  # judged from its facts, not an error throughout
    assert f"{HUNG}" in completed.stdout and "total" in completed.stdout
