"""Hardening an engine that runs 100 containers: how long the docker_engine role's converge takes,
and that none of the containers restarted (live restore).

Runs the docker_engine molecule scenario step by step (create, prepare, side-effect, converge, verify, destroy)
with BULKHEAD_LIVE_RESTORE_CONTAINERS extra workload containers (prepare starts them; verify fails
if any restarted, stopped or changed its process), and times converge alone: wall time and the CPU
time of ansible-playbook and its children on the controller. Not part of `make test` (the scenario
runs there with 10 containers). With --write, appends the result to bench/RESULTS.md.

    flock /tmp/bulkhead-molecule.lock .venv/bin/python bench/live_restore.py --containers 100 --write
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def molecule(step: str, env: dict[str, str]) -> tuple[float, float]:
    """Run one molecule step; (wall seconds, CPU seconds of the children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    argv = [str(BIN / "molecule"), "--base-config", ".config/molecule/config.yml", step]
    argv += ["--scenario-name", "docker_engine"]
    with open(env["BULKHEAD_BENCH_LOG"], "a", encoding="utf-8") as log:
        subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.monotonic() - started, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=100, help="workload containers in all (default 100)")
    parser.add_argument("--write", action="store_true", help="append the result to bench/RESULTS.md")
    args = parser.parse_args()
    env = dict(os.environ, BULKHEAD_LIVE_RESTORE_CONTAINERS=str(args.containers - 1))
    env.setdefault("BULKHEAD_MOLECULE_PREFIX", "bench")
    env.setdefault("BULKHEAD_BENCH_LOG", "/tmp/bulkhead-live-restore-bench.log")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    load = os.getloadavg()
    try:
        molecule("destroy", env)
        molecule("create", env)
        molecule("prepare", env)
        molecule("side-effect", env)  # the check-mode run, whose state verify compares with
        wall, cpu = molecule("converge", env)
        molecule("verify", env)  # fails if any container restarted, stopped or changed its process
    finally:
        molecule("destroy", env)
    line = (
        f"| {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC | {args.containers} | {wall:.1f} s | {cpu:.1f} s "
        f"| {load[0]:.1f} | none restarted (verify passed) |"
    )
    print(line)
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write(
                "\n## Hardening an engine with running containers (bench/live_restore.py)\n\n"
                "| when | containers | converge wall | controller CPU | load average | containers |\n"
                "| --- | --- | --- | --- | --- | --- |\n" + line + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
