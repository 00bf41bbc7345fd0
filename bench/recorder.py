"""`make bench` (third part): what the events recorder costs per container life cycle, and its disk use.

Runs container life cycles (`docker create`, `docker start`, `docker stop -t 0`, `docker rm` of a
busybox `sleep`, named bulkhead-bench-rec-<i>) on this machine's engine, in alternating blocks
without and with the recorder (roles/container_host/files/bulkhead-events, in the background with
its files in a temporary directory, as its unit runs it): the wall time of one life cycle as the
client sees it, the recorder's own CPU time per life cycle (its process and the `docker inspect`
clients it runs: utime + stime + children's, from /proc), and the size of each kept document
(apparent and allocated). Other users of the engine meanwhile add their own events (the recorder
follows every container): run it when the engine is otherwise quiet. The load average is read
before and after. With --write the table replaces the one between the recorder markers in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_block

from bench import IMAGE, ROOT, docker

RECORDER = ROOT / "collections/ansible_collections/bulkhead/hardening/roles/container_host/files/bulkhead-events"
PREFIX = "bulkhead-bench-rec-"
TICKS = os.sysconf("SC_CLK_TCK")


def life_cycle(name: str) -> float:
    started = time.perf_counter()
    docker("create", "--name", name, "--memory", "32m", "-e", "BENCH_SECRET=value", IMAGE, "sleep", "3600")
    docker("start", name)
    docker("stop", "-t", "0", name)
    docker("rm", name)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of stat(5), here offset by the two before ")"
    return sum(int(value) for value in fields[11:15]) / TICKS


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def block(cycles: int, start: int) -> list[float]:
    return [life_cycle(f"{PREFIX}{start + index}") for index in range(cycles)]


def wait_for_destroys(log: Path, expected: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count(f"action=destroy container={PREFIX}") >= expected:
            return
        time.sleep(0.2)
    raise SystemExit(f"the recorder logged fewer than {expected} destroys")


def measure(cycles: int, blocks: int) -> dict[str, object]:
    without: list[float] = []
    with_recorder: list[float] = []
    cpu: list[float] = []
    sizes: list[tuple[int, int]] = []
    loads = [load_average()]
    number = 0
    with tempfile.TemporaryDirectory(prefix="bulkhead-recorder-bench-") as temporary:
        work = Path(temporary)
        for round_ in range(blocks):
            without += block(cycles, number)
            number += cycles
            log = work / f"events-{round_}.log"
            containers = work / f"containers-{round_}"
            recorder = subprocess.Popen(
                [sys.executable, str(RECORDER), "--output", str(log), "--state-file", str(work / f"last-{round_}"),
                 "--containers-dir", str(containers), "--since", f"{time.time():.3f}"],
            )  # fmt: skip
            time.sleep(0.5)  # its `docker events` is listening
            before = cpu_seconds(recorder.pid)
            with_recorder += block(cycles, number)
            number += cycles
            wait_for_destroys(log, cycles)
            cpu.append((cpu_seconds(recorder.pid) - before) / cycles)
            recorder.terminate()
            recorder.wait(timeout=10)
            for path in containers.glob("*.json"):
                stat = path.stat()
                sizes.append((stat.st_size, stat.st_blocks * 512))
                assert "BENCH_SECRET=value" not in path.read_text()
    loads.append(load_average())
    return {
        "cycles": cycles * blocks,
        "without": statistics.median(without),
        "with": statistics.median(with_recorder),
        "without_mean": statistics.mean(without),
        "with_mean": statistics.mean(with_recorder),
        "cpu": statistics.median(cpu),
        "documents": len(sizes),
        "bytes": statistics.median(size for size, _ in sizes),
        "on_disk": statistics.median(blocks_ for _, blocks_ in sizes),
        "loads": loads,
    }


def table(row: dict[str, object]) -> str:
    extra = float(row["with"]) - float(row["without"])
    return "\n".join(
        [
            "| life cycles | without recorder, median (mean) | with recorder, median (mean) | difference | "
            "recorder CPU per life cycle | documents kept | bytes per document | on disk per document | "
            "load average before / after |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {row['cycles']} | {float(row['without']) * 1000:.0f} ms ({float(row['without_mean']) * 1000:.0f}) "
            f"| {float(row['with']) * 1000:.0f} ms ({float(row['with_mean']) * 1000:.0f}) | {extra * 1000:+.0f} ms "
            f"| {float(row['cpu']) * 1000:.0f} ms | {row['documents']} | {float(row['bytes']):.0f} "
            f"| {float(row['on_disk']):.0f} | {row['loads'][0]} / {row['loads'][1]} |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10, help="life cycles per block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of each kind, alternating")
    parser.add_argument("--write", action="store_true", help="replace the recorder table in bench/RESULTS.md")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    try:
        row = measure(args.cycles, args.blocks)
    finally:
        for name in docker("ps", "-a", "--filter", f"name=^{PREFIX}", "--format", "{{.Names}}").stdout.split():
            docker("rm", "-f", name, check=False)
    result = table(row)
    print(result)
    if args.write:
        write_block("recorder", result, heading="# Events recorder cost")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
