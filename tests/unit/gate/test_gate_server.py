"""bulkhead.gate.server and log: the plugin protocol over a unix socket, break-glass, the decision log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from gate_fixtures import message

from bulkhead.checks import Context
from bulkhead.cli import main
from bulkhead.collector.docker import UnixHTTPConnection
from bulkhead.gate.log import DecisionLog, read_log
from bulkhead.gate.policy import Exception_, Policy
from bulkhead.gate.server import Gate, GateServer, listener

ROOT = Path(__file__).resolve().parents[3]
HOST = Context(cgroup_version=1, apparmor=False, selinux=False, daemon_no_new_privileges=False)
POLICY = Policy(
    default="off",
    controls={"5.4": "enforce", "5.31": "audit"},
    exceptions=(Exception_("5.4", "Vendor debug tool (OPS-7)", date(2099, 1, 1), 1, container="allowed-debug"),),
)


def post(path: Path, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
    connection = UnixHTTPConnection(str(path), 5)
    try:
        connection.request("POST", endpoint, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return {"status": response.status, **json.loads(response.read())}
    finally:
        connection.close()


@pytest.fixture
def served(tmp_path):
    socket_path = tmp_path / "gate.sock"
    log = DecisionLog(tmp_path / "log" / "gate.log", syslog_socket=None)
    gate = Gate(POLICY, HOST, log, break_glass=tmp_path / "gate.disabled")
    server = GateServer(gate, listener(socket_path))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield socket_path, tmp_path
    server.shutdown()
    server.server_close()


def renamed(case: str, name: str) -> dict[str, Any]:
    recorded = message(case)
    recorded["RequestUri"] = recorded["RequestUri"].replace("name=debug", f"name={name}")
    return recorded


def test_activate_and_the_socket_is_root_only(served):
    socket_path, _ = served
    assert post(socket_path, "/Plugin.Activate", {}) == {"status": 200, "Implements": ["authz"]}
    assert oct(socket_path.stat().st_mode & 0o777) == "0o600"


def test_requests_are_refused_or_allowed_and_responses_always_allowed(served):
    socket_path, _ = served
    refused = post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))
    assert refused == {"status": 200, "Allow": False, "Msg": "5.4 not allowed: runs --privileged (container debug)"}
    assert post(socket_path, "/AuthZPlugin.AuthZReq", message("create-compliant")) == {"status": 200, "Allow": True}
    assert post(socket_path, "/AuthZPlugin.AuthZRes", {"ResponseStatusCode": 201}) == {"status": 200, "Allow": True}
    assert post(socket_path, "/AuthZPlugin.AuthZReq", {"RequestMethod": "GET", "RequestUri": "/_ping"})["Allow"]
    unreadable = post(
        socket_path, "/AuthZPlugin.AuthZReq", {"RequestMethod": "POST", "RequestUri": "/containers/create"}
    )
    assert not unreadable["Allow"] and unreadable["Msg"].startswith("cannot read the request, refused")
    assert post(socket_path, "/Nothing", {})["status"] == 404
    assert not post(socket_path, "/AuthZPlugin.AuthZReq", {})["Allow"]  # no method, no URI: refused


def test_a_chunked_message_is_read_whole(served):
    socket_path, _ = served
    body = json.dumps(message("create-privileged")).encode()
    connection = UnixHTTPConnection(str(socket_path), 5)
    try:
        connection.request("POST", "/AuthZPlugin.AuthZReq", body=iter([body[:100], body[100:]]), encode_chunked=True)
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert answer["Msg"] == "5.4 not allowed: runs --privileged (container debug)"


def test_an_internal_error_refuses(tmp_path, monkeypatch):
    import bulkhead.gate.server as server_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server_module, "decide", broken)
    gate = Gate(POLICY, HOST, DecisionLog(tmp_path / "gate.log", syslog_socket=None), break_glass=tmp_path / "off")
    answer = gate.authorize(message("create-compliant"))
    assert answer == {"Allow": False, "Msg": "internal error, refused: RuntimeError: boom"}
    assert next(read_log(tmp_path / "gate.log"))["error"] == "RuntimeError: boom"


def test_the_decision_log_holds_refusals_audits_and_exceptions_without_environment(served, capsys):
    socket_path, tmp_path = served
    post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))
    post(socket_path, "/AuthZPlugin.AuthZReq", renamed("create-privileged", "allowed-debug"))
    post(socket_path, "/AuthZPlugin.AuthZReq", message("create-docker-sock"))
    post(socket_path, "/AuthZPlugin.AuthZReq", message("create-compliant"))  # nothing to log
    log_file = tmp_path / "log" / "gate.log"
    lines = [line for line in read_log(log_file) if "event" not in line]
    assert [(line["decision"], line["container"], [c["outcome"] for c in line["controls"]]) for line in lines] == [
        ("refused", "debug", ["refused"]),
        ("allowed", "allowed-debug", ["excepted"]),
        ("allowed", "sockmount", ["audited"]),
    ]
    assert lines[1]["controls"][0]["exception"] == {
        "index": 1,
        "scope": {"container": "allowed-debug"},
        "justification": "Vendor debug tool (OPS-7)",
        "expires": "2099-01-01",
    }
    assert lines[0]["method"] == "POST" and lines[0]["path"] == "/containers/create"
    assert lines[0]["image"] == "bulkhead-it/busybox:local"
    assert oct(log_file.stat().st_mode & 0o777) == "0o600" and oct(log_file.parent.stat().st_mode & 0o777) == "0o700"
    assert "API_TOKEN" not in log_file.read_text()
    assert main(["gate", "log", "--file", str(log_file)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("refused create container debug: 5.4 [refused] runs --privileged")
    assert "allowed create container allowed-debug: 5.4 [excepted by exception #1 until 2099-01-01" in printed[1]
    assert main(["gate", "log", "--file", str(log_file), "--refused", "--json"]) == 0
    assert [json.loads(line)["container"] for line in capsys.readouterr().out.splitlines()] == ["debug"]


def test_break_glass_admits_and_is_logged(served):
    socket_path, tmp_path = served
    switch = tmp_path / "gate.disabled"
    switch.write_text("incident 42\n")
    switch.chmod(0o600)
    assert post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))["Allow"]
    switch.unlink()
    assert not post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))["Allow"]
    logged = list(read_log(tmp_path / "log" / "gate.log"))
    assert [line.get("event") or line["decision"] for line in logged] == [
        "break-glass on",
        "allowed",
        "break-glass off",
        "refused",
    ]
    assert logged[1]["break_glass"] and logged[1]["controls"][0]["outcome"] == "allowed by break-glass"


def test_a_break_glass_file_others_may_write_is_ignored(served):
    socket_path, tmp_path = served
    switch = tmp_path / "gate.disabled"
    switch.write_text("")
    switch.chmod(0o666)
    assert not post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))["Allow"]


def test_socket_activation_uses_fd_3(tmp_path):
    """systemd hands the listening socket over as fd 3 with LISTEN_PID and LISTEN_FDS."""
    socket_path = tmp_path / "activated.sock"
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(socket_path))
    bound.listen(8)
    policy = tmp_path / "policy.yml"
    policy.write_text("default: off\ncontrols:\n  '5.4': enforce\n")
    # What systemd does: the socket as fd 3, LISTEN_PID naming the process that execs the gate.
    hand_over = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); "
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
        "os.execv(sys.executable, [sys.executable, '-m', 'bulkhead.cli', 'gate', 'serve', *sys.argv[2:]])"
    )
    arguments = ["--policy", str(policy), "--log-file", str(tmp_path / "gate.log"), "--no-syslog"]
    process = subprocess.Popen(
        [sys.executable, "-c", hand_over, str(bound.fileno()), *arguments, "--break-glass", str(tmp_path / "off")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "audits")},
        pass_fds=(bound.fileno(),),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = post(socket_path, "/AuthZPlugin.AuthZReq", message("create-privileged"))
                break
            except (ConnectionError, OSError, json.JSONDecodeError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert answer["Msg"] == "5.4 not allowed: runs --privileged (container debug)"
    finally:
        process.terminate()
        process.wait(timeout=10)
        bound.close()


def test_serve_refuses_to_start_on_a_malformed_policy(tmp_path, capsys):
    policy = tmp_path / "policy.yml"
    policy.write_text("default: maybe\n")
    assert main(["gate", "serve", "--policy", str(policy), "--socket", str(tmp_path / "s.sock")]) == 2
    assert "policy refused" in capsys.readouterr().err
    assert not (tmp_path / "s.sock").exists()


def test_the_api_user_is_logged_when_dockerd_names_one():
    from bulkhead.gate.decide import decide
    from bulkhead.gate.log import record
    from bulkhead.gate.request import AuthzRequest

    named = AuthzRequest.from_message({**message("create-privileged"), "User": "alice"})
    assert record(decide(named, POLICY, HOST))["user"] == "alice"
    assert "user" not in record(decide(AuthzRequest.from_message(message("create-privileged")), POLICY, HOST))
