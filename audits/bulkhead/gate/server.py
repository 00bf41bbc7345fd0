"""``bulkhead-gate``: the authorization plugin server on a unix socket.

dockerd finds the plugin by its socket ``/run/docker/plugins/NAME.sock`` and POSTs JSON to
``/Plugin.Activate``, ``/AuthZPlugin.AuthZReq`` and ``/AuthZPlugin.AuthZRes``. With systemd socket
activation (``LISTEN_FDS``) the socket is fd 3 and exists before dockerd starts; otherwise
``--socket PATH`` binds it. When the gate is down dockerd refuses every request: fail closed.

The break-glass file (``/etc/bulkhead/gate.disabled``, honoured only when owned by root and not
writable by others) admits everything the policy would refuse; each such decision, and switching it
on or off, is logged.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import stat
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bulkhead.checks import Context
from bulkhead.gate.decide import ContainerMounts, Decision, ImageConfigs, ImageContext, decide
from bulkhead.gate.log import DecisionLog
from bulkhead.gate.policy import Policy
from bulkhead.gate.request import AuthzRequest, RequestError

BREAK_GLASS = Path("/etc/bulkhead/gate.disabled")
PLUGIN_NAME = "bulkhead-gate"
_SYSTEMD_FIRST_FD = 3


class Gate:
    """Everything a request needs: the policy, the host context, the log, the break-glass switch."""

    def __init__(
        self,
        policy: Policy,
        context: Context,
        log: DecisionLog,
        break_glass: Path = BREAK_GLASS,
        image_configs: ImageConfigs | None = None,
        record: Callable[[dict[str, Any]], None] | None = None,
        container_mounts: ContainerMounts | None = None,
        image_context: ImageContext | None = None,
    ) -> None:
        self.policy = policy
        self.context = context
        self.log = log
        self.break_glass_path = break_glass
        self.image_configs = image_configs
        self.container_mounts = container_mounts
        self.image_context = image_context
        self.record = record
        self._break_glass_was: bool | None = None
        self._lock = threading.Lock()

    def break_glass(self) -> bool:
        on = _root_only_file(self.break_glass_path)
        with self._lock:
            before, self._break_glass_was = self._break_glass_was, on
        if on != before and (on or before is not None):
            self.log.event("break-glass " + ("on" if on else "off"), file=str(self.break_glass_path))
        return on

    def authorize(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.record is not None:
            self.record(message)
        try:
            request = AuthzRequest.from_message(message)
            if not request.method or not request.uri:
                raise RequestError("the message names no request method or URI")
        except RequestError as error:
            decision = Decision(False, f"cannot read the request, refused: {error}", "?", "?", error=str(error))
        else:
            try:
                decision = decide(
                    request,
                    self.policy,
                    self.context,
                    break_glass=self.break_glass(),
                    image_configs=self.image_configs,
                    container_mounts=self.container_mounts,
                    image_context=self.image_context,
                )
            except Exception as error:  # a bug must refuse, never admit
                problem = f"{type(error).__name__}: {error}"
                decision = Decision(
                    False, f"internal error, refused: {problem}", request.method, request.path, error=problem
                )
        self.log.decision(decision)
        return {"Allow": decision.allow, "Msg": decision.msg} if not decision.allow else {"Allow": True}


def _root_only_file(path: Path) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class _Handler(BaseHTTPRequestHandler):
    server: GateServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        raw = self._body()
        gate = self.server.gate
        if self.path == "/Plugin.Activate":
            answer: dict[str, Any] = {"Implements": ["authz"]}
        elif self.path == "/AuthZPlugin.AuthZReq":
            try:
                message = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                message = None
            if isinstance(message, dict):
                answer = gate.authorize(message)
            else:
                answer = {"Allow": False, "Msg": "cannot read the request, refused: not a JSON object"}
        elif self.path == "/AuthZPlugin.AuthZRes":
            answer = {"Allow": True}  # the gate judges requests only; the response body is not read
        else:
            self._send(404, {"Err": f"unknown endpoint {self.path}"})
            return
        self._send(200, answer)

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "dockerd"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # decisions go to the decision log; access lines would only repeat them


class GateServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, gate: Gate, listener: socket.socket) -> None:
        super().__init__("", _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.gate = gate

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, _address = self.socket.accept()
        return connection, ("dockerd", 0)


def listener(socket_path: Path | None) -> socket.socket:
    """systemd's socket (LISTEN_FDS for this process) or a fresh one at ``socket_path`` (mode 0600)."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and int(os.environ.get("LISTEN_FDS") or 0) >= 1:
        return socket.socket(fileno=_SYSTEMD_FIRST_FD)
    if socket_path is None:
        raise SystemExit("bulkhead-gate: no systemd socket (LISTEN_FDS) and no --socket PATH")
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.is_socket():
        socket_path.unlink()
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        bound.bind(str(socket_path))
    finally:
        os.umask(old_mask)
    bound.listen(64)
    return bound


def serve(gate: Gate, socket_path: Path | None) -> int:
    server = GateServer(gate, listener(socket_path))
    gate.log.event("start", policy=gate.policy.source, socket=str(socket_path or "systemd"))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"bulkhead-gate: serving on {socket_path or 'the systemd socket'}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
