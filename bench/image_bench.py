"""`make bench`, image assurance: Syft SBOM time per image, and the audit's added time per image in use.

1. SBOM generation: `bulkhead sbom`'s Syft run (SPDX + Syft JSON, offline) on local images of
   different sizes, timed per image.
2. Added audit time: K distinct images in use (busybox re-imported with a label, one container
   each), their SBOMs made, a Trivy and a Grype report of 100 vulnerabilities each per image; then
   timed: the collector's image_sboms fact, reading the reports (the settings), the four checks
   BH-4.17..4.20 and the images-in-use table. Per image = the difference between K and 1 image(s).
3. Podman SBOM: `bulkhead sbom --engine podman`'s run (podman save to a docker-archive, then Syft
   on the archive) on the bench busybox image loaded into rootful Podman, wall and CPU time.
4. Gate: the admission decision of a recorded `docker create` with the image controls
   BH-4.17..4.20 enforced against without them, the image looked up on this machine's real Docker
   socket, the K images' reports in the reports directory (first decision: reports read; then
   cached until a report changes). Wall and CPU time (in process) per decision.

Run as root with the Docker engine and syft on PATH; flock /tmp/bulkhead-integration.lock. With
--write the table replaces the one in bench/RESULTS.md. Containers and images it makes are removed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "audits"), str(ROOT / "tests")]

from common import write_block  # noqa: E402
from scanreports import grype_report, trivy_report, write  # noqa: E402

from bulkhead import sbom  # noqa: E402
from bulkhead.catalogue import load_catalogue  # noqa: E402
from bulkhead.checks import REGISTRY  # noqa: E402
from bulkhead.checks.image_assurance import image_inventory  # noqa: E402
from bulkhead.collector import host as collector_host  # noqa: E402
from bulkhead.config import load_config  # noqa: E402
from bulkhead.facts import HostState  # noqa: E402
from bulkhead.gate.decide import decide  # noqa: E402
from bulkhead.gate.engine import EngineImages  # noqa: E402
from bulkhead.gate.host_context import gate_context, image_facts  # noqa: E402
from bulkhead.gate.policy import parse_policy  # noqa: E402
from bulkhead.gate.request import AuthzRequest  # noqa: E402

BASE = "bulkhead-bench/busybox:local"
PREFIX = "bulkhead-bench-assure-"
SBOM_IMAGES = ["bulkhead-bench/busybox:local", "bulkhead-test/systemd:bookworm", "bulkhead-bench/sshd:bookworm"]
CONTROLS = ("BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20")


def docker(*args: str, stdin: bytes | None = None, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, check=check, timeout=300)
    return done.stdout.decode().strip()


def sbom_times(scratch: Path) -> list[dict]:
    rows = []
    for name in SBOM_IMAGES:
        image_id = docker("image", "inspect", "--format", "{{.Id}}", name, check=False)
        if not image_id:
            continue
        runs = []
        for _ in range(3 if "busybox" in name else 1):
            directory = Path(tempfile.mkdtemp(dir=scratch))
            started = time.monotonic()
            entry = sbom.generate(image_id, directory)
            runs.append(time.monotonic() - started)
        size = (directory / entry["file"]).stat().st_size
        rows.append({"image": name, "packages": entry["packages"], "runs": len(runs),
                     "seconds": statistics.median(runs), "size": size})  # fmt: skip
    return rows


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def podman_sbom_times(scratch: Path, runs: int = 3) -> dict | None:
    """Median wall and CPU seconds of one Podman SBOM (save + Syft), on BASE loaded into rootful Podman."""
    name = f"localhost/{BASE}"
    saved = subprocess.run(["docker", "save", BASE], capture_output=True, check=True).stdout
    loaded = subprocess.run(["podman", "load"], input=saved, capture_output=True, check=False)
    if loaded.returncode != 0:
        return None
    try:
        image_id = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", name],
                                  capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        walls, cpus = [], []
        for _ in range(runs):
            directory = Path(tempfile.mkdtemp(dir=scratch))
            started, cpu = time.monotonic(), children_cpu()
            entry = sbom.generate(image_id, directory, engine="podman", client="podman")
            walls.append(time.monotonic() - started)
            cpus.append(children_cpu() - cpu)
        return {"image": name, "packages": entry["packages"], "runs": runs,
                "seconds": statistics.median(walls), "cpu": statistics.median(cpus)}  # fmt: skip
    finally:
        subprocess.run(["podman", "rmi", name], capture_output=True, check=False)


def gate_times(count: int, scratch: Path, rounds: int = 200) -> dict:
    """Per-decision wall and CPU ms of a create with the image controls enforced, and without them."""
    work = Path(tempfile.mkdtemp(dir=scratch))
    image_id = docker("image", "inspect", "--format", "{{.Id}}", BASE)
    sbom.refresh(work / "sbom", [image_id])
    vulns = [(f"CVE-2099-{n:04d}", "busybox", "1.35.0", "1.36.1" if n % 2 else "", "HIGH") for n in range(100)]
    for index in range(count):  # the reports of `count` images, one of them the image started
        report_id = image_id if index == 0 else f"sha256:{index:064x}"
        write(work / "scans", f"{index}.trivy.json", trivy_report(report_id, BASE, vulns, days_ago=1))
        write(work / "scans", f"{index}.grype.json", grype_report(report_id, BASE, vulns, days_ago=1))
    message = json.loads((ROOT / "tests" / "data" / "authz" / "create-compliant.json").read_text())
    body = json.loads(base64.b64decode(message["RequestBody"]))
    body["Image"] = BASE
    message["RequestBody"] = base64.b64encode(json.dumps(body).encode()).decode()
    request = AuthzRequest.from_message(message)
    images = {"scan_reports_dir": str(work / "scans"), "sbom_dir": str(work / "sbom"),
              "approved_base_distributions": ["debian"]}  # fmt: skip
    catalogue = load_catalogue()
    result = {"images": count}
    for label, controls in (("without", {}), ("with", dict.fromkeys(CONTROLS, "enforce"))):
        policy = parse_policy({"default": "audit", "controls": controls, "images": images}, "bench", catalogue)
        context = gate_context({}, (), {"apparmor": False, "selinux": False, "cgroup_version": 1}, policy.images)
        facts = image_facts(policy.images, policy.sbom_dir)
        engine = EngineImages()

        def one(policy=policy, context=context, facts=facts, engine=engine) -> object:
            return decide(request, policy, context, host="bench", image_configs=engine, image_context=facts.apply)

        started = time.perf_counter()
        first = one()
        result[f"{label}_first"] = (time.perf_counter() - started) * 1000
        assert label == "without" or not first.allow, first.msg  # fixable highs: refused
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            one()
        result[f"{label}_wall"] = (time.perf_counter() - started) * 1000 / rounds
        result[f"{label}_cpu"] = (time.process_time() - cpu) * 1000 / rounds
    return result


def make_images(count: int, scratch: Path) -> list[str]:
    archive = scratch / "rootfs.tar"
    if not archive.exists():
        container = docker("create", BASE)
        archive.write_bytes(subprocess.run(["docker", "export", container], capture_output=True, check=True).stdout)
        docker("rm", container)
    names = []
    for index in range(count):
        name = f"{PREFIX}img:{index}"
        docker("import", "--change", f"LABEL bench.index={index}", "--change", 'CMD ["/bin/sh"]', "-", name,
               stdin=archive.read_bytes())  # fmt: skip
        docker("run", "-d", "--name", f"{PREFIX}{index}", "--network", "none", name, "sleep", "3600")
        names.append(name)
    return names


def cleanup(count: int) -> None:
    for index in range(count):  # one at a time (see bench.py: concurrent removal deadlocked 20.10)
        docker("rm", "-f", f"{PREFIX}{index}", check=False)
        docker("rmi", f"{PREFIX}img:{index}", check=False)


def added_time(count: int, scratch: Path, rounds: int = 5) -> dict:
    work = Path(tempfile.mkdtemp(dir=scratch))
    names = make_images(count, scratch)
    ids = [docker("image", "inspect", "--format", "{{.Id}}", name) for name in names]
    sbom.refresh(work / "sbom", ids)
    vulns = [(f"CVE-2099-{n:04d}", "busybox", "1.35.0", "1.36.1" if n % 2 else "", "HIGH") for n in range(100)]
    for name, image_id in zip(names, ids, strict=True):
        write(work / "scans", f"{image_id[7:19]}.trivy.json", trivy_report(image_id, name, vulns, days_ago=1))
        write(work / "scans", f"{image_id[7:19]}.grype.json", grype_report(image_id, name, vulns, days_ago=1))
    (work / "audit.yml").write_text(f"scan_reports_dir: {work / 'scans'}\napproved_base_distributions: [debian]\n")
    environment = {**os.environ, "BULKHEAD_SBOM_DIR": str(work / "sbom"), "PYTHONPATH": str(ROOT / "audits")}
    facts = json.loads(subprocess.run([sys.executable, "-m", "bulkhead.collector"], capture_output=True,
                                      env=environment, check=True).stdout)  # fmt: skip
    state = HostState("bench", facts)
    os.environ["BULKHEAD_SBOM_DIR"] = str(work / "sbom")
    timings: dict[str, list[float]] = {"fact": [], "reports": [], "checks": [], "table": []}
    for _ in range(rounds):
        started = time.perf_counter()
        collector_host.image_sboms()
        timings["fact"].append(time.perf_counter() - started)
        started = time.perf_counter()
        settings = load_config(work / "audit.yml")
        timings["reports"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for control_id in CONTROLS:
            REGISTRY[control_id].judge(state, settings)
        timings["checks"].append(time.perf_counter() - started)
        started = time.perf_counter()
        image_inventory(state, settings)
        timings["table"].append(time.perf_counter() - started)
    del os.environ["BULKHEAD_SBOM_DIR"]
    result = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    result["images"] = count
    return result


def table(sbom_rows: list[dict], added: list[dict], podman: dict | None = None, gate: dict | None = None) -> str:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average {load}.",
        "",
        "| SBOM (Syft 1.18, SPDX + Syft JSON) | packages | runs | median (s) | SPDX size |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in sbom_rows:
        lines.append(f"| {row['image']} | {row['packages']} | {row['runs']} | {row['seconds']:.2f} | "
                     f"{row['size'] / 1048576:.1f} MiB |")  # fmt: skip
    lines += [
        "",
        "| images in use | image_sboms fact (ms) | read 2 reports per image (ms) | BH-4.17..4.20 (ms) | table (ms) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in added:
        lines.append(f"| {row['images']} | {row['fact']:.2f} | {row['reports']:.1f} | {row['checks']:.2f} | "
                     f"{row['table']:.2f} |")  # fmt: skip
    if len(added) > 1:
        first, last = added[0], added[-1]
        span = last["images"] - first["images"]
        total = sum(last[key] - first[key] for key in ("fact", "reports", "checks", "table")) / span
        lines += ["", f"- added audit time per image in use (100 vulnerabilities per report): {total:.2f} ms"]
    if podman is not None:
        lines += [
            "",
            "| Podman SBOM (podman save + Syft docker-archive:) | packages | runs | median wall (s) | median CPU (s) |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| {podman['image']} | {podman['packages']} | {podman['runs']} | {podman['seconds']:.2f} | "
            f"{podman['cpu']:.2f} |",
        ]
    if gate is not None:
        lines += [
            "",
            f"| gate, create request ({gate['images']} images' reports on disk) | first decision (ms) | "
            "wall per decision (ms) | CPU per decision (ms) |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label in ("without", "with"):
            lines.append(f"| {label} BH-4.17..4.20 | {gate[label + '_first']:.1f} | {gate[label + '_wall']:.2f} | "
                         f"{gate[label + '_cpu']:.2f} |")  # fmt: skip
        added = gate["with_wall"] - gate["without_wall"]
        lines += ["", f"- the image controls add {added:.2f} ms per create decision once the reports are cached"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20, help="images in use for the added-time measure")
    parser.add_argument("--write", action="store_true", help="replace the image table in bench/RESULTS.md")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), BASE], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            sbom_rows = sbom_times(Path(scratch))
            podman = podman_sbom_times(Path(scratch))
            gate = gate_times(args.images, Path(scratch))
            added = [added_time(1, Path(scratch))]
            cleanup(1)
            added.append(added_time(args.images, Path(scratch)))
        finally:
            cleanup(args.images)
    result = table(sbom_rows, added, podman, gate)
    print(result)
    if args.write:
        write_block("images-bench", result, heading="## Image assurance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
