"""`make bench` (fleet part): audit many targets at once from this machine, as the control node.

- ssh targets: containers running only sshd (image bulkhead-bench/sshd:bookworm, built from
  bench/sshd/Dockerfile on the local bulkhead-test/systemd:bookworm image), at 1, 20 and 100
  targets, reached directly (0 ms) or through bench/delay_relay.py on loopback (50 ms round trip).
  Each configuration starts with no ssh master connection (a fresh control directory: "cold"), then
  audits again while the masters persist ("warm").
- docker:// targets: 1 and 20 systemd containers (bulkhead-test/systemd:bookworm, no engine inside).
- judging only: 100 hosts whose state is the facts of this machine with 50 running containers
  (collected once for real, then handed to every host: no network), for the control node's CPU
  and memory at that size.

Every audit is `bulkhead audit` of the full catalogue with a JSON report; wall time, CPU (the audit
and the ssh/docker clients it ran, not the targets' own CPU) and peak RSS (the largest single
process: the audit) come from wait4() of the audit's process. Holds the integration lock the whole
time (other work shares the engine), starts containers two at a time and removes them one at a
time (Docker 20.10 deadlocked on mass removal). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import (
    ROOT,
    container_names,
    cpu_seconds,
    docker,
    median,
    remove_containers,
    run_measured,
    start_containers,
    write_block,
)

import bench  # the single-host bench: busybox image, scale_to, remove

SSHD_IMAGE = "bulkhead-bench/sshd:bookworm"
SYSTEMD_IMAGE = "bulkhead-test/systemd:bookworm"
SSH_PREFIX = "bulkhead-fleet-ssh-"
DOCKER_PREFIX = "bulkhead-fleet-sd-"
RELAY_PORT_BASE = 24000
SYSTEMD_OPTIONS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
]  # fmt: skip


def start(prefix: str, count: int, argv: list[str]) -> list[str]:
    """``docker run -d --name PREFIX<i> ARGV...`` for each missing one, two at a time; their names."""
    names = [f"{prefix}{index}" for index in range(count)]
    start_containers(names, argv)
    return names


def address(name: str) -> str:
    return docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()


def audit_measured(argv: list[str], environment: dict[str, str]) -> tuple[float, os.struct_rusage]:
    """Wall seconds and the rusage of the audit's process tree; an audit that did not run ends the bench."""
    wall, usage, code, said = run_measured(argv, environment)
    if code not in (0, 1, 2) or "the audit did not run" in said:
        raise SystemExit(f"the audit could not run (exit {code}): {said[-2000:]}")
    return wall, usage


