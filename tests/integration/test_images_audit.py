"""BH-4.11/BH-4.12/BH-4.16 against this machine's real Docker engine, with containers the test starts."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BUSYBOX = Path("/bin/busybox")
SUFFIX = f"{os.getpid()}"
BAD_IMAGE = f"registry.bad.example/bulkhead-it/img-{SUFFIX}:1"
GOOD_IMAGE = f"registry.good.example/bulkhead-it/img-{SUFFIX}:1"
BAD_CONTAINER = f"bulkhead-it-img-bad-{SUFFIX}"
GOOD_CONTAINER = f"bulkhead-it-img-good-{SUFFIX}"


def docker(*args: str, stdin: bytes | None = None) -> str:
    completed = subprocess.run(["docker", *args], input=stdin, capture_output=True, check=False, timeout=120)
    if completed.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {completed.stderr.decode().strip()}")
    return completed.stdout.decode()


@pytest.fixture(scope="module")
def containers(docker_engine, tmp_path_factory):
    """A container from an unapproved registry and one from an approved one, both referenced by tag."""
    if not BUSYBOX.exists():
        pytest.fail("/bin/busybox is missing: apt-get install busybox-static (make integration does)", pytrace=False)
    root = tmp_path_factory.mktemp("rootfs")
    (root / "bin").mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    (root / "bin" / "sleep").symlink_to("busybox")
    archive = root.parent / f"rootfs-{SUFFIX}.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root / "bin", arcname="bin")
    try:
        docker("import", "-", BAD_IMAGE, stdin=archive.read_bytes())
        docker("tag", BAD_IMAGE, GOOD_IMAGE)
        for name, image in ((BAD_CONTAINER, BAD_IMAGE), (GOOD_CONTAINER, GOOD_IMAGE)):
            docker("run", "-d", "--name", name, "--network", "none", image, "/bin/sleep", "600")
        yield
    finally:
        subprocess.run(["docker", "rm", "-f", BAD_CONTAINER, GOOD_CONTAINER], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", BAD_IMAGE, GOOD_IMAGE], capture_output=True, check=False)


def audit(tmp_path, *args):
    config = tmp_path / "audit.yml"
    config.write_text("approved_registries:\n  - registry.good.example\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulkhead.cli",
            "audit",
            "--hosts=local://",
            f"--config={config}",
            f"--json={tmp_path}/r.json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads((tmp_path / "r.json").read_text())
    return completed, {control["id"]: control for control in report["hosts"]["local"]["controls"]}


def test_unapproved_and_unpinned_images_are_flagged_by_container_name(tmp_path, containers):
    completed, controls = audit(tmp_path, "--controls=BH-4.11,BH-4.12")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    approved_findings = "\n".join(controls["BH-4.11"]["reasons"])
    assert controls["BH-4.11"]["outcome"] == "fail"
    assert f"container {BAD_CONTAINER}: runs {BAD_IMAGE}, not from an approved registry" in approved_findings
    assert GOOD_CONTAINER not in approved_findings
    pinned_findings = "\n".join(controls["BH-4.12"]["reasons"])
    assert controls["BH-4.12"]["outcome"] == "fail"
    assert f"container {BAD_CONTAINER}: runs {BAD_IMAGE}, not pinned by digest" in pinned_findings
    assert f"container {GOOD_CONTAINER}: runs {GOOD_IMAGE}, not pinned by digest" in pinned_findings


def test_a_missing_baseline_is_an_error_not_a_pass(tmp_path, docker_engine):
    if Path("/var/lib/bulkhead/baseline.json").exists():
        pytest.skip("this machine has an integrity baseline")
    completed, controls = audit(tmp_path, "--controls=BH-4.16")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert controls["BH-4.16"]["outcome"] == "error"
    assert "no integrity baseline at /var/lib/bulkhead/baseline.json" in controls["BH-4.16"]["reasons"][0]
