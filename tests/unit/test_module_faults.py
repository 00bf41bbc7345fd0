"""A hardening run killed while it writes a managed file leaves the old or the new file, never a
partial one, and the next run completes; two runs at once serialise on the module's lock.

Each collection module runs for real (its own process, the real AnsibleModule reading an arguments
file) on real files in a temporary directory. A small runner pauses the process at one point of the
atomic write: half-way through writing the data, just before the rename, just after it. The test
then SIGKILLs the process (or lets it go on) and looks at the file.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "collections"
MODULES = COLLECTIONS / "ansible_collections" / "bulkhead" / "hardening" / "plugins" / "modules"

# Runs a module and pauses it at POINT while it writes TARGET: touches READY, waits for GO.
RUNNER = r"""
import os, runpy, sys, time

module, arguments, target, point, ready, go = sys.argv[1:7]
name = os.path.basename(target)


def pause():
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.02)


real_rename = os.rename


def rename(source, destination, *args, **kwargs):
    hit = os.path.abspath(destination) == target
    if hit and point == "before-rename":
        pause()
    real_rename(source, destination, *args, **kwargs)
    if hit and point == "after-rename":
        pause()


class HalfThenPause:
    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        half = len(data) // 2
        self.stream.write(data[:half])
        self.stream.flush()
        pause()
        return self.stream.write(data[half:])

    def __getattr__(self, attribute):
        return getattr(self.stream, attribute)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.stream.__exit__(*exc)


real_fdopen = os.fdopen


def fdopen(fd, *args, **kwargs):
    stream = real_fdopen(fd, *args, **kwargs)
    opened = os.path.basename(os.readlink("/proc/self/fd/%d" % fd))
    if point == "mid-write" and opened.startswith("." + name + "."):
        return HalfThenPause(stream)
    return stream


