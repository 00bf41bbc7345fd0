"""The admission gate's cost: decision latency, and what it adds to `docker create` (run as root).

1. Decision latency over the recorded requests (tests/data/authz), cycled to --requests decisions:
   in process (``decide``), and through the plugin protocol (an HTTP POST on the gate's unix
   socket, answered by the server thread with the decision log on), median and p99.
2. `docker create` of a small compliant container on two second engines, each in its own network
   namespace, one without and one with the gate as its authorization plugin, interleaved so that
   the machine's load hits both alike: wall time of the CLI and of the API call alone.
Results are printed as Markdown, with the load average; --write puts them into bench/RESULTS.md
between the gate-bench markers. `make bench` runs it after the audit benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "audits"), str(ROOT / "tests" / "integration")]

from gate_engine import LOCAL_IMAGE, SecondEngine, start_gate, stop_gate  # noqa: E402

from bulkhead.checks import Context  # noqa: E402
from bulkhead.collector.docker import UnixHTTPConnection  # noqa: E402
from bulkhead.gate.decide import decide  # noqa: E402
from bulkhead.gate.log import DecisionLog  # noqa: E402
from bulkhead.gate.policy import load_policy  # noqa: E402
from bulkhead.gate.request import AuthzRequest  # noqa: E402
from bulkhead.gate.server import Gate, GateServer, listener  # noqa: E402

FIXTURES = ROOT / "tests" / "data" / "authz"
POLICY = ROOT / "audits" / "bulkhead" / "gate" / "files" / "gate-policy.example.yml"
HOST = Context(cgroup_version=1, apparmor=False, selinux=False, daemon_no_new_privileges=False)
COMPLIANT = [
    "--user", "1000", "--read-only", "--memory", "64m", "--cpu-shares", "512", "--pids-limit", "64",
    "--restart", "on-failure:5", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "none",
    "--health-cmd", "true",
]  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def messages() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]


def busybox(reference: str) -> dict | None:
    return {"User": "", "Healthcheck": None}


def decision_latency(count: int, work: Path) -> dict[str, dict[str, float]]:
    policy = load_policy(POLICY)  # the example: a dozen controls enforced, the rest in audit mode (logged)
    recorded = messages()
    requests = [AuthzRequest.from_message(message) for message in recorded]
    in_process = []
    for index in range(count):
        started = time.perf_counter()
        decide(requests[index % len(requests)], policy, HOST, today=date.today(), host="bench", image_configs=busybox)
        in_process.append(time.perf_counter() - started)
    gate = Gate(policy, HOST, DecisionLog(work / "gate.log", syslog_socket=None), image_configs=busybox)
    socket_path = work / "gate.sock"
    server = GateServer(gate, listener(socket_path))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    over_socket = []
    try:
        for index in range(count):
            body = json.dumps(recorded[index % len(recorded)])
            started = time.perf_counter()
            connection = UnixHTTPConnection(str(socket_path), 10)
            connection.request("POST", "/AuthZPlugin.AuthZReq", body=body)
            connection.getresponse().read()
            connection.close()
            over_socket.append(time.perf_counter() - started)
    finally:
        server.shutdown()
        server.server_close()
    return {"in process (decide)": summary(in_process), "plugin round trip (unix socket)": summary(over_socket)}


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "median_ms": statistics.median(seconds) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
    }


def api_create(engine: SecondEngine, name: str) -> float:
    body = json.dumps(
        {
            "Image": LOCAL_IMAGE,
            "User": "1000",
            "Cmd": ["sleep", "60"],
            "Healthcheck": {"Test": ["CMD-SHELL", "true"]},
            "HostConfig": {
                "ReadonlyRootfs": True,
                "Memory": 67108864,
                "CpuShares": 512,
                "PidsLimit": 64,
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "NetworkMode": "none",
            },
        }
    )
    connection = UnixHTTPConnection(str(engine.socket), 30)
    started = time.perf_counter()
    connection.request(
        "POST", f"/v1.41/containers/create?name={name}", body=body, headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 201:
        raise RuntimeError(f"create {name}: HTTP {response.status}")
    return elapsed


def api_ping(engine: SecondEngine) -> float:
    connection = UnixHTTPConnection(str(engine.socket), 30)
    started = time.perf_counter()
    connection.request("GET", "/_ping")
    connection.getresponse().read()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def create_cost(rounds: int, work: Path) -> dict[str, dict[str, float]]:
    plain = SecondEngine("bp", None)
    gated = SecondEngine("bg", "bulkhead-gate-bench")
    gate_process = None
    times: dict[str, list[float]] = {
        f"{kind} {label}": []
        for kind in ("api _ping", "cli create", "api create", "cli run -d")
        for label in ("without", "with")
    }
    # The example policy, approving the local test image's registry path.
    policy = work / "bench-policy.yml"
    policy.write_text(POLICY.read_text().replace("[registry.example.com]", "[docker.io/bulkhead-it]"))
    try:
        gate_process = start_gate(policy, "bulkhead-gate-bench", work / "bench-gate.log", work / "off", gated)
        for engine in (plain, gated):
            engine.start()
            engine.load_local_image()
        for index in range(rounds):
            order = [("without", plain), ("with", gated)]
            if index % 2:
                order.reverse()
            for label, engine in order:
                name = f"bench-{index}"
                times[f"api _ping {label}"] += [api_ping(engine) for _ in range(5)]
                started = time.perf_counter()
                created = engine.docker("create", "--name", name, *COMPLIANT, LOCAL_IMAGE, "sleep", "60", check=False)
                if created.returncode != 0:
                    raise RuntimeError(f"docker create on the engine {label} the gate: {created.stderr.strip()}")
                times[f"cli create {label}"].append(time.perf_counter() - started)
                times[f"api create {label}"].append(api_create(engine, f"{name}-api"))
                started = time.perf_counter()
                ran = engine.docker(
                    "run", "-d", "--name", f"{name}-run", *COMPLIANT, LOCAL_IMAGE, "sleep", "60", check=False
                )
                times[f"cli run -d {label}"].append(time.perf_counter() - started)
                if ran.returncode != 0:
                    raise RuntimeError(f"docker run on the engine {label} the gate: {ran.stderr.strip()}")
                engine.docker("rm", "-f", name, f"{name}-api", f"{name}-run")
    finally:
        stop_gate(gate_process, "bulkhead-gate-bench")
        plain.stop()
        gated.stop()
    return {key: summary(values) for key, values in times.items()}


def report(latency: dict, create: dict, load: str, started: str) -> str:
    lines = [
        f"Run {started} UTC, load average at the start and end: {load}.",
        "",
        "| decision latency | requests | median (ms) | p99 (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, values in latency.items():
        lines.append(f"| {name} | {values['n']} | {values['median_ms']:.3f} | {values['p99_ms']:.3f} |")
    lines += [
        "",
        "| second engine, compliant busybox | runs | median (ms) | p99 (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, values in create.items():
        lines.append(f"| `{name}` the gate | {values['n']} | {values['median_ms']:.1f} | {values['p99_ms']:.1f} |")
    lines.append("")
    for kind in ("api _ping", "cli create", "api create", "cli run -d"):
        without, with_gate = create[f"{kind} without"]["median_ms"], create[f"{kind} with"]["median_ms"]
        lines.append(
            f"- added by the gate to `{kind}` (medians): {with_gate - without:+.1f} ms "
            f"({(with_gate - without) / without * 100:+.1f} %)"
        )
    return "\n".join(lines)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.split("load average:")[-1].strip()


def run(requests: int = 2000, rounds: int = 40, write: bool = False) -> str:
    if os.geteuid() != 0:
        raise SystemExit("gate_bench: run as root (it starts dockerd in a network namespace)")
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load_before = uptime()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        latency = decision_latency(requests, work)
        create = create_cost(rounds, work)
    text = report(latency, create, f"{load_before} / {uptime()}", started)
    print(text)
    if write:
        from common import write_block

        write_block("gate-bench", text, "## Admission gate")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40, help="docker create runs per engine")
    parser.add_argument("--write", action="store_true", help="put the results into bench/RESULTS.md")
    args = parser.parse_args()
    run(args.requests, args.rounds, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
