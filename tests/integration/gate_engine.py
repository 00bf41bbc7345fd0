"""A second dockerd in its own network namespace, with an authorization plugin, for gate tests.

Never in the machine's own netns (it would rewrite the first engine's iptables chains): ``ip netns
add`` then ``nsenter --net=/run/netns/X dockerd ...``. Every path lives under one directory that
``stop`` removes with the netns, the daemon's process group and any mount left under it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PLUGINS_DIR = Path("/run/docker/plugins")
LOCAL_IMAGE = "bulkhead-it/busybox:local"
ROOT = Path(__file__).resolve().parents[2]


class SecondEngine:
    def __init__(self, tag: str, plugin: str | None) -> None:
        self.tag = f"{tag}{os.getpid()}"
        self.base = Path(f"/tmp/bhg-{self.tag}")
        self.netns = f"bhg-{self.tag}"
        self.plugin = plugin
        self.socket = self.base / "docker.sock"
        self.daemon: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def plugin_socket(self) -> Path:
        assert self.plugin
        return PLUGINS_DIR / f"{self.plugin}.sock"

    def start(self, timeout: float = 90) -> None:
        self.base.mkdir(mode=0o700, parents=True)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        command = [
            "nsenter",
            f"--net=/run/netns/{self.netns}",
            "dockerd",
            f"--data-root={self.base}/data",
            f"--exec-root={self.base}/exec",
            f"--pidfile={self.base}/dockerd.pid",
            f"-H={self.host}",
            "--iptables=false",
            "--ip-masq=false",
            "--log-level=warn",
        ]
        if self.plugin:
            command.append(f"--authorization-plugin={self.plugin}")
        with (self.base / "dockerd.log").open("wb") as log:
            self.daemon = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(self.base / 'dockerd.log').read_text()[-2000:]}")
            if self.socket.exists() and self.docker("version", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"dockerd did not answer in {timeout}s: {(self.base / 'dockerd.log').read_text()[-2000:]}")

    def docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "-H", self.host, *args], capture_output=True, text=True, check=check, timeout=timeout
        )

    def load_local_image(self) -> None:
        saved = subprocess.Popen(["docker", "save", LOCAL_IMAGE], stdout=subprocess.PIPE)
        assert saved.stdout is not None
        loaded = subprocess.run(
            ["docker", "-H", self.host, "load"], stdin=saved.stdout, capture_output=True, timeout=120
        )
        saved.stdout.close()
        saved.wait(timeout=60)
        if loaded.returncode != 0:
            raise RuntimeError(f"docker load failed: {loaded.stderr.decode()}")

    def stop(self) -> None:
        """Stop the daemon and remove everything it made, whatever state it is in; bounded in time."""
        if self.daemon is not None and self.daemon.poll() is None:
            try:
                os.killpg(self.daemon.pid, signal.SIGTERM)
                self.daemon.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._kill_leftovers()
        for mount in reversed(self._mounts()):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "delete", self.netns], check=False, capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def _mounts(self) -> list[str]:
        prefix = str(self.base) + "/"
        with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
            points = [line.split()[4] for line in mountinfo]
        return [point for point in points if point.startswith(prefix)]

    def _kill_leftovers(self) -> None:
        """containerd and shims started for this engine (their command lines name its exec root)."""
        marker = str(self.base).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue


def start_gate(policy: Path, plugin: str, log_file: Path, break_glass: Path, engine: SecondEngine, *extra: str):
    """``bulkhead gate serve`` on the plugin's socket, waiting until the socket exists (bounded)."""
    socket_path = PLUGINS_DIR / f"{plugin}.sock"
    socket_path.unlink(missing_ok=True)
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "audits")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulkhead.cli",
            "gate",
            "serve",
            "--policy",
            str(policy),
            "--socket",
            str(socket_path),
            "--log-file",
            str(log_file),
            "--no-syslog",
            "--break-glass",
            str(break_glass),
            "--engine-socket",
            str(engine.socket),
            *extra,
        ],
        env=environment,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not socket_path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the gate exited: {process.stderr.read().decode() if process.stderr else ''}")
        time.sleep(0.05)
    return process


def stop_gate(process: subprocess.Popen[bytes] | None, plugin: str) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    (PLUGINS_DIR / f"{plugin}.sock").unlink(missing_ok=True)
