import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """This machine's Docker engine (make integration starts it); without one these tests error."""
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: run `make engine`", pytrace=False)
    answered = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    if answered.returncode != 0:
        pytest.fail(f"the Docker engine does not answer: {answered.stderr.strip()}", pytrace=False)