os.rename = rename
os.fdopen = fdopen
sys.argv = [module, arguments]
runpy.run_path(module, run_name="__main__")
"""

POINTS = ["mid-write", "before-rename", "after-rename"]


@dataclass
class Case:
    """One managed file: the module that writes it, its arguments, and how to make an old version."""

    module: str
    target: str  # relative to the case directory
    arguments: Callable[[Path], dict]
    prepare: Callable[[Path], None]


def _daemon_json_prepare(directory: Path) -> None:
    (directory / "units").mkdir()
    (directory / "units" / "docker.service").write_text("[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n")
    (directory / "daemon.json").write_text('{"data-root": "/srv/docker", "icc": true}\n')


def _rules_prepare(directory: Path) -> None:
    (directory / "etc-docker").mkdir()
    (directory / "bulkhead.rules").write_text("-w /etc/docker -p wa -k old_key\n")


def _containers_prepare(name: str, text: str) -> Callable[[Path], None]:
    return lambda directory: (directory / name).write_text(text)


def _subid_prepare(directory: Path) -> None:
    for name in ("subuid", "subgid"):
        (directory / name).write_text("someone:100000:65536\n")


def _baseline_prepare(directory: Path) -> None:
    (directory / "watched").write_text("version 1\n")
    (directory / "baseline.json").write_text("{}\n")


CASES = {
    "daemon.json": Case(
        "docker_daemon_config",
        "daemon.json",
        lambda d: {
            "path": str(d / "daemon.json"),
            "settings": {"icc": False, "live-restore": True, "log-level": "info", "no-new-privileges": True},
            "unit_search_paths": [str(d / "units")],
            "lock_timeout": 30,
        },
        _daemon_json_prepare,
    ),
    "audit rules": Case(
        "audit_rules",
        "bulkhead.rules",
        lambda d: {
            "path": str(d / "bulkhead.rules"),
            "controls": ["1.1.6"],
            "engine_paths": {"1.1.6": [str(d / "etc-docker")]},
            "kernel_status": False,
        },
        _rules_prepare,
    ),
    "policy.json": Case(
        "containers_config",
        "policy.json",
        lambda d: {
            "path": str(d / "policy.json"),
            "format": "json",
            "policy": True,
            "content": json.dumps({"default": [{"type": "reject"}]}, indent=4) + "\n",
        },
        _containers_prepare("policy.json", '{"default": [{"type": "insecureAcceptAnything"}]}\n'),
    ),
    "registries.conf": Case(
        "containers_config",
        "registries.conf",
        lambda d: {
            "path": str(d / "registries.conf"),
            "format": "toml",
            "content": 'unqualified-search-registries = ["registry.example.internal"]\nshort-name-mode = "enforcing"\n',
        },
        _containers_prepare("registries.conf", 'unqualified-search-registries = ["docker.io"]\n'),
    ),
    "subuid": Case(
        "subid",
        "subuid",
        lambda d: {"name": "daemon", "subuid_path": str(d / "subuid"), "subgid_path": str(d / "subgid")},
        _subid_prepare,
    ),
    "subgid": Case(
        "subid",
        "subgid",
        lambda d: {"name": "daemon", "subuid_path": str(d / "subuid"), "subgid_path": str(d / "subgid")},
        _subid_prepare,
    ),
    "baseline": Case(
        "integrity_baseline",
        "baseline.json",
        lambda d: {"path": str(d / "baseline.json"), "files": [str(d / "watched")]},
        _baseline_prepare,
    ),
}


class ModuleRun:
    """One module process, paused (or not) at a point of writing ``target``."""

    def __init__(self, directory: Path, case: Case, point: str, tag: str, arguments: dict | None = None):
        self.ready = directory / f".ready-{tag}"
        self.go = directory / f".go-{tag}"
        runner = directory / ".runner.py"
        runner.write_text(RUNNER)
        argument_file = directory / f".arguments-{tag}.json"
        argument_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": arguments or case.arguments(directory)}))
        environment = os.environ | {"PYTHONPATH": f"{COLLECTIONS}:{os.environ.get('PYTHONPATH', '')}"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(runner),
                str(MODULES / f"{case.module}.py"),
                str(argument_file),
                str(directory / case.target),
                point,
                str(self.ready),
                str(self.go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )

    def wait_until_paused(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"finished without reaching the pause: {self.process.communicate()}")
            assert time.monotonic() < deadline, "the module never reached the pause"
            time.sleep(0.02)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def release(self) -> None:
        self.go.touch()

    def result(self, timeout: float = 60) -> dict:
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, out + err
        return json.loads(out)


def complete_run(directory: Path, case: Case) -> dict:
    return ModuleRun(directory, case, "none", "complete").result()


def _snapshot(path: Path) -> tuple[bytes, int, int, int]:
    status = path.stat()
    return path.read_bytes(), status.st_mode & 0o7777, status.st_uid, status.st_gid


@pytest.mark.skipif(os.geteuid() != 0, reason="the modules set root ownership")
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_run_killed_while_writing_leaves_old_or_new_never_partial_and_the_next_run_completes(tmp_path, name, point):
    case = CASES[name]
    case.prepare(tmp_path)
    target = tmp_path / case.target
    old = target.read_bytes()

    run = ModuleRun(tmp_path, case, point, "killed")
    run.wait_until_paused()
    run.kill()
    left = target.read_bytes()
    # A killed write leaves at most its own hidden temporary file, never anything under the managed name.
    assert len([p for p in tmp_path.glob(f".{case.target}.*") if p.suffix != ".lock"]) <= 1

    rerun = complete_run(tmp_path, case)
    new = target.read_bytes()
    assert new != old
    if point == "after-rename":
        assert left == new, f"{name} after SIGKILL just after the rename: {left!r}"
    else:
        assert left == old, f"{name} after SIGKILL at {point}: {left!r}"
        assert rerun["changed"]
    assert complete_run(tmp_path, case)["changed"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="the modules set root ownership")
@pytest.mark.parametrize("name", ["daemon.json", "subuid"])
def test_two_runs_at_once_serialise_on_the_lock(tmp_path, name):
    """The second run waits while the first holds the lock mid-write; then both changes are there."""
    case = CASES[name]
    case.prepare(tmp_path)
    target = tmp_path / case.target
    old = _snapshot(target)
    first_arguments = case.arguments(tmp_path)
    second_arguments = case.arguments(tmp_path)
    if case.module == "docker_daemon_config":
        second_arguments["settings"] = {"userland-proxy": False}
    else:
        second_arguments["name"] = "bin"

    first = ModuleRun(tmp_path, case, "before-rename", "first", first_arguments)
    first.wait_until_paused()
    second = ModuleRun(tmp_path, case, "none", "second", second_arguments)
    time.sleep(1.5)
    assert second.process.poll() is None, "the second run did not wait for the first one's lock"
    assert _snapshot(target) == old

    first.release()
    assert first.result()["changed"]
    assert second.result()["changed"]
    text = target.read_text()
    if case.module == "docker_daemon_config":
        settings = json.loads(text)
        assert settings["icc"] is False and settings["userland-proxy"] is False
        assert settings["data-root"] == "/srv/docker"
    else:
        owners = [line.split(":")[0] for line in text.splitlines()]
        assert sorted(owners) == ["bin", "daemon", "someone"], text
    # Neither run's change is lost: one more run of each changes nothing.
    for arguments, tag in ((first_arguments, "again-1"), (second_arguments, "again-2")):
        assert ModuleRun(tmp_path, case, "none", tag, arguments).result()["changed"] is False
