"""A real rootless Podman user's container, audited on this machine from a directory that user cannot enter.

The session fixture ``podman_engines_beside_docker`` (conftest.py) runs one container as the rootless
Podman user and one under rootful Podman. The audit runs from a 0700 directory, as it does from /root
or from a ``mktemp -d`` clone: the collector must query the user's engine from a directory the user
can enter, and the report must carry every engine's version.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOTLESS_CONTAINER = "bulkhead-it-podman-rootless"
ROOTFUL_CONTAINER = "bulkhead-it-podman-rootful"


@pytest.fixture(scope="module")
def audited_from_a_private_directory(tmp_path_factory, docker_engine, podman_engines_beside_docker):
    user = podman_engines_beside_docker
    private = tmp_path_factory.mktemp("private")
    private.chmod(0o700)
    reports = tmp_path_factory.mktemp("reports")
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--sections=5",
         f"--json={reports}/audit.json", "--verbose"],
        capture_output=True, text=True, timeout=300, cwd=private,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    report = json.loads((reports / "audit.json").read_text())
    return user, completed, report["hosts"]["local"]


def test_no_control_is_undetermined(audited_from_a_private_directory):
    _user, completed, host = audited_from_a_private_directory
    errors = {control["id"]: control["reasons"] for control in host["controls"] if control["outcome"] == "error"}
    assert not errors, completed.stdout + completed.stderr


def test_the_rootless_users_container_is_judged_and_named_with_its_engine(audited_from_a_private_directory):
    user, _completed, host = audited_from_a_private_directory
    pids = next(control for control in host["controls"] if control["id"] == "5.28")
    assert pids["outcome"] == "fail"
    expected = f"container {ROOTLESS_CONTAINER} [podman (rootless, user {user})]: has no PIDs limit"
    assert expected in pids["reasons"], pids["reasons"]


def test_every_engine_reports_its_version(audited_from_a_private_directory):
    user, _completed, host = audited_from_a_private_directory
    versions = host["facts"]["engine_versions"]
    for engine in ("docker (rootful)", "podman (rootful)", f"podman (rootless, user {user})"):
        assert versions.get(engine), f"{engine}: {versions}"
