"""No secret in any output: a canary in a container's environment values, its labels and its command
line appears in no report format, not in the terminal output (verbose), not in the history.

The container must be in the reports (by name), or the test would prove nothing.
The other places a secret could leak from are tested where they exist: TLS key files, the registry
credential in ~/.docker/config.json and every role task's result as printed at -vvv in the molecule
scenarios (molecule/docker_engine/verify.yml, molecule/shared/check_mode_predicted.yml), sudo I/O logs
in molecule/container_host/verify.yml, `bulkhead admin-access` in test_container_host.py and the gate's
decision log in test_gate.py.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
NAME = "bulkhead-it-canary"
CANARY = "BHCANARY-5e1d"


@pytest.fixture
def container_with_secrets(docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    subprocess.run(["docker", "rm", "-f", NAME], capture_output=True, check=False)
    subprocess.run(
        [
            *("docker", "run", "-d", "--name", NAME),
            *("-e", f"DB_PASSWORD={CANARY}-env", "-e", f"API_TOKEN={CANARY}-env2"),
            *("-l", f"secret.token={CANARY}-label"),
            *(IMAGE, "sh", "-c", f"sleep 600 || echo --password={CANARY}-cmd"),
        ],
        check=True,
        capture_output=True,
    )
    yield NAME
    subprocess.run(["docker", "rm", "-f", NAME], capture_output=True, check=False)


def test_no_canary_in_reports_terminal_or_history(tmp_path, container_with_secrets):
    history = tmp_path / "history"
    history.mkdir(mode=0o700)
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "bulkhead", "audit", "--hosts=local://", "--verbose", "--no-progress"),
            *(f"--json={tmp_path / 'r.json'}", f"--junit={tmp_path / 'r.xml'}", f"--html={tmp_path / 'r.html'}"),
            f"--history={history}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode in (1, 2), completed.stderr
    outputs = {"stdout": completed.stdout, "stderr": completed.stderr}
    outputs |= {str(path.relative_to(tmp_path)): path.read_text() for path in tmp_path.rglob("*") if path.is_file()}
    assert len([name for name in outputs if name.startswith("history/")]) >= 4
    for name in ("r.json", "r.html", "stdout"):
        assert container_with_secrets in outputs[name], f"the container is not in {name}: the test proves nothing"
    leaks = [name for name, text in outputs.items() if CANARY in text]
    assert not leaks, f"the canary appears in {leaks}"
