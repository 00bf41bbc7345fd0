"""The container_host role's audit rules and event recorder on this machine's real kernel and engine.

auditd cannot run in a container, so loaded rules and ``bulkhead admin-access`` are tested here:
the role loads its rules into this machine's auditd (started by the test when it is not running),
a temporary user in the docker group runs docker with a login uid, and the report must name them.
Everything is undone afterwards: the rules leave the kernel (by key, nothing else is touched), the
files go, the user is deleted and auditd stops again if the test started it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles" / "container_host"
PLAYBOOK = Path(__file__).parent / "playbooks" / "container_host_audit_rules.yml"
RULES_FILE = Path("/etc/audit/rules.d/50-bulkhead-container-host.rules")
MERGED_RULES = Path("/etc/audit/audit.rules")
AUDIT_LOG_DIR = Path("/var/log/audit")
KEYS = [
    "bulkhead_engine",
    "bulkhead_docker_socket",
    "bulkhead_container_client",
    "bulkhead_docker_group",
    "bulkhead_sudoers",
]
USER = "bulkhead-it-admin"
IMAGE = "bulkhead-it-busybox"
BIN = Path(sys.executable).parent


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)


def auditd_pid() -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv0 = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if os.path.basename(argv0) == b"auditd":
                return int(entry)
    return None


@pytest.fixture(scope="module")
def auditd() -> Iterator[None]:
    """auditd running on this machine; stopped again afterwards when this fixture started it."""
    if shutil.which("auditd") is None and not Path("/usr/sbin/auditd").exists():
        pytest.fail("auditd is not installed: run `make host-tools`", pytrace=False)
    created_log_dir = not AUDIT_LOG_DIR.exists()
    logs_before = set(AUDIT_LOG_DIR.iterdir()) if AUDIT_LOG_DIR.exists() else set()
    started = None
    if auditd_pid() is None:
        AUDIT_LOG_DIR.mkdir(mode=0o700, exist_ok=True)
        completed = run(["/usr/sbin/auditd"])
        assert completed.returncode == 0, completed.stderr
        for _ in range(50):
            started = auditd_pid()
            if started:
                break
            time.sleep(0.1)
        assert started, "auditd did not start"
    yield
    if started:
        os.kill(started, signal.SIGTERM)
        for _ in range(150):  # auditd flushes its log before it exits
            if auditd_pid() is None:
                break
            time.sleep(0.1)
        if created_log_dir:
            shutil.rmtree(AUDIT_LOG_DIR, ignore_errors=True)
        else:
            for log in set(AUDIT_LOG_DIR.iterdir()) - logs_before:
                log.unlink()


def audit_loaded_rules() -> str:
    completed = run([sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--controls=BH-1.1"])
    return completed.stdout


def kernel_rules() -> str:
    completed = run(["auditctl", "-l"])
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@dataclass(frozen=True)
class RoleRuns:
    """What this machine looked like around the role's check run and its real run."""

    audit_before: str  # BH-1.1 before the role ran
    check_run: subprocess.CompletedProcess[str]  # --check --diff, before the real run
    kernel_rules_before_check: str
    kernel_rules_after_check: str
    rules_file_after_check: bool


@pytest.fixture(scope="module")
def loaded_rules(auditd, docker_engine) -> Iterator[RoleRuns]:
    """The role's rules written and loaded by the role itself; removed from disk and kernel after.
    Before the real run: the BH-1.1 audit (molecule instances cannot load audit rules, so this is
    where BH-1.1 is shown failing first: tests/unit/test_molecule_remediation.py) and a check run."""
    merged_before = MERGED_RULES.read_bytes() if MERGED_RULES.exists() else None
    prev_existed = Path(f"{MERGED_RULES}.prev").exists()
    assert not RULES_FILE.exists(), f"{RULES_FILE} exists already: is another run of this test active?"
    audit_before = audit_loaded_rules()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ['PATH']}")
    playbook = [
        str(BIN / "ansible-playbook"),
        *("-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3"),
        str(PLAYBOOK),
    ]
    try:
        kernel_rules_before_check = kernel_rules()
        check_run = run([*playbook, "--check", "--diff"], env=env, cwd=ROOT)
        runs = RoleRuns(audit_before, check_run, kernel_rules_before_check, kernel_rules(), RULES_FILE.exists())
        completed = run(playbook, env=env, cwd=ROOT)
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
        yield runs
    finally:
        RULES_FILE.unlink(missing_ok=True)
        for backup in RULES_FILE.parent.glob(f"{RULES_FILE.name}.*.bak"):
            backup.unlink()
        if merged_before is None:
            MERGED_RULES.unlink(missing_ok=True)
        else:
            MERGED_RULES.write_bytes(merged_before)
        if not prev_existed:
            Path(f"{MERGED_RULES}.prev").unlink(missing_ok=True)
        for key in KEYS:
            run(["auditctl", "-D", "-k", key])


