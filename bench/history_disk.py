"""`make bench` (second part): disk use of the audit history per run.

For N = 0 and 50 extra running containers (the same bulkhead-bench-<i> busybox containers as
bench.py), records 3 full-catalogue audits of this machine (`bulkhead audit --hosts=local://
--history DIR`) and reports, per run, the bytes of each file (audit.xml, audit.json, audit.html,
summary.json) and the space the entry takes on disk (allocated blocks, as `du` counts them).
With --write the table replaces the one between the history markers in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import write_block

from bench import IMAGE, ROOT, docker, ours, remove, scale_to

FILES = ("audit.xml", "audit.json", "audit.html", "summary.json")


def record(history: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--no-progress", f"--history={history}"],
        capture_output=True,
        text=True,
    )
    if f"history: {history}" not in completed.stdout:
        raise SystemExit(f"the run was not recorded:\n{completed.stdout}\n{completed.stderr}")


def entry_sizes(entry: Path) -> dict[str, int]:
    sizes = {name: (entry / name).stat().st_size for name in FILES}
    sizes["apparent"] = sum(sizes[name] for name in FILES)
    sizes["on disk"] = sum((entry / name).stat().st_blocks * 512 for name in FILES) + entry.stat().st_blocks * 512
    return sizes


def measure(count: int, runs: int) -> dict[str, float]:
    scale_to(count)
    total = len(docker("ps", "-aq").stdout.split())
    with tempfile.TemporaryDirectory(prefix="bulkhead-history-bench-") as temporary:
        history = Path(temporary) / "history"
        for _ in range(runs):
            record(history)
        entries = sorted(path for path in history.iterdir() if not path.name.startswith("."))
        sizes = [entry_sizes(entry) for entry in entries]
    row: dict[str, float] = {"n": count, "containers": total}
    for key in (*FILES, "apparent", "on disk"):
        row[key] = statistics.median(size[key] for size in sizes)
    return row


def table(rows: list[dict[str, float]], keep: int) -> str:
    lines = [
        "| bench containers | containers in total | audit.xml | audit.json | audit.html | summary.json "
        f"| per run, bytes | per run, on disk | {keep} runs kept, on disk |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']:.0f} | {row['containers']:.0f} | "
            + " | ".join(f"{row[name]:.0f}" for name in FILES)
            + f" | {row['apparent']:.0f} | {row['on disk']:.0f} | {row['on disk'] * keep / 1e6:.1f} MB |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="0,50")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=int, default=30, help="the projection's number of kept runs")
    parser.add_argument("--write", action="store_true", help="replace the history table in bench/RESULTS.md")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    rows = []
    try:
        for count in [int(value) for value in args.counts.split(",")]:
            rows.append(measure(count, args.runs))
            print(f"N={count}: {rows[-1]}", flush=True)
    finally:
        remove(ours())
    result = table(rows, args.keep)
    print(result)
    if args.write:
        write_block("history", result)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
