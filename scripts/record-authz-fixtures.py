#!/usr/bin/env python3
"""Record real authorization requests from a second dockerd into tests/data/authz/ (run as root).

Starts a throwaway dockerd in its own network namespace with ``bulkhead gate serve --record`` as
its authorization plugin (policy: everything off, so every request goes through), issues one docker
command per case, and saves each judged request as ``CASE.json`` (environment values and headers
removed by the recorder), plus ``inspect/CASE.json``: ``docker inspect`` of the created, never
started container (environment values removed) for the cases the unit tests compare with.
Usage: flock /tmp/bulkhead-integration.lock .venv/bin/python scripts/record-authz-fixtures.py [CASE...]
(with CASE names: record only those, leaving the other recordings as they are).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "audits")]

from gate_engine import LOCAL_IMAGE, SecondEngine, start_gate, stop_gate  # noqa: E402

OUT = ROOT / "tests" / "data" / "authz"
IMAGE = LOCAL_IMAGE
COMPLIANT = [
    "--user", "1000", "--read-only", "--memory", "64m", "--cpu-shares", "512", "--pids-limit", "64",
    "--restart", "on-failure:5", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--network", "appnet", "--health-cmd", "true", "-e", "API_TOKEN=not-for-fixtures",
]  # fmt: skip
ETC_SHARED = "type=bind,source=/etc,target=/host-etc,readonly,bind-propagation=rshared"
HOSTISH = ["--uts", "host", "--ipc", "host"]
# The test netns has no loopback up: publish on all interfaces only.
PUBLISH_ALL = ["--expose", "8080", "-p", "9090:9090"]
# case -> docker arguments (the first judged request is kept: `docker create` of a missing image
# also pulls it); "create" cases also keep the inspect document of the created container.
CASES: dict[str, list[str]] = {
    "create-compliant": ["create", "--name", "compliant", *COMPLIANT, IMAGE, "sleep", "3600"],
    "create-privileged": ["create", "--name", "debug", "--privileged", IMAGE],
    "create-pid-host": ["create", "--name", "pidhost", "--pid", "host", IMAGE],
    "create-network-host": ["create", "--name", "nethost", "--network", "host", IMAGE],
    "create-root-mount": ["create", "--name", "rootmount", "-v", "/:/host", IMAGE],
    "create-docker-sock": ["create", "--name", "sockmount", "-v", "/var/run/docker.sock:/var/run/docker.sock", IMAGE],
    "create-cap-sys-admin": ["create", "--name", "sysadmin", "--cap-add", "SYS_ADMIN", IMAGE],
    "create-seccomp-unconfined": ["create", "--name", "noseccomp", "--security-opt", "seccomp=unconfined", IMAGE],
    "create-nnp-false": ["create", "--name", "nnpfalse", "--security-opt", "no-new-privileges=false", IMAGE],
    "create-unapproved-registry": ["create", "--name", "evil", "evil.example.com/tool:1"],
    "create-etc-mount-shared": ["create", "--name", "etcshared", "--mount", ETC_SHARED, IMAGE],
    "create-ports": ["create", "--name", "ports", "-p", "80:80", "-p", "127.0.0.1:8080:8080", IMAGE],
    "create-device-uts-ipc": ["create", "--name", "hostish", "--device", "/dev/null:/dev/xnull", *HOSTISH, IMAGE],
    "create-publish-all": ["create", "--name", "publishall", "-P", *PUBLISH_ALL, IMAGE, "sleep", "300"],
    "create-etc-source": ["create", "--name", "etcsource", "-v", "/etc:/host-etc", IMAGE],
    "create-volumes-from": ["create", "--name", "borrower", "--volumes-from", "etcsource:ro", IMAGE],
    "create-cap-net-bind": ["create", "--name", "netbind", *COMPLIANT, "--cap-add", "NET_BIND_SERVICE", IMAGE],
    "create-net-raw-kept": ["create", "--name", "netraw", "--user", "1000", IMAGE],
    "create-net-raw-dropped": ["create", "--name", "nonetraw", "--user", "1000", "--cap-drop", "NET_RAW", IMAGE],
    "create-net-raw-added": ["create", "--name", "addnetraw", "--cap-drop", "ALL", "--cap-add", "NET_RAW", IMAGE],
    "pull-unapproved": ["pull", "evil.example.com/tool:1"],
    "pull-digest": ["pull", "registry.example.com/app@sha256:" + "a" * 64],
    "pull-tag": ["pull", "registry.example.com/app:2"],
    "update-pids-unlimited": ["update", "--pids-limit", "-1", "compliant"],
    "update-restart-always": ["update", "--restart", "always", "compliant"],
    "update-memory": ["update", "--memory", "128m", "--memory-swap", "256m", "compliant"],
    "exec-privileged": ["exec", "--privileged", "compliant", "true"],
    "exec-root": ["exec", "-u", "root", "compliant", "true"],
    "exec-user": ["exec", "-u", "1000", "compliant", "true"],
}
# Inspected once started: published ports appear in inspect only while the container runs.
STARTED_BEFORE_INSPECT = {"create-publish-all"}
INSPECTED = {
    "create-publish-all": "publishall",
    "create-etc-source": "etcsource",
    "create-volumes-from": "borrower",
    "create-compliant": "compliant",
    "create-root-mount": "rootmount",
    "create-docker-sock": "sockmount",
    "create-etc-mount-shared": "etcshared",
    "create-cap-sys-admin": "sysadmin",
    "create-nnp-false": "nnpfalse",
    "create-device-uts-ipc": "hostish",
    "create-net-raw-kept": "netraw",
    "create-net-raw-dropped": "nonetraw",
    "create-net-raw-added": "addnetraw",
}


def masked(arguments: list[str]) -> list[str]:
    """The command with every -e value cut to its name."""
    return [
        item.split("=", 1)[0] + "=" if index and arguments[index - 1] == "-e" else item
        for index, item in enumerate(arguments)
    ]


def scrub_inspect(document: dict) -> dict:
    config = document.get("Config") or {}
    config["Env"] = [str(item).split("=", 1)[0] + "=" for item in config.get("Env") or []]
    return document


def main(only: list[str]) -> int:
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        print(f"unknown cases: {', '.join(unknown)}", file=sys.stderr)
        return 2
    cases = {case: arguments for case, arguments in CASES.items() if not only or case in only}
    engine = SecondEngine("rec", "bulkhead-gate-record")
    gate = None
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        policy = work / "policy.yml"
        policy.write_text("default: off\n")
        recorded = work / "recorded"
        try:
            log, no_break_glass = work / "gate.log", work / "no-break-glass"
            gate = start_gate(policy, engine.plugin or "", log, no_break_glass, engine, "--record", str(recorded))
            engine.start()
            engine.load_local_image()
            engine.docker("network", "create", "appnet")
            (OUT / "inspect").mkdir(parents=True, exist_ok=True)
            for case, arguments in cases.items():
                if case.startswith("exec-") and "running" not in engine.docker("inspect", "compliant").stdout:
                    engine.docker("start", "compliant")
                before = set(recorded.iterdir()) if recorded.exists() else set()
                done = engine.docker(*arguments, check=False, timeout=60)
                time.sleep(0.2)
                new = sorted(set(recorded.iterdir()) - before)
                print(f"{case}: exit {done.returncode}, {len(new)} request(s) {done.stderr.strip()[:100]}")
                if not new:
                    print("  expected a judged request, got none", file=sys.stderr)
                    return 1
                message = json.loads(new[0].read_text())
                message["Case"] = {"command": ["docker", *masked(arguments)]}
                (OUT / f"{case}.json").write_text(json.dumps(message, indent=2, sort_keys=True) + "\n")
                if case in STARTED_BEFORE_INSPECT:
                    started = engine.docker("start", INSPECTED[case], check=False)
                    if started.returncode != 0:
                        print(f"  cannot start {INSPECTED[case]}: {started.stderr.strip()}", file=sys.stderr)
                        return 1
                if case in INSPECTED:
                    document = json.loads(engine.docker("inspect", INSPECTED[case]).stdout)[0]
                    (OUT / "inspect" / f"{case}.json").write_text(
                        json.dumps(scrub_inspect(document), indent=2, sort_keys=True) + "\n"
                    )
        finally:
            stop_gate(gate, engine.plugin or "")
            engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
