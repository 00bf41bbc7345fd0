"""A command in a docker:// target through the Engine API, without a ``docker exec`` process per host.

testinfra's docker backend runs ``docker exec NAME /bin/sh -c COMMAND`` for every command: a shell
and a Docker CLI process on the control node, about 17 ms of its CPU each (measured here, 2026-11-30),
which a fleet of docker:// targets pays once per host. The same exec over the engine's unix socket
(``POST /containers/{id}/exec``, ``POST /exec/{id}/start``, the stream demultiplexed, ``GET
/exec/{id}/json`` for the exit code) costs the control node a few HTTP requests in this process.

Used only where the CLI would talk to the same engine: the default socket, or ``DOCKER_HOST`` naming a
unix socket, and no other Docker context selected. Anywhere else (a remote ``DOCKER_HOST``, a context,
a socket this user cannot open) testinfra's CLI path runs as before. Errors read like the CLI's
(``Error response from daemon: No such container: web``) and become a failed command, never an exception.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bulkhead.collector.docker import DEFAULT_SOCKETS, UnixHTTPConnection

_HEADER = struct.Struct(">BxxxL")  # stream (1 stdout, 2 stderr), 3 bytes padding, frame size


class ExecTimeout(Exception):
    """The command did not finish before its deadline."""


class EngineUnusable(Exception):
    """The engine's socket cannot be used from here: run the CLI instead."""


def _current_context() -> str | None:
    if os.environ.get("DOCKER_CONTEXT"):
        return os.environ["DOCKER_CONTEXT"]
    directory = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    context = config.get("currentContext") if isinstance(config, dict) else None
    return context if isinstance(context, str) else None


def engine_socket() -> str | None:
    """The unix socket the Docker CLI would use here, if this process can use it too; else None."""
    if _current_context() not in (None, "", "default"):
        return None
    docker_host = os.environ.get("DOCKER_HOST")
    candidates = DEFAULT_SOCKETS
    if docker_host:
        candidates = (docker_host.removeprefix("unix://"),) if docker_host.startswith("unix://") else ()
    for path in candidates:
        if os.path.exists(path):
            return path if os.access(path, os.R_OK | os.W_OK) else None
    return None


def demultiplex(stream: bytes) -> tuple[bytes, bytes]:
    """stdout and stderr of an exec's multiplexed stream (no TTY): 8-byte headers, then the frame."""
    out, err = bytearray(), bytearray()
    position = 0
    while position + _HEADER.size <= len(stream):
        kind, size = _HEADER.unpack_from(stream, position)
        position += _HEADER.size
        (err if kind == 2 else out).extend(stream[position : position + size])
        position += size
    return bytes(out), bytes(err)


class _Exec:
    """One exec on one connection (keep-alive), each request bounded by what is left of the deadline."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.connection = UnixHTTPConnection(socket_path, timeout)

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ExecTimeout(f"timed out after {self.timeout:g} s")
        return remaining

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        self.connection.timeout = self.left()
        if self.connection.sock is not None:
            self.connection.sock.settimeout(self.connection.timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.connection.request(method, path, body=data, headers=headers)
        sock = self.connection.sock  # a response read until the engine closes it takes it over
        response = self.connection.getresponse()
        if response.getheader("Content-Type") == "application/vnd.docker.raw-stream":
            return response.status, self.read_stream(response, sock)
        return response.status, response.read()

    def read_stream(self, response: http.client.HTTPResponse, sock: socket.socket) -> bytes:
        """The exec's output until the engine closes the stream, within the deadline."""
        chunks = []
        while True:
            sock.settimeout(self.left())
            chunk = response.read1(1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def close(self) -> None:
        self.connection.close()


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message") or "").strip() or body.decode(errors="replace").strip()
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip()


def exec_in_container(
    socket_path: str, container: str, argv: list[str], user: str | None, timeout: float
) -> tuple[int, bytes, bytes]:
    """``argv`` run in ``container`` like ``docker exec [-u USER] CONTAINER ARGV...``: exit code,
    stdout, stderr. EngineUnusable when the socket cannot be reached; ExecTimeout at the deadline."""
    run = _Exec(socket_path, timeout)
    try:
        create: dict[str, Any] = {"AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "Tty": False}
        create["Cmd"] = argv
        if user is not None:
            create["User"] = user
        try:
            status, body = run.request("POST", f"/containers/{quote(container, safe='')}/exec", create)
        except (ConnectionRefusedError, FileNotFoundError, PermissionError) as error:
            raise EngineUnusable(str(error)) from None
        if status != 201:
            return 1, b"", f"Error response from daemon: {_message(body)}\n".encode()
        exec_id = quote(str(json.loads(body)["Id"]), safe="")
        status, stream = run.request("POST", f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})
        if status != 200:
            return 1, b"", f"Error response from daemon: {_message(stream)}\n".encode()
        stdout, stderr = demultiplex(stream)
        # The stream ends when the process exits; the engine may record its exit code a moment later.
        for _ in range(50):
            status, body = run.request("GET", f"/exec/{exec_id}/json")
            if status != 200:
                return 1, stdout, stderr + f"Error response from daemon: {_message(body)}\n".encode()
            document = json.loads(body)
            if not document.get("Running") and document.get("ExitCode") is not None:
                return int(document["ExitCode"]), stdout, stderr
            time.sleep(0.01)
        return 1, stdout, stderr + b"Error: the exec ended without an exit code\n"
    except TimeoutError:
        raise ExecTimeout(f"timed out after {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        return 1, b"", f"Error: the Docker engine's API failed: {error}\n".encode()
    finally:
        run.close()