@pytest.fixture(scope="module")
def busybox_image(docker_engine) -> Iterator[str]:
    """A one-binary image (nothing can be pulled here), removed afterwards if this test built it."""
    built = run(["docker", "image", "inspect", IMAGE]).returncode != 0
    if built:
        with tempfile.TemporaryDirectory() as root:
            (Path(root) / "bin").mkdir()
            shutil.copy("/bin/busybox", Path(root) / "bin" / "busybox")
            for tool in ("sh", "true", "sleep"):
                (Path(root) / "bin" / tool).symlink_to("busybox")
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            completed = subprocess.run(
                ["docker", "import", "--change", 'CMD ["/bin/sh"]', "-", IMAGE], stdin=tar.stdout, capture_output=True
            )
            tar.wait()
            assert completed.returncode == 0, completed.stderr
    yield IMAGE
    if built:
        run(["docker", "image", "rm", IMAGE])


@pytest.fixture(scope="module")
def audited_user(loaded_rules) -> Iterator[pwd.struct_passwd]:
    """A temporary user in the docker group (created after the rules load, so the change is audited)."""
    run(["userdel", USER])
    completed = run(["useradd", "--no-create-home", "--groups", "docker", "--shell", "/bin/sh", USER])
    assert completed.returncode == 0, completed.stderr
    try:
        yield pwd.getpwnam(USER)
    finally:
        run(["userdel", USER])


