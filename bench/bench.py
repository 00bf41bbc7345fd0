"""`make bench`: time a full `bulkhead audit` of this machine with N extra running containers.

Starts N containers named bulkhead-bench-<i> (busybox `sleep`, from a local image built with
`docker import` of busybox-static), audits local:// (every control, JSON report) several times,
and counts the docker commands the collector ran through a logging `docker` wrapper on PATH. Each
audit's wall time and CPU (the audit and everything it ran: the collector too, not dockerd's share)
come from wait4() of its process. The collector alone (`python3 -c` of the collector, what the
audit runs on its target) is timed the same way, so that the control node's part shows.

With --docker-only every run happens in a private mount namespace in which the Podman engines'
state (/var/lib/containers, /run/podman, /run/user) is hidden: the collector then sees the rootful
Docker engine only, whatever Podman engines other work runs on this machine. It removes its
containers at the end, also on failure. Results are printed as a Markdown table; with --write they
replace the table in bench/RESULTS.md. Not part of `make test`: speed is measured here, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (
    ROOT,
    container_names,
    cpu_seconds,
    docker,
    environment,
    load_average,
    median,
    remove_containers,
    run_measured,
    start_containers,
    write_block,
)

IMAGE = "bulkhead-bench/busybox:local"
PREFIX = "bulkhead-bench-"
# Podman's rootful and rootless state, hidden by --docker-only (tmpfs over each that exists).
PODMAN_STATE = ("/var/lib/containers", "/run/podman", "/run/user")
HIDE_PODMAN = 'for d in "$0" "$1" "$2"; do [ -d "$d" ] && mount -t tmpfs bench "$d"; done; shift 2; exec "$@"'

__all__ = ["IMAGE", "PREFIX", "ROOT", "docker", "ours", "remove", "scale_to"]  # recorder.py, history_disk.py


def ours() -> list[str]:
    return container_names(PREFIX)


def remove(names: list[str]) -> None:
    remove_containers(names)


def scale_to(count: int) -> None:
    wanted = [f"{PREFIX}{index}" for index in range(count)]
    remove([name for name in ours() if name not in wanted])
    start_containers(wanted, ["--network", "none", IMAGE, "sleep", "86400"])


def docker_wrapper(directory: Path, log: Path) -> None:
    real = shutil.which("docker")
    wrapper = directory / "docker"
    wrapper.write_text(f'#!/bin/sh\necho "$1 $2" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)


def wrapped(argv: list[str], docker_only: bool) -> list[str]:
    return ["unshare", "--mount", "sh", "-c", HIDE_PODMAN, *PODMAN_STATE, *argv] if docker_only else argv


def audit_once(env: dict[str, str], report: Path, docker_only: bool) -> tuple[float, float, list[str]]:
    """Wall seconds, CPU seconds of the audit and everything it ran, and the engines it audited."""
    argv = [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--no-progress", f"--json={report}"]
    wall, usage, code, said = run_measured(wrapped(argv, docker_only), env)
    # Exit code 2 is also an audit with undeterminable controls (this machine's own state: auditd
    # not running, a second dockerd); only an audit that did not run at all ends the bench.
    if code not in (0, 1, 2) or "the audit did not run" in said:
        raise SystemExit(f"the audit could not run (exit {code}):\n{said}")
    engines = json.loads(report.read_text())["hosts"]["local"]["facts"].get("engines") or []
    return wall, cpu_seconds(usage), engines


def collector_once(env: dict[str, str], docker_only: bool) -> tuple[float, float]:
    """The collector alone, as the audit runs it on local://: wall and CPU seconds."""
    from bulkhead.state import bootstrap_command

    wall, usage, code, said = run_measured(wrapped(["python3", "-c", bootstrap_command()], docker_only), env)
    if code != 0:
        raise SystemExit(f"the collector failed (exit {code}):\n{said}")
    return wall, cpu_seconds(usage)


def measure(count: int, runs: int, docker_only: bool = False) -> dict:
    scale_to(count)
    total = len(docker("ps", "-q").stdout.split())
    with tempfile.TemporaryDirectory(prefix="bulkhead-bench-") as temporary:
        directory = Path(temporary)
        log = directory / "docker-commands.log"
        docker_wrapper(directory, log)
        env = environment()
        env["PATH"] = f"{directory}:{env['PATH']}"
        audit_once(env, directory / "warm.json", docker_only)  # page cache, Python bytecode
        log.write_text("")
        load = load_average()
        measured = [audit_once(env, directory / "r.json", docker_only) for _ in range(runs)]
        commands = len(log.read_text().splitlines()) / runs
        collector = [collector_once(env, docker_only) for _ in range(runs)]
    times = [wall for wall, _cpu, _engines in measured]
    return {
        "n": count,
        "running": total,
        "engines": ", ".join(measured[-1][2]),
        "median": median(times),
        "min": min(times),
        "cpu": median([cpu for _wall, cpu, _engines in measured]),
        "collector_wall": median([wall for wall, _cpu in collector]),
        "collector_cpu": median([cpu for _wall, cpu in collector]),
        "commands": commands,
        "load": load,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| bench containers | running in total | engines audited | wall, median (s) | wall, min (s) | CPU, median (s) "
        "| collector alone: wall, CPU (s) | control node's CPU (s) | docker commands | load average |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']} | {row['running']} | {row['engines']} | {row['median']:.3f} | {row['min']:.3f} "
            f"| {row['cpu']:.3f} | {row['collector_wall']:.3f}, {row['collector_cpu']:.3f} "
            f"| {row['cpu'] - row['collector_cpu']:.3f} | {row['commands']:.0f} | {row['load']} |"
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
    parser.add_argument("--docker-only", action="store_true", help="hide Podman's state from the collector")
    parser.add_argument("--no-gate", action="store_true", help="do not run bench/gate_bench.py afterwards")
    parser.add_argument("--write", action="store_true", help="replace the results table in bench/RESULTS.md")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    rows = []
    try:
        for count in [int(value) for value in args.counts.split(",")]:
            rows.append(measure(count, args.runs, args.docker_only))
            print(f"N={count}: {rows[-1]}", flush=True)
    finally:
        remove(ours())
    result = table(rows)
    print(result)
    if args.write:
        write_block("bench-docker-only" if args.docker_only else "bench", result)
    if not args.no_gate:
        gate_bench = [sys.executable, str(ROOT / "bench" / "gate_bench.py"), *(["--write"] if args.write else [])]
        subprocess.run(gate_bench, check=True)  # the admission gate's cost (bench/gate_bench.py)
    return 0


if __name__ == "__main__":
    sys.exit(main())
