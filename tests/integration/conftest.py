import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """This machine's Docker engine (make integration starts it); without one these tests error."""
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: run `make engine`", pytrace=False)
    answered = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    if answered.returncode != 0:
        pytest.fail(f"the Docker engine does not answer: {answered.stderr.strip()}", pytrace=False)


ROOT = Path(__file__).resolve().parents[2]
PODMAN_ENGINES = ROOT / "scripts" / "podman-engines.sh"
ROOTLESS_PODMAN_USER = "bhpodman"


@pytest.fixture(scope="session", autouse=True)
def podman_engines_beside_docker():
    """A rootful Podman and a rootless Podman user, each running a container, for the whole session.

    Every integration test must judge only what it creates, whatever else runs on the machine: these
    engines' containers are there to prove it, and to audit rootless Podman for real.
    """
    subprocess.run(["bash", str(PODMAN_ENGINES), "start"], check=True)
    yield ROOTLESS_PODMAN_USER
    subprocess.run(["bash", str(PODMAN_ENGINES), "stop"], check=False)
