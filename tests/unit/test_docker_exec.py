"""docker:// commands over the Engine API: the stream's framing, and when the CLI is used instead."""

import json
import struct

import pytest
import testinfra

from bulkhead import docker_exec
from bulkhead.docker_exec import demultiplex, engine_socket
from bulkhead.fleet import prepare_backend


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_the_stream_is_split_into_stdout_and_stderr_in_order():
    stream = frame(1, b'{"facts": ') + frame(2, b"warning\n") + frame(1, b"1}\n") + frame(2, b"") + frame(1, b"")
    assert demultiplex(stream) == (b'{"facts": 1}\n', b"warning\n")


def test_a_truncated_frame_keeps_what_arrived():
    assert demultiplex(frame(1, b"complete") + frame(2, b"cut short")[:-3]) == (b"complete", b"cut sh")
    assert demultiplex(frame(1, b"complete") + b"\x01\x00") == (b"complete", b"")  # half a header


@pytest.fixture
def sockets(tmp_path, monkeypatch):
    """A usable default socket path in tmp_path, no DOCKER_* settings and an empty Docker config."""
    path = tmp_path / "docker.sock"
    path.write_text("")
    monkeypatch.setattr(docker_exec, "DEFAULT_SOCKETS", (str(tmp_path / "missing.sock"), str(path)))
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "BULKHEAD_DOCKER_CLI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    return path


def test_the_default_socket_is_used_when_this_process_can_open_it(sockets):
    assert engine_socket() == str(sockets)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"DOCKER_HOST": "tcp://docker.example:2376"}, None),  # the CLI talks to another engine
        ({"DOCKER_HOST": "ssh://admin@docker.example"}, None),
        ({"DOCKER_HOST": "unix://{d}/docker.sock"}, "{d}/docker.sock"),
        ({"DOCKER_HOST": "unix://{d}/other.sock"}, None),  # no such socket: the CLI says why
        ({"DOCKER_CONTEXT": "remote"}, None),
        ({"DOCKER_CONTEXT": "default"}, "{d}/docker.sock"),
    ],
)
def test_the_cli_is_used_wherever_it_would_reach_another_engine(sockets, monkeypatch, setting, expected):
    for name, value in setting.items():
        monkeypatch.setenv(name, value.format(d=sockets.parent))
    assert engine_socket() == (expected.format(d=sockets.parent) if expected else None)


def test_a_context_chosen_in_the_docker_config_means_the_cli(sockets):
    (sockets.parent / "config").mkdir()
    (sockets.parent / "config" / "config.json").write_text(json.dumps({"currentContext": "rootless"}))
    assert engine_socket() is None


def test_a_socket_this_user_cannot_open_means_the_cli(sockets, monkeypatch):
    monkeypatch.setattr(docker_exec.os, "access", lambda path, mode: False)
    assert engine_socket() is None


def test_a_docker_backend_runs_through_the_api_unless_told_otherwise(sockets, monkeypatch):
    backend = testinfra.backend.get_backend("docker://web-1")  # not testinfra's cached host
    prepare_backend(backend, 5)
    assert backend.run.__qualname__.startswith("run_with_docker_api")
    monkeypatch.setenv("BULKHEAD_DOCKER_CLI", "1")
    backend = testinfra.backend.get_backend("docker://web-1")
    prepare_backend(backend, 5)
    assert backend.run.__func__ is type(backend).run
