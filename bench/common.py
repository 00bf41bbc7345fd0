"""What the bench scripts share: the docker CLI, starting and removing named containers, measuring a
process tree, and replacing a marked block of bench/RESULTS.md."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def container_names(prefix: str) -> list[str]:
    """Every container (running or not) whose name starts with ``prefix``, sorted."""
    return sorted(docker("ps", "-a", "--filter", f"name=^{prefix}", "--format", "{{.Names}}").stdout.split())


def start_containers(names: Sequence[str], argv: Sequence[str]) -> None:
    """``docker run -d --name NAME ARGV...`` for each name not already there, two at a time."""
    existing = set(docker("ps", "-a", "--format", "{{.Names}}").stdout.split())
    missing = [name for name in names if name not in existing]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: docker("run", "-d", "--name", name, *argv), missing))


def remove_containers(names: Sequence[str]) -> None:
    """One container at a time. `docker rm -f` of 100 names removes them concurrently, and on
    Docker 20.10 that many concurrent container exits deadlocked libnetwork (2026-11-29: every
    network operation of the machine's dockerd hung, and only a restart of dockerd ends that)."""
    for name in names:
        docker("rm", "-f", name, check=False)


def environment() -> dict[str, str]:
    """This process's environment for the measured commands. An installed package has its bytecode
    compiled; a checkout run with PYTHONDONTWRITEBYTECODE (set in some shells here) would compile
    every module in every run."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run_measured(argv: Sequence[str], env: dict[str, str]) -> tuple[float, os.struct_rusage, int, str]:
    """Wall seconds, the rusage of exactly this process tree (wait4 of its pid: it and every process
    it waited for), its exit code and what it wrote on stderr."""
    with tempfile.TemporaryFile() as errors:
        started = time.monotonic()
        process = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        errors.seek(0)
        said = errors.read().decode(errors="replace")
    return wall, usage, os.waitstatus_to_exitcode(status), said


def cpu_seconds(usage: os.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_block(marker: str, text: str, heading: str | None = None) -> None:
    """Replace what stands between ``<!-- MARKER:begin -->`` and ``<!-- MARKER:end -->`` in
    bench/RESULTS.md; a block not there yet is appended under ``heading``."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    current = RESULTS.read_text()
    if begin not in current:
        current = current.rstrip() + f"\n\n{heading or marker}\n\n{begin}\n{end}\n"
    head, _, rest = current.partition(begin)
    _, _, tail = rest.partition(end)
    RESULTS.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
