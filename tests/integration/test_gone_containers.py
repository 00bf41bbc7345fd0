"""No container escapes the audit: the events recorder on this machine's real engines, then an audit.

The recorder (roles/container_host/files/bulkhead-events) runs in the background as the role's unit
would (one for the Docker engine, one for rootful Podman, one for the rootless Podman user bhpodman),
but with its files in a temporary directory (``--output``, ``--state-file``, ``--containers-dir``;
the audit reads them there through BULKHEAD_RECORDED_DIR). A Docker container started with
``--pid host`` and a compliant one both live a few seconds and are removed BEFORE the audit: the
audit must fail 5.15 naming the first as removed, with its life span, and name the second nowhere.
The same for a ``--pid host`` container of each Podman engine, named with its engine. The kept
documents are root-only and carry no environment value.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECORDER = ROOT / "collections/ansible_collections/bulkhead/hardening/roles/container_host/files/bulkhead-events"
IMAGE = "bulkhead-it/busybox:local"
RUN = uuid.uuid4().hex[:8]
NETWORK = f"bulkhead-gone-{RUN}-net"
VIOLATOR = f"bulkhead-gone-{RUN}-hostpid"
COMPLIANT = f"bulkhead-gone-{RUN}-clean"
SECRET = f"bulkhead-gone-secret-{uuid.uuid4().hex}"
# Podman beside Docker (conftest's podman_engines_beside_docker: rootful, and rootless as bhpodman).
PODMAN_IMAGE = "localhost/bulkhead-it/busybox:local"
PODMAN_ROOTFUL = f"bulkhead-gone-{RUN}-podman"
PODMAN_ROOTLESS = f"bulkhead-gone-{RUN}-rootless"
PODMAN_USER = "bhpodman"
# test_runtime_audit.py's CLEAN, on a network of this test's own and with no published port.
CLEAN = [
    "--user", "1000:1000", "--read-only", "--memory", "64m", "--cpu-shares", "512", "--pids-limit", "64",
    "--security-opt", "no-new-privileges", "--cap-drop", "ALL", "--network", NETWORK,
    "--health-cmd", "true", "--health-interval", "2s", "--restart", "on-failure:3",
]  # fmt: skip


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def podman(*args: str, user: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    prefix = ["podman"]
    environment = None
    if user:
        import pwd

        entry = pwd.getpwnam(user)
        prefix = ["runuser", "-u", user, "--", "podman"]
        environment = {**os.environ, "XDG_RUNTIME_DIR": f"/run/user/{entry.pw_uid}", "HOME": entry.pw_dir}
    return subprocess.run([*prefix, *args], capture_output=True, text=True, check=check, cwd="/", env=environment)


def wait_for(predicate, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def kept(directory: Path, name: str) -> dict | None:
    for path in directory.glob("*.json"):
        document = json.loads(path.read_text())
        if document.get("Name") == name:
            return document
    return None


@pytest.fixture(scope="module")
def audited(tmp_path_factory, docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    work = tmp_path_factory.mktemp("gone")
    containers = work / "events" / "containers"
    recorder = subprocess.Popen(
        [sys.executable, str(RECORDER), "--output", str(work / "events.log"),
         "--state-file", str(work / "events" / "last-event"), "--containers-dir", str(containers),
         "--since", f"{time.time() - 1:.3f}"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    since = f"{time.time() - 1:.3f}"
    # One recorder per engine, as one unit per engine would run them; the documents share a directory.
    podman_recorders = [
        subprocess.Popen(
            [
                sys.executable,
                str(RECORDER),
                "--engine",
                "podman",
                *user,
                "--output",
                str(work / f"{name}.log"),
                "--state-file",
                str(work / name / "last-event"),
                "--containers-dir",
                str(containers),
                "--since",
                since,
            ],
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        for name, user in (("podman", []), ("rootless", ["--user", PODMAN_USER]))
    ]
    docker("network", "create", NETWORK)
    try:
        podman("run", "--name", PODMAN_ROOTFUL, "--pid", "host", PODMAN_IMAGE, "sleep", "1")
        podman("run", "--name", PODMAN_ROOTLESS, "--pid", "host", PODMAN_IMAGE, "sleep", "1", user=PODMAN_USER)
        podman("rm", PODMAN_ROOTFUL)
        podman("rm", PODMAN_ROOTLESS, user=PODMAN_USER)
        docker("run", "-d", "--name", VIOLATOR, "--pid", "host", "-e", f"BULKHEAD_GONE_SECRET={SECRET}",
               IMAGE, "sleep", "3600")  # fmt: skip
        docker("run", "-d", "--name", COMPLIANT, *CLEAN, IMAGE, "sleep", "3600")
        for name in (VIOLATOR, COMPLIANT):
            wait_for(lambda name=name: (kept(containers, name) or {}).get("Recorded", {}).get("Started"), f"{name}")
        time.sleep(1.2)  # a life span of at least a second, so that start and end differ on the clock
        for name in (VIOLATOR, COMPLIANT):  # one at a time (ENVIRONMENT.md: concurrent rm can deadlock)
            docker("rm", "-f", name)
        for name in (VIOLATOR, COMPLIANT, PODMAN_ROOTFUL, PODMAN_ROOTLESS):
            wait_for(lambda name=name: (kept(containers, name) or {}).get("Recorded", {}).get("Removed"), f"{name}")
        assert docker("ps", "-a", "--filter", f"name=^bulkhead-gone-{RUN}", "-q").stdout.strip() == ""
        reports = work / "reports"
        completed = subprocess.run(
            [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--sections=5",
             f"--reports={reports}", "--verbose"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "BULKHEAD_RECORDED_DIR": str(containers)},
        )  # fmt: skip
        yield completed, reports, containers, work
    finally:
        for process in (recorder, *podman_recorders):
            process.terminate()
            process.wait(timeout=10)
        podman("rm", "-f", PODMAN_ROOTFUL, check=False)
        podman("rm", "-f", PODMAN_ROOTLESS, user=PODMAN_USER, check=False)
        for name in (VIOLATOR, COMPLIANT):
            docker("rm", "-f", name, check=False)
        docker("network", "rm", NETWORK, check=False)


def report(reports: Path) -> dict:
    return json.loads((reports / "audit.json").read_text())["hosts"]["local"]


def test_a_removed_container_with_the_host_pid_namespace_fails_5_15_as_gone(audited):
    completed, reports, _containers, _work = audited
    control = {control["id"]: control for control in report(reports)["controls"]}["5.15"]
    assert control["outcome"] == "fail", completed.stdout + completed.stderr
    pattern = re.compile(
        rf"^container {VIOLATOR} \(removed, ran \d\d:\d\d:\d\d-\d\d:\d\d:\d\d\): "
        r"shares the host's pid namespace \(--pid=host\)$"
    )
    assert [line for line in control["reasons"] if pattern.match(line)], control["reasons"]
    assert f"container {VIOLATOR} (removed, ran" in (reports / "audit.xml").read_text()
    assert f"container {VIOLATOR} (removed, ran" in (reports / "audit.html").read_text()


def test_a_compliant_short_lived_container_is_named_in_no_finding(audited):
    completed, reports, _containers, _work = audited
    named = [
        f"{control['id']}: {line}"
        for control in report(reports)["controls"]
        for line in control["reasons"]
        if line.startswith(f"container {COMPLIANT} ")
    ]
    assert not named
    assert COMPLIANT not in completed.stdout.replace(f"{COMPLIANT} (removed", "")


def test_the_container_list_marks_both_as_gone(audited):
    _completed, reports, _containers, _work = audited
    listed = {item["name"]: item for item in report(reports)["facts"]["container_list"]}
    for name in (VIOLATOR, COMPLIANT):
        assert listed[name]["gone"] is True
        assert listed[name]["running"] is False
        assert listed[name]["ran"].startswith("removed, ran ")


def test_the_kept_documents_are_root_only_and_hold_no_environment_value(audited):
    _completed, reports, containers, work = audited
    assert containers.stat().st_mode & 0o777 == 0o700
    documents = list(containers.glob("*.json"))
    assert documents
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in documents)
    assert all(SECRET not in path.read_text() for path in documents)
    assert "BULKHEAD_GONE_SECRET" in kept(containers, VIOLATOR)["Config"]["EnvNames"]
    for name in ("audit.xml", "audit.json", "audit.html"):
        assert SECRET not in (reports / name).read_text()
    log = (work / "events.log").read_text()
    assert f"action=destroy container={VIOLATOR}" in log and SECRET not in log


@pytest.mark.parametrize(
    ("name", "engine"),
    [(PODMAN_ROOTFUL, "podman (rootful)"), (PODMAN_ROOTLESS, f"podman (rootless, user {PODMAN_USER})")],
    ids=["podman-rootful", "podman-rootless"],
)
def test_gone_podman_containers_are_judged_too(audited, name, engine):
    _completed, reports, _containers, _work = audited
    control = {control["id"]: control for control in report(reports)["controls"]}["5.15"]
    prefix = f"container {name} [{engine}] (removed, ran "
    assert [line for line in control["reasons"] if line.startswith(prefix)], control["reasons"]
