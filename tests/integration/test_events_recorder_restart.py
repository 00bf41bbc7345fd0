"""The container life-cycle recorder (container_host's bulkhead-events) SIGKILLed and restarted,
with containers created meanwhile, against this machine's real engine: every life-cycle event of
the test's containers is recorded exactly once (it resumes from its saved point)."""

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECORDER = ROOT / "collections/ansible_collections/bulkhead/hardening/roles/container_host/files/bulkhead-events"
IMAGE = "bulkhead-it/busybox:local"


class Recorder:
    def __init__(self, directory: Path) -> None:
        self.output = directory / "events.log"
        self.state = directory / "state" / "last"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(RECORDER), "--output", str(self.output), "--state-file", str(self.state)],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)  # `docker events` subscribed

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def lines_for(self, name: str) -> list[str]:
        if not self.output.exists():
            return []
        return [line for line in self.output.read_text().splitlines() if f"container={name} " in line]


def run_and_remove(name: str) -> None:
    subprocess.run(["docker", "run", "--name", name, IMAGE, "true"], check=True, capture_output=True)
    subprocess.run(["docker", "rm", name], check=True, capture_output=True)


def wait_for(recorder: Recorder, name: str, count: int, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(recorder.lines_for(name)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # anything extra (a replayed duplicate) arrives too
    return recorder.lines_for(name)


def test_killed_and_restarted_the_recorder_loses_and_duplicates_nothing(tmp_path, docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    tag = uuid.uuid4().hex[:8]
    before, meanwhile, after = (f"bulkhead-it-ev-{tag}-{when}" for when in ("before", "meanwhile", "after"))
    recorder = Recorder(tmp_path)
    recorder.start()
    try:
        run_and_remove(before)
        recorded_before = wait_for(recorder, before, 1)
        assert recorded_before, "the recorder recorded nothing"
        recorder.kill()

        run_and_remove(meanwhile)  # while no recorder runs

        recorder.start()
        run_and_remove(after)
        for name in (before, meanwhile, after):
            lines = wait_for(recorder, name, len(recorded_before))
            actions = [line.split()[1] for line in lines]
            assert actions == [line.split()[1] for line in recorded_before], (name, lines)
            assert len(lines) == len(set(lines)), f"{name} recorded twice: {lines}"
    finally:
        if recorder.process and recorder.process.poll() is None:
            recorder.kill()
        for name in (before, meanwhile, after):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
