"""`make bench`: time a full `bulkhead audit` of this machine with N extra running containers.

Starts N containers named bulkhead-bench-<i> (busybox `sleep`, from a local image built with
`docker import` of busybox-static), audits local:// (every control, JSON report) several times,
and counts the docker commands the collector ran through a logging `docker` wrapper on PATH. It
removes its containers at the end, also on failure. Results are printed as a Markdown table; with
--write they replace the table in bench/RESULTS.md. Not part of `make test`: speed is measured
here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "bulkhead-bench/busybox:local"
PREFIX = "bulkhead-bench-"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def ours() -> list[str]:
    return docker("ps", "-aq", "--filter", f"name=^{PREFIX}").stdout.split()


def scale_to(count: int) -> None:
    running = sorted(docker("ps", "-a", "--filter", f"name=^{PREFIX}", "--format", "{{.Names}}").stdout.split())
    wanted = [f"{PREFIX}{index}" for index in range(count)]
    missing = [name for name in wanted if name not in running]
    extra = [name for name in running if name not in wanted]
    remove(extra)

    def start(name: str) -> None:
        docker("run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "86400")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(start, missing))


def remove(names: list[str]) -> None:
    """One container at a time. `docker rm -f` of 100 names removes them concurrently, and on
    Docker 20.10 that many concurrent container exits deadlocked libnetwork (2026-11-29: every
    network operation of the machine's dockerd hung, and only a restart of dockerd ends that)."""
    for name in names:
        docker("rm", "-f", name, check=False)


def docker_wrapper(directory: Path, log: Path) -> None:
    real = shutil.which("docker")
    wrapper = directory / "docker"
    wrapper.write_text(f'#!/bin/sh\necho "$1 $2" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)


def audit_once(environment: dict[str, str], report: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the audit and everything it ran (not dockerd's share)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--no-progress", f"--json={report}"],
        capture_output=True,
        text=True,
        env=environment,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode == 2:
        raise SystemExit(f"the audit could not run:\n{completed.stdout}\n{completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(count: int, runs: int) -> dict[str, float]:
    scale_to(count)
    total = len(docker("ps", "-q").stdout.split())
    with tempfile.TemporaryDirectory(prefix="bulkhead-bench-") as temporary:
        directory = Path(temporary)
        log = directory / "docker-commands.log"
        docker_wrapper(directory, log)
        environment = os.environ | {"PATH": f"{directory}:{os.environ['PATH']}"}
        audit_once(environment, directory / "warm.json")  # page cache, Python bytecode
        log.write_text("")
        load = os.getloadavg()[0]
        measured = [audit_once(environment, directory / "r.json") for _ in range(runs)]
        commands = len(log.read_text().splitlines()) / runs
    times = [wall for wall, _cpu in measured]
    return {
        "n": count,
        "running": total,
        "median": statistics.median(times),
        "min": min(times),
        "cpu": statistics.median(cpu for _wall, cpu in measured),
        "commands": commands,
        "load": load,
    }


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| bench containers | running in total | wall, median (s) | wall, min (s) | CPU, median (s) "
        "| docker commands | load average |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']} | {row['running']} | {row['median']:.3f} | {row['min']:.3f} | {row['cpu']:.3f} "
            f"| {row['commands']:.0f} | {row['load']:.1f} |"
        )
    by_n = {row["n"]: row for row in rows}
    if 50 in by_n and max(by_n) > 50:
        top = max(by_n)
        extra = by_n[top]["running"] - by_n[50]["running"]
        per_wall = (by_n[top]["min"] - by_n[50]["min"]) / extra
        per_cpu = (by_n[top]["cpu"] - by_n[50]["cpu"]) / extra
        lines.append("")
        lines.append(
            f"Cost per additional container (50 -> {top}): {per_wall * 1000:.2f} ms wall (from the minima), "
            f"{per_cpu * 1000:.2f} ms CPU"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="0,50,200,500")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the results table in bench/RESULTS.md")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    rows = []
    try:
        for count in [int(value) for value in args.counts.split(",")]:
            rows.append(measure(count, args.runs))
            print(f"N={count}: {rows[-1]}", flush=True)
    finally:
        remove(ours())
    result = table(rows)
    print(result)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        text = path.read_text()
        head, _, rest = text.partition("<!-- bench:begin -->")
        _, _, tail = rest.partition("<!-- bench:end -->")
        path.write_text(f"{head}<!-- bench:begin -->\n{result}\n<!-- bench:end -->{tail}")
    gate_bench = [sys.executable, str(ROOT / "bench" / "gate_bench.py"), *(["--write"] if args.write else [])]
    subprocess.run(gate_bench, check=True)  # the admission gate's cost (bench/gate_bench.py)
    return 0


if __name__ == "__main__":
    sys.exit(main())
