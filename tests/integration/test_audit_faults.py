"""`bulkhead audit` when the world breaks under it: the engine goes away in the middle of collection,
the disk fills while reports or the history are written.

The engine fault is real from the audit's side: the audit runs in its own mount namespace where
/run/docker.sock is a relay to this machine's engine that stops listening after N connections (what
a stopped dockerd looks like: the socket file stays, connections are refused). The machine's engine
itself is never touched. The disk is a small tmpfs this test mounts and fills.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ENGINE_SOCKET = "/run/docker.sock"


class EngineThatStops:
    """A unix socket relaying to the real engine for ``limit`` connections, then refusing all."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(64)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            if self.connections > self.limit:
                client.close()
                self.server.close()  # the engine is gone: connecting is refused from now on
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(ENGINE_SOCKET)
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        self.server.close()


def _pipe(one: socket.socket, other: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([one, other], [], [], 60)
            if not ready:
                return
            for side in ready:
                data = side.recv(65536)
                if not data:
                    return
                (other if side is one else one).sendall(data)
    except OSError:
        return
    finally:
        one.close()
        other.close()


def audit_through(relay: Path, report: Path) -> subprocess.CompletedProcess[str]:
    """A local audit whose engine socket is ``relay`` (a private bind mount: nothing else sees it)."""
    command = f"mount --bind {relay} {ENGINE_SOCKET} && exec {sys.executable} -m bulkhead audit"
    return subprocess.run(
        [
            *("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", f'{command} "$@"', "audit"),
            *("--hosts=local://", f"--json={report}", "--no-progress"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def outcomes(report: Path) -> dict[str, dict]:
    return {control["id"]: control for control in json.loads(report.read_text())["hosts"]["local"]["controls"]}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> dict[str, dict]:
    """The controls of an audit through a relay that never stops: what the engine gives in full."""
    if not os.path.exists(ENGINE_SOCKET):
        pytest.skip("no engine socket at /run/docker.sock")
    directory = tmp_path_factory.mktemp("steady")
    steady = EngineThatStops(directory / "steady.sock", limit=10_000)
    try:
        baseline = audit_through(steady.path, directory / "baseline.json")
    finally:
        steady.close()
    assert baseline.returncode in (1, 2), baseline.stderr
    return outcomes(directory / "baseline.json")


# After 0, 3 and 6 of the ~11 connections a local audit opens: before, during and late in collection.
@pytest.mark.parametrize("limit", [0, 3, 6])
def test_the_engine_stopping_mid_audit_turns_what_it_could_not_read_into_errors_never_passes(tmp_path, full, limit):
    """Against the same engine reached in full, every control keeps its outcome or becomes an
    error naming the refused API call; exit 2; the JSON report is whole (every control)."""
    relay_dir = tmp_path

    stopping = EngineThatStops(relay_dir / "stopping.sock", limit=limit)
    try:
        faulted = audit_through(stopping.path, relay_dir / "faulted.json")
    finally:
        stopping.close()
    assert stopping.connections > limit, "the audit never reached the point where the engine stops"
    assert faulted.returncode == 2, faulted.stdout + faulted.stderr
    assert "Traceback" not in faulted.stderr
    broken = outcomes(relay_dir / "faulted.json")
    assert broken.keys() == full.keys()
    became_errors = [control_id for control_id in full if broken[control_id]["outcome"] != full[control_id]["outcome"]]
    assert became_errors, "the lost engine changed no control"
    for control_id in became_errors:
        control = broken[control_id]
        assert control["outcome"] == "error", (control_id, full[control_id]["outcome"], control)
        assert control["reasons"][0].startswith("cannot determine: "), control
    # Refused for a new connection, a broken pipe or a reset for one cut while in use: which one
    # depends on where the engine stopped, and the reason says it.
    lost = ("Connection refused", "Broken pipe", "Connection reset")
    refused = [c for c in became_errors if any(word in " ".join(broken[c]["reasons"]) for word in lost)]
    assert refused, [broken[c]["reasons"] for c in became_errors]
    assert list(relay_dir.glob(".faulted.json.*")) == []


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs with ``room`` KiB left (see fill)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(mount_point: Path, leave_kib: int) -> None:
    status = os.statvfs(mount_point)
    free = status.f_bavail * status.f_frsize
    (mount_point / "filler").write_bytes(b"\0" * max(0, free - leave_kib * 1024))


def run_audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bulkhead", "audit", "--hosts=local://", "--controls=2.2,2.3", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_full_disk_while_writing_reports_is_a_clear_error_and_old_reports_stay_whole(full_disk, docker_engine):
    old = {name: f"previous {name} report\n" for name in ("r.json", "r.xml", "r.html")}
    for name, text in old.items():
        (full_disk / name).write_text(text)
    fill(full_disk, leave_kib=0)
    completed = run_audit(
        *(f"--{kind}={full_disk / name}" for kind, name in zip(("json", "junit", "html"), old, strict=True))
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    (line,) = completed.stderr.splitlines()
    assert line.startswith("bulkhead: cannot write the report ") and "No space left on device" in line, line
    # Every report is the previous one, whole; no temporary file is left beside them.
    for name, text in old.items():
        assert (full_disk / name).read_text() == text
    assert sorted(path.name for path in full_disk.iterdir()) == sorted([*old, "filler"])


def test_a_full_disk_while_recording_the_history_is_a_clear_error_and_no_entry(full_disk, docker_engine, tmp_path):
    history = full_disk / "history"
    history.mkdir(mode=0o700)
    fill(full_disk, leave_kib=4)
    completed = run_audit(f"--history={history}", f"--json={tmp_path / 'r.json'}")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert f"bulkhead: --history {history}: the run could not be recorded: " in completed.stderr
    assert "No space left on device" in completed.stderr
    assert list(history.iterdir()) == []  # no entry, not even a partial one
    listed = subprocess.run(
        [sys.executable, "-m", "bulkhead", "history", str(history), "--json"], capture_output=True, text=True
    )
    assert json.loads(listed.stdout)["runs"] == []
