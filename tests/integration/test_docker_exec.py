"""docker:// commands through the Engine API give what `docker exec` gives: exit code, stdout, stderr."""

import subprocess
import time
from pathlib import Path

import pytest
import testinfra

from bulkhead.docker_exec import ExecTimeout, engine_socket, exec_in_container
from bulkhead.fleet import HostTimeout, prepare_backend

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
TARGET = "bulkhead-it-api-exec"


@pytest.fixture(scope="module")
def target(docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", TARGET, "--network", "none", IMAGE, "sleep", "600"],
                   check=True, capture_output=True)  # fmt: skip
    yield TARGET
    subprocess.run(["docker", "rm", "-f", TARGET], capture_output=True, check=False)


def cli(container: str, command: str, user: str | None = None) -> tuple[int, bytes, bytes]:
    argv = ["docker", "exec", *(["-u", user] if user else []), container, "/bin/sh", "-c", command]
    done = subprocess.run(argv, capture_output=True, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("command", "user"),
    [
        ("echo out; echo err >&2; exit 3", None),
        ("id -u; id -g", "65534:65534"),
        ("head -c 3000000 /dev/zero | tr '\\0' x; echo done >&2", None),  # a large answer, in many frames
        ("printf 'no newline'", None),
    ],
)
def test_the_api_answers_like_the_cli(target, command, user):
    assert exec_in_container(engine_socket(), target, ["/bin/sh", "-c", command], user, 30) == cli(
        target, command, user
    )


def test_a_missing_container_fails_with_the_engines_words(docker_engine):
    code, stdout, stderr = exec_in_container(engine_socket(), "bulkhead-it-no-such", ["true"], None, 30)
    assert (code, stdout, stderr) == cli("bulkhead-it-no-such", "true")
    assert stderr == b"Error response from daemon: No such container: bulkhead-it-no-such\n"


def test_a_command_past_its_deadline_times_out(target):
    started = time.monotonic()
    with pytest.raises(ExecTimeout):
        exec_in_container(engine_socket(), target, ["/bin/sh", "-c", "sleep 30"], None, 1)
    assert time.monotonic() - started < 5


def test_a_prepared_docker_backend_runs_testinfra_commands_through_the_api(target):
    backend = testinfra.backend.get_backend(f"docker://{target}")  # not testinfra's cached host
    prepare_backend(backend, 1)
    result = backend.run("echo %s; exit %s", "two words", "4")
    assert (result.rc, result.stdout, result.stderr) == (4, "two words\n", "")
    with pytest.raises(HostTimeout):
        backend.run("sleep 30")