def measured_audit(hosts: list[str], parallel: int, environment: dict[str, str], extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bulkhead-fleet-") as temporary:
        report = Path(temporary) / "r.json"
        argv = [sys.executable, "-m", "bulkhead.cli", "audit", f"--hosts={','.join(hosts)}", "--no-progress",
                f"--parallel={parallel}", f"--json={report}", *extra]  # fmt: skip
        load = os.getloadavg()[0]
        wall, usage = audit_measured(argv, environment)
        document = json.loads(report.read_text())
    errors = {name: entry["facts"]["collection_error"] for name, entry in document["hosts"].items()
              if "collection_error" in entry["facts"]}  # fmt: skip
    if errors:
        print(f"  {len(errors)} host(s) not collected, e.g. {next(iter(errors.items()))}", flush=True)
    return {"wall": wall, "cpu": cpu_seconds(usage), "rss_mb": usage.ru_maxrss / 1024,
            "judged": len(document["hosts"]) - len(errors), "hosts": len(hosts), "load": load}  # fmt: skip


@contextlib.contextmanager
def relay(delay_ms: float, mappings: list[str]) -> Iterator[None]:
    """bench/delay_relay.py in front of the targets; it stops when its stdin (our pipe) closes."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "delay_relay.py"), f"--delay-ms={delay_ms}", "--lifetime=1800",
         "--max-connections=8", *mappings],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("the delay relay did not start")
        yield
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def ssh_setup(directory: Path) -> Path:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (directory / "authorized_keys").write_text((directory / "id_ed25519.pub").read_text())
    (directory / "authorized_keys").chmod(0o600)
    return key


def ssh_config(path: Path, key: Path, targets: list[tuple[str, str, int]], kex: str | None = None) -> None:
    """One Host entry per target: its alias, where to connect, no host key prompts (test hosts);
    ``kex``: the KexAlgorithms an operator may choose in their own ssh configuration."""
    lines = []
    for alias, host, port in targets:
        lines += [f"Host {alias}", f"  HostName {host}", f"  Port {port}"]
    lines += ["Host *", "  User root", f"  IdentityFile {key}", "  IdentitiesOnly yes", "  BatchMode yes",
              "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  LogLevel ERROR"]  # fmt: skip
    lines += [f"  KexAlgorithms {kex}"] if kex else []
    path.write_text("\n".join(lines) + "\n")


def close_masters(config: Path, aliases: list[str], environment: dict[str, str]) -> None:
    control = environment["BULKHEAD_SSH_CONTROL_DIR"]
    for alias in aliases:
        subprocess.run(["ssh", "-F", str(config), "-o", f"ControlPath={control}/%C", "-O", "exit", alias],
                       capture_output=True, check=False, env=environment)  # fmt: skip


def ssh_rows(
    counts: list[int], rtts: list[int], parallel: int, runs: int, environment: dict[str, str], kex: str, kex_count: int
) -> list[dict]:
    """Each count at each round trip with ssh's default key exchange; and ``kex_count`` targets with
    ``kex`` (OpenSSH 9's default, the post-quantum sntrup761x25519, costs the client about 65 ms of
    CPU per new connection here, curve25519-sha256 about 12 ms)."""
    docker("build", "-q", "-t", SSHD_IMAGE, str(ROOT / "bench" / "sshd"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bulkhead-fleet-ssh-") as temporary:
        directory = Path(temporary)
        key = ssh_setup(directory)
        mount = f"{directory}/authorized_keys:/root/.ssh/authorized_keys:ro"
        names = start(SSH_PREFIX, max(counts), ["--memory=64m", "-v", mount, SSHD_IMAGE])
        addresses = {name: address(name) for name in names}
        for rtt in rtts:
            mappings = [f"{RELAY_PORT_BASE + index}:{addresses[name]}:22" for index, name in enumerate(names)]
            context = relay(rtt / 2, mappings) if rtt else contextlib.nullcontext()
            with context:
                targets = [
                    (name, "127.0.0.1", RELAY_PORT_BASE + index) if rtt else (name, addresses[name], 22)
                    for index, name in enumerate(names)
                ]
                config = directory / f"ssh_config-{rtt}"
                ssh_config(config, key, targets)
                for count in counts:
                    rows.append(ssh_row(names[:count], rtt, parallel, runs, config, directory, environment))
                if kex and kex_count:
                    config = directory / f"ssh_config-{rtt}-kex"
                    ssh_config(config, key, targets, kex)
                    row = ssh_row(names[:kex_count], rtt, parallel, runs, config, directory, environment, "k")
                    rows.append(row | {"kind": f"ssh, KexAlgorithms {kex}"})
    return rows


def ssh_row(
    names: list[str], rtt: int, parallel: int, runs: int, config: Path, directory: Path, environment, tag: str = ""
) -> dict:
    control = directory / f"c{rtt}-{len(names)}{tag}"  # short: ssh's socket path has a limit (108 bytes)
    control.mkdir(mode=0o700)
    environment = environment | {"BULKHEAD_SSH_CONTROL_DIR": str(control)}
    hosts = [f"ssh://{name}" for name in names]
    extra = [f"--ssh-config={config}"]
    cold = measured_audit(hosts, parallel, environment, extra)
    warm = [measured_audit(hosts, parallel, environment, extra) for _ in range(runs)]
    close_masters(config, names, environment)
    row = {"kind": "ssh", "targets": len(names), "rtt": rtt, "parallel": parallel, "cold": cold, "warm": warm}
    print(f"ssh x{len(names)} rtt={rtt}: cold {cold} warm {[round(run['wall'], 2) for run in warm]}", flush=True)
    return row


def docker_rows(counts: list[int], parallel: int, runs: int, environment: dict[str, str]) -> list[dict]:
    names = start(DOCKER_PREFIX, max(counts), [*SYSTEMD_OPTIONS, SYSTEMD_IMAGE, "/lib/systemd/systemd"])
    time.sleep(5)  # systemd boots
    rows = []
    for count in counts:
        hosts = [f"docker://{name}" for name in names[:count]]
        measured_audit(hosts, parallel, environment, [])  # warm-up: page cache
        measured = [measured_audit(hosts, parallel, environment, []) for _ in range(runs)]
        row = {"kind": "docker", "targets": count, "rtt": 0, "parallel": parallel, "cold": None, "warm": measured}
        print(f"docker x{count}: {[round(run['wall'], 2) for run in measured]}", flush=True)
        rows.append(row)
    return rows


JUDGE = """
import json, sys
import bulkhead.pytest_plugin as plugin
import bulkhead.state
from bulkhead.cli import main
from bulkhead.facts import HostState
raw = open(sys.argv[1]).read()
plugin.collect = bulkhead.state.collect = lambda host, name, timeout=None: HostState(name, json.loads(raw), 0.0)
sys.exit(main(sys.argv[2:]))
"""


def judging_row(hosts: int, containers: int, runs: int, environment: dict[str, str]) -> dict:
    """Every host's state is the facts of this machine with ``containers`` bench containers running."""
    from bulkhead.state import bootstrap_command

    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), bench.IMAGE], check=True, capture_output=True)
    try:
        bench.scale_to(containers)
        facts = subprocess.run(["python3", "-c", bootstrap_command()], capture_output=True, text=True, check=True)
    finally:
        bench.remove(bench.ours())
    running = sum(1 for item in json.loads(facts.stdout)["containers"]["value"] if item["State"].get("Running"))
    measured = []
    with tempfile.TemporaryDirectory(prefix="bulkhead-fleet-judge-") as temporary:
        facts_file = Path(temporary) / "facts.json"
        facts_file.write_text(facts.stdout)
        for _ in range(runs):
            argv = [sys.executable, "-c", JUDGE, str(facts_file), "audit", "--no-progress",
                    f"--hosts={','.join(f'docker://judged-{index}' for index in range(hosts))}",
                    f"--json={temporary}/r.json"]  # fmt: skip
            load = os.getloadavg()[0]
            wall, usage = audit_measured(argv, environment)
            measured.append({"wall": wall, "cpu": cpu_seconds(usage), "rss_mb": usage.ru_maxrss / 1024,
                             "judged": hosts, "hosts": hosts, "load": load})  # fmt: skip
    print(f"judging x{hosts} ({running} containers each): {measured}", flush=True)
    return {"kind": f"judging only, {running} running containers each", "targets": hosts, "rtt": 0,
            "parallel": 16, "cold": None, "warm": measured}  # fmt: skip


