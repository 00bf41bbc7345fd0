"""``bulkhead scan``: run Trivy or Grype, where installed with its database, on the images in use.

Bulkhead does not scan by itself: it reads the reports of the scanners users run (``scans.py``).
On a host where ``trivy`` or ``grype`` is installed and has its vulnerability database, this runs
it on every image a running container uses (``--all-images``: every local image) and writes
``DIR/<tool>-<image ID>.json`` (0600, directory 0700), the report format ``scan_reports_dir``
reads. An image whose report is younger than ``--max-age-hours`` is not scanned again. Each
written report is read back with the audit's own reader: a scanner that exits 0 without a
readable report is a failure, never an empty pass.

``--offline`` keeps the scanner from fetching its database or checking for updates (Trivy
``--skip-db-update --offline-scan``; Grype ``GRYPE_DB_AUTO_UPDATE=false``): without a database
already on the host the scanner then fails, and so does the run (exit 2, its message shown).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bulkhead.sbom import SbomError, _run, all_images, images_in_use
from bulkhead.scans import ScanReportError, parse_report

DEFAULT_DIR = "/var/lib/bulkhead/scans"
TOOLS = ("trivy", "grype")


def report_name(tool: str, image_id: str) -> str:
    return f"{tool}-{image_id.removeprefix('sha256:')}.json"


def command(tool: str, program: str, image_id: str, output: Path, offline: bool) -> list[str]:
    if tool == "trivy":
        extra = ["--skip-db-update", "--offline-scan"] if offline else []
        return [program, "image", "--quiet", "--format", "json", "--output", str(output), *extra, image_id]
    return [program, f"docker:{image_id}", "--quiet", "--output", "json", "--file", str(output)]


def scan(tool: str, program: str, image_id: str, directory: Path, offline: bool = False) -> Path:
    """One report, written atomically and read back; SbomError names the scanner's failure."""
    environment = {**os.environ, "GRYPE_CHECK_FOR_APP_UPDATE": "false"}
    if offline:
        environment["GRYPE_DB_AUTO_UPDATE"] = "false"
    target = directory / report_name(tool, image_id)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".scan-") as scratch:
        output = Path(scratch, "report.json")
        _run(command(tool, program, image_id, output, offline), environment)
        try:
            parse_report(output)
        except ScanReportError as error:
            raise SbomError(f"{tool} wrote no readable report for {image_id}: {error}") from None
        os.chmod(output, 0o600)
        os.replace(output, target)
    return target


def fresh(path: Path, max_age_hours: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < max_age_hours * 3600
    except FileNotFoundError:
        return False


def run_scan(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    program = args.program or args.tool
    try:
        wanted = all_images(args.docker) if args.all_images else images_in_use(args.docker)
    except SbomError as error:
        print(f"bulkhead scan: {error}", file=sys.stderr)
        return 2
    status = 0
    for image_id in wanted:
        path = directory / report_name(args.tool, image_id)
        if fresh(path, args.max_age_hours):
            print(f"{image_id[:19]}  {path.name}  kept")
            continue
        started = time.monotonic()
        try:
            scan(args.tool, program, image_id, directory, args.offline)
        except (SbomError, OSError) as error:
            print(f"bulkhead scan: {error}", file=sys.stderr)
            status = 2
            continue
        print(f"{image_id[:19]}  {path.name}  scanned in {time.monotonic() - started:.1f} s")
    return status


def add_arguments(commands: Any) -> None:
    parser = commands.add_parser(
        "scan",
        help="run Trivy or Grype (installed, with its database) on the images in use; reports for scan_reports_dir",
        description="Exit codes: 0 done, 2 docker or the scanner failed (other images are still scanned).",
    )
    parser.add_argument("--tool", choices=TOOLS, default="trivy", help="the scanner (default trivy)")
    parser.add_argument("--program", help="the scanner's program (default: the tool's name on PATH)")
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"where the reports go (default {DEFAULT_DIR})")
    parser.add_argument("--all-images", action="store_true", help="every local image, not only those in use")
    parser.add_argument(
        "--max-age-hours", type=float, default=20, help="rescan an image whose report is older (default 20)"
    )
    parser.add_argument("--offline", action="store_true", help="never fetch the scanner's database")
    parser.add_argument("--docker", default="docker", help="the docker client (default: docker on PATH)")
    parser.set_defaults(run=run_scan)