def run_as_logged_in(user: pwd.struct_passwd, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` with its login uid set, as pam_loginuid does at a real login."""
    script = (
        f"echo {user.pw_uid} > /proc/self/loginuid && "
        f'exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --init-groups "$@"'
    )
    return run(["sh", "-c", script, "login", *argv], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp"})


def admin_access(*args: str) -> list[dict]:
    completed = run([sys.executable, "-m", "bulkhead.cli", "admin-access", "--json", *args])
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_rules_not_loaded_fail_the_audit_before_the_role(loaded_rules):
    assert "FAIL            BH-1.1" in loaded_rules.audit_before, loaded_rules.audit_before


def test_check_mode_shows_the_rules_and_loads_none(loaded_rules):
    check_run = loaded_rules.check_run
    assert check_run.returncode == 0, check_run.stdout[-3000:] + check_run.stderr[-2000:]
    assert f"+++ after: {RULES_FILE}" in check_run.stdout, check_run.stdout[-3000:]
    assert "-k bulkhead_docker_socket" in check_run.stdout  # the diff shows the rules it would write
    assert not loaded_rules.rules_file_after_check
    assert loaded_rules.kernel_rules_after_check == loaded_rules.kernel_rules_before_check


def test_loaded_rules_pass_the_audit(loaded_rules):
    completed = run(
        [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", "--controls=BH-1.1,1.1.3,BH-1.2"]
    )
    assert "PASS            BH-1.1" in completed.stdout, completed.stdout
    assert "PASS            1.1.3" in completed.stdout, completed.stdout
    assert "PASS            BH-1.2" in completed.stdout, completed.stdout


def test_admin_access_names_the_user_and_masks_secrets(audited_user, busybox_image):
    since = f"{time.time() - 1:.3f}"
    listed = run_as_logged_in(audited_user, ["docker", "ps", "--filter", "name=bulkhead-it-none"])
    assert listed.returncode == 0, listed.stderr
    secret = run_as_logged_in(
        audited_user,
        [
            "docker",
            "run",
            "--rm",
            "-e",
            "BULKHEAD_IT_SECRET=hunter2",
            "--name",
            "bulkhead-it-audited",
            busybox_image,
            "true",
        ],
    )
    assert secret.returncode == 0, secret.stderr

    events: list[dict] = []
    for _ in range(50):  # auditd writes its log asynchronously
        events = [event for event in admin_access("--since", since) if event["login_user"] == USER]
        if sum("client" in event["kind"] for event in events) >= 2:
            break
        time.sleep(0.2)
    commands = [event["command"] for event in events if "client" in event["kind"]]
    assert "docker ps --filter name=bulkhead-it-none" in commands, events
    assert f"docker run --rm -e BULKHEAD_IT_SECRET=*** --name bulkhead-it-audited {busybox_image} true" in commands, (
        events
    )
    assert any("socket" in event["kind"] for event in events), "no Docker socket connect was recorded"
    assert all(event["run_as"] == USER for event in events)

    table = run([sys.executable, "-m", "bulkhead.cli", "admin-access", "--since", since, "--user", USER])
    assert "hunter2" not in table.stdout + table.stderr
    assert "docker ps --filter name=bulkhead-it-none" in table.stdout


ADMIN_CANARY = "BHCANARY-admin"


def test_no_canary_in_admin_access_output(audited_user, busybox_image):
    """Canaries in every form a command line carries a secret in (-e, --env=, --label, --build-arg,
    --password, a credential in a URL): `bulkhead admin-access` lists the commands, never the canary."""
    since = f"{time.time() - 1:.3f}"
    commands = [
        [
            *("docker", "run", "--rm", "-e", f"DB_PASSWORD={ADMIN_CANARY}-e", f"--env=API_KEY={ADMIN_CANARY}-env"),
            *("--label", f"token={ADMIN_CANARY}-label", "--name", "bulkhead-it-canary", busybox_image, "true"),
        ],
        ["docker", "build", "--build-arg", f"NPM_TOKEN={ADMIN_CANARY}-build", "/nonexistent-context"],
        ["docker", "login", "--username", "ops", "--password", f"{ADMIN_CANARY}-password", "127.0.0.1:9"],
        ["docker", "pull", f"https://ops:{ADMIN_CANARY}-url@127.0.0.1:9/tool:1"],
    ]
    for argv in commands:
        run_as_logged_in(audited_user, argv)  # some fail (no such context or registry): the command is what counts
    events: list[dict] = []
    for _ in range(50):  # auditd writes its log asynchronously
        events = [event for event in admin_access("--since", since) if event["login_user"] == USER]
        if sum("client" in event["kind"] for event in events) >= len(commands):
            break
        time.sleep(0.2)
    listed = [event["command"] for event in events if "client" in event["kind"]]
    assert len(listed) >= len(commands), events
    table = run([sys.executable, "-m", "bulkhead.cli", "admin-access", "--since", since, "--user", USER])
    assert "docker login" in table.stdout, table.stdout
    outputs = {"json": json.dumps(events), "table": table.stdout + table.stderr}
    assert [name for name, text in outputs.items() if ADMIN_CANARY in text] == [], outputs


def test_a_container_that_lived_for_less_than_a_second_is_on_record(busybox_image, tmp_path):
    record = tmp_path / "events.log"
    since = f"{time.time() - 1:.3f}"
    recorder = subprocess.Popen(
        [
            sys.executable,
            str(ROLE / "files" / "bulkhead-events"),
            "--output",
            str(record),
            "--state-file",
            str(tmp_path / "last"),
            "--since",
            since,
        ],
    )
    name = f"bulkhead-it-blink-{os.getpid()}"
    try:
        started = time.monotonic()
        completed = run(["docker", "run", "--rm", "--name", name, busybox_image, "true"])
        lifetime = time.monotonic() - started
        assert completed.returncode == 0, completed.stderr
        lines: list[str] = []
        for _ in range(100):
            lines = (
                [line for line in record.read_text().splitlines() if f"container={name} " in line]
                if record.exists()
                else []
            )
            if any("action=destroy" in line for line in lines):
                break
            time.sleep(0.1)
    finally:
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(timeout=10)
    actions = [line.split("action=", 1)[1].split()[0] for line in lines]
    assert actions[:2] == ["create", "start"] and "die" in actions and actions[-1] == "destroy", lines
    assert all(f"image={busybox_image}" in line and line.startswith("bulkhead-events ") for line in lines), lines
    assert lifetime < 5, f"docker run took {lifetime:.1f} s"
