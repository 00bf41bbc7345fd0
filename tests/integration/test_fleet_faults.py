"""Fleet audits with a bad host: one that does not resolve, one removed while it is being audited.
That host is an error naming the cause; the others are audited and reported; exit code 2."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
TARGET = "bulkhead-it-vanishing"
# The target's "python3": says it started, then hangs, so the test removes the container mid-collection.
HANGING_PYTHON = "#!/bin/sh\ntouch /tmp/collection-started\nexec sleep 120\n"


def audit(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bulkhead", "audit", "--no-progress", "--controls=2.2,5.4", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_host_that_does_not_resolve_is_an_error_and_the_others_are_audited(tmp_path, docker_engine):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    ghost:\n      ansible_host: bulkhead-no-such-host.invalid\n"
        "    here:\n      ansible_connection: local\n"
    )
    process = audit(f"--inventory={inventory}", "--hosts=ansible://all", f"--json={tmp_path / 'r.json'}")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2, out + err
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert set(hosts) == {"ghost", "here"}
    for control in hosts["ghost"]["controls"]:
        assert control["outcome"] == "error"
        (reason,) = control["reasons"]
        assert reason.startswith("cannot determine: cannot reach ghost: "), reason
        assert "bulkhead-no-such-host.invalid" in reason and "Could not resolve hostname" in reason, reason
    assert {control["outcome"] for control in hosts["here"]["controls"]} <= {"pass", "fail", "not_applicable"}


@pytest.fixture
def vanishing_target(docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", TARGET, IMAGE, "sleep", "600"], check=True, capture_output=True)
    subprocess.run(
        ["docker", "exec", "-i", TARGET, "sh", "-c", "cat > /bin/python3 && chmod 0755 /bin/python3"],
        input=HANGING_PYTHON,
        text=True,
        check=True,
    )
    yield TARGET
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)


def test_a_target_removed_mid_audit_is_an_error_and_the_other_host_is_reported(tmp_path, vanishing_target):
    process = audit(f"--hosts=local://,docker://{vanishing_target}", "--parallel=2", f"--json={tmp_path / 'r.json'}")
    deadline = time.monotonic() + 120
    started = ["docker", "exec", TARGET, "sh", "-c", "test -e /tmp/collection-started"]
    while subprocess.run(started, capture_output=True).returncode != 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the audit never reached the target"
        time.sleep(0.2)
    subprocess.run(["docker", "rm", "-f", TARGET], check=True, capture_output=True)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2, out + err
    assert "Traceback" not in err
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert set(hosts) == {"local", TARGET}
    gone = hosts[TARGET]
    assert {control["outcome"] for control in gone["controls"]} == {"error"}
    assert gone["controls"][0]["reasons"][0].startswith(f"cannot determine: state collection on {TARGET} failed")
    assert {control["outcome"] for control in hosts["local"]["controls"]} <= {"pass", "fail", "not_applicable"}