def cleanup() -> None:
    remove_containers(container_names(SSH_PREFIX) + container_names(DOCKER_PREFIX))


def table(rows: list[dict]) -> str:
    lines = [
        "| targets | transport | round trip (ms) | --parallel | wall, cold (s) | CPU, cold (s) | wall, median (s) "
        "| wall, min (s) | CPU, median (s) | peak RSS (MB) | hosts judged | load average |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        runs = row["warm"]
        cold = f"{row['cold']['wall']:.2f} | {row['cold']['cpu']:.2f}" if row["cold"] else "- | -"
        lines.append(
            f"| {row['targets']} | {row['kind']} | {row['rtt']} | {row['parallel']} | {cold} "
            f"| {median([run['wall'] for run in runs]):.2f} | {min(run['wall'] for run in runs):.2f} "
            f"| {median([run['cpu'] for run in runs]):.2f} | {max(run['rss_mb'] for run in runs):.0f} "
            f"| {min(run['judged'] for run in runs)}/{row['targets']} | {median([run['load'] for run in runs]):.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssh-counts", default="1,20,100")
    parser.add_argument("--rtts", default="0,50", help="round trips in ms")
    parser.add_argument("--docker-counts", default="1,20")
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--kex", default="curve25519-sha256", help="key exchange of the extra ssh rows ('' for none)")
    parser.add_argument("--kex-count", type=int, default=100, help="targets of the extra ssh rows (0 for none)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: ssh, docker, judging")
    parser.add_argument("--write", action="store_true", help="replace the fleet table in bench/RESULTS.md")
    args = parser.parse_args()
    environment = common.environment()
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict] = []
    try:
        # Each part removes its containers before the next: the judging part's facts are this
        # machine's containers, which must be its 50 and what other work runs, not the targets.
        if "ssh" not in skip:
            counts, rtts = [int(n) for n in args.ssh_counts.split(",")], [int(n) for n in args.rtts.split(",")]
            rows += ssh_rows(counts, rtts, args.parallel, args.runs, environment, args.kex, args.kex_count)
            cleanup()
        if "docker" not in skip:
            counts = [int(n) for n in args.docker_counts.split(",")]
            rows += docker_rows(counts, args.parallel, args.runs, environment)
            cleanup()
        if "judging" not in skip:
            rows.append(judging_row(100, 50, args.runs, environment))
    finally:
        cleanup()
    result = table(rows)
    print(result)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.write:
        write_block("fleet", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
