"""The gate in front of a real dockerd: a second engine in its own network namespace (run under
``flock /tmp/bulkhead-integration.lock``), its authorization plugin served by ``bulkhead gate serve``.

Shows: a compliant container is created; each violation is refused with its control ID in dockerd's
error; an exception admits one named container until it expires; audit mode allows and logs;
killing the gate makes requests fail (closed) and restarting it restores service.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bulkhead.collector.docker import UnixHTTPConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_engine import LOCAL_IMAGE, SecondEngine, start_gate, stop_gate

pytestmark = pytest.mark.integration

IMAGE = LOCAL_IMAGE
COMPLIANT = [
    "--user", "1000", "--read-only", "--memory", "64m", "--cpu-shares", "512", "--pids-limit", "64",
    "--restart", "on-failure:5", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--network", "appnet", "--health-cmd", "true",
]  # fmt: skip
ENFORCED = ["5.3", "5.4", "5.5", "5.9", "5.15", "5.16", "5.17", "5.21", "5.22", "5.25", "5.31", "BH-4.11", "BH-5.11"]


def policy_text(exception_expires: date) -> str:
    controls = "".join(f'  "{control}": enforce\n' for control in ENFORCED)
    return (
        "default: audit\n"
        f"controls:\n{controls}"
        '  "5.6": off\n'
        "approved_registries: [docker.io/bulkhead-it]\n"
        "exceptions:\n"
        '  - control: "5.4"\n'
        "    container: allowed-debug\n"
        "    justification: Vendor debug tool (OPS-7)\n"
        f"    expires: {exception_expires.isoformat()}\n"
        '  - control: "5.5"\n'
        "    container: etcsource\n"
        "    justification: Configuration exporter (OPS-9)\n"
        "    expires: 2099-01-01\n"
        '  - control: "5.9"\n'
        "    container: hostside\n"
        "    justification: Network monitor on the host's stack (OPS-11)\n"
        "    expires: 2099-01-01\n"
    )


def raw_post(engine_socket: Path, path: str, body: object) -> tuple[int, str]:
    """An API request as any client may send it, not only the docker CLI."""
    connection = UnixHTTPConnection(str(engine_socket), 30)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def raw_create(engine_socket: Path, name: str) -> tuple[int, str]:
    return raw_post(engine_socket, f"/v1.41/containers/create?name={name}", {"Image": IMAGE, "User": "1000"})


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.plugin = "bulkhead-gate-it"
        self.engine = SecondEngine("it", self.plugin)
        self.policy = tmp / "gate-policy.yml"
        self.log = tmp / "log" / "gate.log"
        self.gate: subprocess.Popen[bytes] | None = None

    def start_gate(self, exception_expires: date) -> None:
        self.policy.write_text(policy_text(exception_expires))
        self.gate = start_gate(self.policy, self.plugin, self.log, self.tmp / "gate.disabled", self.engine)

    def restart_gate(self, exception_expires: date) -> None:
        stop_gate(self.gate, self.plugin)
        self.start_gate(exception_expires)

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.engine.docker(*args, check=False, timeout=60)

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("gate"))
    try:
        harness.start_gate(date.today() + timedelta(days=30))
        harness.engine.start()
        harness.engine.load_local_image()
        assert harness.docker("network", "create", "appnet").returncode == 0
        yield harness
    finally:
        stop_gate(harness.gate, harness.plugin)
        harness.engine.stop()


def test_a_compliant_container_is_created_and_runs(harness):
    created = harness.docker("run", "-d", "--name", "compliant", *COMPLIANT, IMAGE, "sleep", "600")
    assert created.returncode == 0, created.stderr
    assert harness.docker("exec", "-u", "1000", "compliant", "true").returncode == 0


NNP = ["--security-opt", "no-new-privileges"]  # so that each request breaks one enforced control only
VIOLATIONS = [
    ("5.4", ["create", "--name", "debug", *NNP, "--privileged", IMAGE]),
    ("5.15", ["create", "--name", "pidhost", *NNP, "--pid", "host", IMAGE]),
    ("5.9", ["create", "--name", "nethost", *NNP, "--network", "host", IMAGE]),
    ("5.5", ["create", "--name", "rootmount", *NNP, "-v", "/:/host", IMAGE]),
    ("5.31", ["create", "--name", "sock", *NNP, "-v", "/var/run/docker.sock:/var/run/docker.sock", IMAGE]),
    ("5.3", ["create", "--name", "sysadmin", *NNP, "--cap-add", "SYS_ADMIN", IMAGE]),
    ("5.21", ["create", "--name", "noseccomp", *NNP, "--security-opt", "seccomp=unconfined", IMAGE]),
    ("5.25", ["create", "--name", "nnp", "--security-opt", "no-new-privileges=false", IMAGE]),
    ("BH-4.11", ["pull", "evil.example.com/tool:1"]),
    ("BH-4.11", ["create", "--name", "evil", *NNP, "evil.example.com/tool:1"]),
    ("5.16", ["create", "--name", "ipchost", *NNP, "--ipc", "host", IMAGE]),
    ("5.17", ["create", "--name", "device", *NNP, "--device", "/dev/null:/dev/xnull", IMAGE]),
    ("5.17", ["create", "--name", "devrule", *NNP, "--device-cgroup-rule", "c *:* rwm", IMAGE]),
    ("5.22", ["exec", "--privileged", "compliant", "true"]),
]


@pytest.mark.parametrize(("control", "command"), VIOLATIONS, ids=[f"{c}-{a[0]}-{a[-1]}" for c, a in VIOLATIONS])
def test_each_violation_is_refused_with_its_control(harness, control, command):
    if command[0] == "exec":
        assert "running" in harness.docker("inspect", "-f", "{{.State.Status}}", "compliant").stdout
    refused = harness.docker(*command)
    assert refused.returncode != 0
    prefix = f"Error response from daemon: authorization denied by plugin {harness.plugin}: {control} not allowed: "
    assert refused.stderr.startswith(prefix), refused.stderr
    assert refused.stderr.count(" not allowed: ") == 1, refused.stderr
    if command[0] == "create":
        assert harness.docker("inspect", command[2]).returncode != 0  # nothing was created


PRIVILEGED = {"Privileged": True, "SecurityOpt": ["no-new-privileges"]}
# Request forms dockerd 20.10 accepts and applies (each created a privileged container on an engine
# without the gate): the gate reads them as dockerd does.
BYPASSES = [
    ("top-level-host-config", "/v1.41/containers/create?name=top", {"Image": IMAGE, **PRIVILEGED}),
    ("keys-in-lower-case", "/v1.41/containers/create?name=lower", {"image": IMAGE, "hostconfig": {"privileged": True}}),
    ("encoded-path", "/v1.41/containers%2Fcreate?name=encoded", {"Image": IMAGE, "HostConfig": PRIVILEGED}),
    ("three-part-version", "/v1.41.0/containers/create?name=version", {"Image": IMAGE, "HostConfig": PRIVILEGED}),
    (
        "repeated-name",
        "/v1.41/containers/create?name=dup&name=allowed-debug",
        {"Image": IMAGE, "HostConfig": PRIVILEGED},
    ),
]


@pytest.mark.parametrize(("path", "body"), [case[1:] for case in BYPASSES], ids=[case[0] for case in BYPASSES])
def test_other_request_forms_of_a_privileged_create_are_refused(harness, path, body):
    status, text = raw_post(harness.engine.socket, path, body)
    assert status == 403 and "5.4 not allowed: runs --privileged" in text, (status, text)
    assert "allowed-debug" not in text  # the exception does not apply: dockerd names the container "dup"
    name = path.split("name=")[1].split("&")[0]
    assert harness.docker("inspect", name).returncode != 0  # nothing was created


def test_a_start_carrying_a_host_config_is_refused(harness):
    assert harness.docker("create", "--name", "plain", *COMPLIANT, IMAGE).returncode == 0
    status, text = raw_post(harness.engine.socket, "/v1.23/containers/plain/start", {"Privileged": True})
    assert status == 403 and "a start request with a HostConfig (API < 1.24)" in text, (status, text)
    assert harness.docker("inspect", "-f", "{{.HostConfig.Privileged}}", "plain").stdout.strip() == "false"


def test_volumes_from_cannot_borrow_a_mount_an_exception_admitted(harness):
    source = harness.docker("create", "--name", "etcsource", *NNP, "-v", "/etc:/host-etc", IMAGE)
    assert source.returncode == 0, source.stderr
    borrower = harness.docker("create", "--name", "borrower", *NNP, "--volumes-from", "etcsource:ro", IMAGE)
    assert "5.5 not allowed: mounts host /etc at /host-etc (read-only) (container borrower)" in borrower.stderr
    missing = harness.docker("create", "--name", "borrower", *NNP, "--volumes-from", "nosuch", IMAGE)
    assert "5.5 not allowed: cannot be judged: --volumes-from nosuch" in missing.stderr


def test_what_reaches_the_host_through_another_object_or_spelling_is_refused(harness):
    """Volumes that bind /etc, a dotted bind source, a network joined through a host-network
    container, systempaths=unconfined: the gate asks the engine for the other objects."""
    made = harness.docker("volume", "create", "etcbind", "-o", "type=none", "-o", "o=bind", "-o", "device=/etc")
    assert made.returncode == 0, made.stderr
    spec = "type=volume,source=newetc,target=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"
    refusals = {
        "viavolume": (["-v", "etcbind:/x:ro"], "5.5 not allowed: mounts volume etcbind, a bind of host /etc, at /x"),
        "inline": (["--mount", spec], "5.5 not allowed: mounts volume newetc, a bind of host /etc, at /x (read-write)"),
        "dotted": (["-v", "/srv/../etc/:/x"], "5.5 not allowed: mounts host /etc at /x (read-write)"),
        "unmasked": (["--security-opt", "systempaths=unconfined"], "BH-5.11 not allowed: masks no system path"),
    }  # fmt: skip
    for name, (options, expected) in refusals.items():
        refused = harness.docker("create", "--name", name, *NNP, *options, IMAGE)
        assert refused.returncode != 0 and expected in refused.stderr, (name, refused.stderr)
        assert harness.docker("inspect", name).returncode != 0
    admitted = harness.docker("create", "--name", "hostside", *NNP, "--network", "host", IMAGE)
    assert admitted.returncode == 0, admitted.stderr  # the 5.9 exception names it
    joiner = harness.docker("create", "--name", "joiner", *NNP, "--network", "container:hostside", IMAGE)
    assert joiner.returncode != 0
    assert (
        "5.9 not allowed: shares the host's network namespace through container hostside "
        "(--network=container:hostside) (container joiner)"
    ) in joiner.stderr
    assert harness.docker("volume", "inspect", "newetc").returncode != 0  # refused before it was made


def test_audit_mode_allows_and_logs(harness):
    created = harness.docker("create", "--name", "audited", *NNP, IMAGE)  # no PIDs limit: 5.28 in audit mode
    assert created.returncode == 0, created.stderr
    line = [entry for entry in harness.log_lines() if entry.get("container") == "audited"][-1]
    assert line["decision"] == "allowed"
    assert {"control": "5.28", "mode": "audit", "outcome": "audited", "reasons": ["has no PIDs limit"]} in line[
        "controls"
    ]


def test_an_exception_admits_one_named_container_until_it_expires(harness):
    admitted = harness.docker("create", "--name", "allowed-debug", *NNP, "--privileged", IMAGE)
    assert admitted.returncode == 0, admitted.stderr
    other = harness.docker("create", "--name", "other-debug", *NNP, "--privileged", IMAGE)
    assert "5.4 not allowed: runs --privileged (container other-debug)" in other.stderr
    line = [entry for entry in harness.log_lines() if entry.get("container") == "allowed-debug"][-1]
    assert [control["exception"]["justification"] for control in line["controls"] if "exception" in control] == [
        "Vendor debug tool (OPS-7)"
    ]
    assert harness.docker("rm", "allowed-debug").returncode == 0
    harness.restart_gate(exception_expires=date.today())  # expires today: from today on it admits nothing
    expired = harness.docker("create", "--name", "allowed-debug", *NNP, "--privileged", IMAGE)
    assert expired.returncode != 0
    assert f"[exception #1 (5.4, container allowed-debug) expired on {date.today().isoformat()}]" in expired.stderr


def test_the_gate_down_fails_closed_and_a_restart_restores_service(harness):
    assert harness.gate is not None
    harness.gate.send_signal(signal.SIGKILL)
    harness.gate.wait(timeout=10)
    down = harness.docker("create", "--name", "while-down", *COMPLIANT, IMAGE)
    assert down.returncode != 0  # the CLI's first call (_ping) already fails: 500 from dockerd
    assert "500 Internal Server Error" in down.stderr, down.stderr
    status, text = raw_create(harness.engine.socket, "while-down")
    assert status == 500 and harness.plugin in text, text  # dockerd cannot reach the plugin
    assert harness.docker("inspect", "while-down").returncode != 0
    harness.restart_gate(exception_expires=date.today() + timedelta(days=30))
    back = harness.docker("create", "--name", "after-restart", *COMPLIANT, IMAGE)
    assert back.returncode == 0, back.stderr


def test_bulkhead_gate_log_prints_the_refusals(harness):
    printed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "gate", "log", "--file", str(harness.log), "--refused"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "audits"), "PATH": "/usr/bin:/bin"},
    )
    lines = printed.stdout.splitlines()
    for control, command in VIOLATIONS:
        assert any(f"{control} [refused]" in line for line in lines), (control, command)


GATE_CANARY = "BHCANARY-gate"


def test_no_canary_in_the_gate_log_its_printout_or_its_answers(harness):
    """A canary in a container's environment values, labels and command line, in a refused request and in
    an allowed one: the decision log names both containers, and neither it, `bulkhead gate log` nor the
    refusal shows the canary (issue 18)."""
    secrets = ["-e", f"DB_PASSWORD={GATE_CANARY}-env", "--label", f"token={GATE_CANARY}-label"]
    command = [IMAGE, "sh", "-c", f"sleep 1 || echo --password={GATE_CANARY}-cmd"]
    refused = harness.docker("create", "--name", "canary-refused", *NNP, "--privileged", *secrets, *command)
    assert "5.4 not allowed" in refused.stderr, refused.stderr
    allowed = harness.docker("create", "--name", "canary-allowed", *NNP, *secrets, *command)
    assert allowed.returncode == 0, allowed.stderr
    printed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "gate", "log", "--file", str(harness.log)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "audits"), "PATH": "/usr/bin:/bin"},
    )
    log = harness.log.read_text()
    assert "canary-refused" in log and "canary-allowed" in log, "the log must name both, or this proves nothing"
    outputs = {"gate.log": log, "gate log": printed.stdout + printed.stderr, "refusal": refused.stderr}
    assert [name for name, text in outputs.items() if GATE_CANARY in text] == []
