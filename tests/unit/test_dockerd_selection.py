"""Which dockerd is this host's: the collector's /proc walk on a fake tree, and dockerd_argv's choice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bulkhead.checks.daemon import dockerd_argv
from bulkhead.collector import host as collector
from bulkhead.facts import FactUnavailable, HostState

IDENTITY = "0 0 4294967295"
ROOTLESS_MAP = "0 1000 1\n1 100000 65536"
HOST_MNT = "mnt:[4026531841]"
OTHER_MNT = "mnt:[4026532999]"


def fake_proc(root, processes: list[dict[str, Any]]) -> str:
    """A /proc with cmdline, status, uid_map and ns/mnt for each process, and self/ns/mnt."""
    (root / "self" / "ns").mkdir(parents=True)
    (root / "self" / "ns" / "mnt").symlink_to(HOST_MNT)
    for process in processes:
        directory = root / str(process["pid"])
        (directory / "ns").mkdir(parents=True)
        (directory / "cmdline").write_bytes(b"\0".join(part.encode() for part in process["argv"]) + b"\0")
        uid = process.get("uid", 0)
        (directory / "status").write_text(f"Name:\tx\nPPid:\t{process.get('ppid', 1)}\nUid:\t{uid} {uid}\nGid:\t0 0\n")
        (directory / "uid_map").write_text(process.get("uid_map", IDENTITY) + "\n")
        (directory / "ns" / "mnt").symlink_to(process.get("mnt", HOST_MNT))
    return str(root)


INIT = {"pid": 1, "argv": ["/sbin/init"], "ppid": 0}
HOST_DOCKERD = {"pid": 100, "argv": ["/usr/sbin/dockerd", "-H", "fd://"]}
CUSTOM_SOCKET = {"pid": 101, "argv": ["/usr/sbin/dockerd", "--host=unix:///srv/docker.sock"]}
# rootlesskit (host user namespace, host mount namespace) -> its child in the user namespace -> dockerd
ROOTLESSKIT = {"pid": 200, "argv": ["rootlesskit", "dockerd"], "uid": 1000}
ROOTLESSKIT_CHILD = {"pid": 201, "argv": ["/proc/self/exe"], "uid": 1000, "uid_map": ROOTLESS_MAP, "ppid": 200}
ROOTLESS_DOCKERD = {
    "pid": 202,
    "argv": ["dockerd"],
    "uid": 1000,
    "uid_map": ROOTLESS_MAP,
    "ppid": 201,
    "mnt": "mnt:[4026532500]",
}
# A privileged test container's engine: root in the initial user namespace, another mount namespace.
NESTED_DOCKERD = {"pid": 50, "argv": ["/usr/sbin/dockerd", "-H", "fd://"], "mnt": OTHER_MNT, "ppid": 49}
# A rootless engine inside a container: its rootlesskit sits in the container's mount namespace.
NESTED_ROOTLESSKIT = {"pid": 300, "argv": ["rootlesskit", "dockerd"], "uid": 1000, "mnt": OTHER_MNT}
NESTED_ROOTLESS_DOCKERD = {"pid": 301, "argv": ["dockerd"], "uid": 1000, "uid_map": ROOTLESS_MAP, "ppid": 300}
CONTAINERD = {"pid": 90, "argv": ["/usr/bin/containerd"]}


@pytest.mark.parametrize(
    ("processes", "expected"),
    [
        pytest.param([INIT, CONTAINERD], [], id="no-dockerd"),
        pytest.param([INIT, HOST_DOCKERD], [(100, False, "unix:///var/run/docker.sock")], id="rootful"),
        pytest.param([INIT, CUSTOM_SOCKET], [(101, False, "unix:///srv/docker.sock")], id="rootful-own-socket"),
        pytest.param(
            [INIT, ROOTLESSKIT, ROOTLESSKIT_CHILD, ROOTLESS_DOCKERD],
            [(202, True, "unix:///run/user/1000/docker.sock")],
            id="rootless-without-flag",
        ),
        pytest.param([INIT, NESTED_DOCKERD], [], id="nested-rootful-skipped"),
        pytest.param([INIT, NESTED_ROOTLESSKIT, NESTED_ROOTLESS_DOCKERD], [], id="nested-rootless-skipped"),
        pytest.param(
            [INIT, NESTED_DOCKERD, HOST_DOCKERD, ROOTLESSKIT, ROOTLESSKIT_CHILD, ROOTLESS_DOCKERD],
            [(100, False, "unix:///var/run/docker.sock"), (202, True, "unix:///run/user/1000/docker.sock")],
            id="all-together",
        ),
    ],
)
def test_dockerd_processes_keeps_this_hosts_engines(tmp_path, monkeypatch, processes, expected):
    monkeypatch.setattr(collector, "PROC", fake_proc(tmp_path, processes))
    found = collector.dockerd_processes()
    assert [(entry["pid"], entry["rootless"], entry["host"]) for entry in found] == expected


@pytest.mark.parametrize(
    ("uid", "uid_map", "rootless"),
    [
        (0, [[0, 0, 4294967295]], False),
        (1000, [[0, 0, 4294967295]], True),  # a plain user's dockerd
        (1000, [[0, 1000, 1], [1, 100000, 65536]], True),  # rootlesskit's user namespace
        (0, [[0, 100000, 65536]], True),  # root inside a user namespace is not the host's root
    ],
)
def test_rootless_is_decided_by_uid_and_uid_map(uid, uid_map, rootless):
    assert collector.is_rootless(uid, uid_map) is rootless


def dockerd(pid: int, rootless: bool, argv: list[str], user: str = "root") -> dict[str, Any]:
    return {"pid": pid, "uid": 1000 if rootless else 0, "user": user, "rootless": rootless, "argv": argv}


ROOTFUL = dockerd(100, False, ["/usr/sbin/dockerd", "--icc=false"])
ROOTLESS = dockerd(202, True, ["dockerd"], user="alice")  # no --rootless flag: the old choice took it


@pytest.mark.parametrize(
    ("processes", "expected"),
    [
        pytest.param([ROOTFUL], ROOTFUL["argv"], id="rootful"),
        pytest.param([ROOTLESS, ROOTFUL], ROOTFUL["argv"], id="rootless-listed-first"),
        pytest.param([], "no dockerd process runs on this host", id="none"),
        pytest.param([ROOTLESS], "only rootless ones: alice (pid 202)", id="only-rootless"),
        pytest.param(
            [ROOTFUL, dockerd(101, False, ["dockerd"])],
            "several rootful dockerd processes run on this host (pids 100, 101)",
            id="two",
        ),
    ],
)
def test_dockerd_argv_takes_the_one_rootful_engine(processes, expected):
    state = HostState("h", {"dockerd_processes": {"value": processes}})
    if isinstance(expected, list):
        assert dockerd_argv(state) == expected
    else:
        with pytest.raises(FactUnavailable, match=re.escape(expected)):
            dockerd_argv(state)


def test_dockerd_argv_ignores_an_engine_nested_in_a_container(tmp_path, monkeypatch):
    processes = [INIT, NESTED_DOCKERD, HOST_DOCKERD, ROOTLESSKIT, ROOTLESSKIT_CHILD, ROOTLESS_DOCKERD]
    monkeypatch.setattr(collector, "PROC", fake_proc(tmp_path, processes))
    state = HostState("h", {"dockerd_processes": collector.fact(collector.dockerd_processes)})
    assert dockerd_argv(state) == HOST_DOCKERD["argv"]


def test_docker_info_runs_once_per_engine(monkeypatch):
    calls = []

    def run(argv):
        calls.append(argv)
        return '{"ServerVersion": "26.1"}' if "info" in argv else "abc web\n"

    monkeypatch.setattr(collector, "run", run)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    rootful = dict(ROOTFUL, host="unix:///var/run/docker.sock")
    rootless = dict(ROOTLESS, host="unix:///run/user/1000/docker.sock")
    engines = collector.docker_engines({"value": [rootful, rootless]}, {"value": {"ServerVersion": "27.0"}})
    assert [engine["info"]["ServerVersion"] for engine in engines] == ["27.0", "26.1"]
    assert [argv[2] for argv in calls if "info" in argv] == ["unix:///run/user/1000/docker.sock"]
    assert engines[0]["containers"] == {"abc": "web"}
    failed = collector.docker_engines({"value": [rootful]}, {"error": "permission denied"})
    assert failed[0]["info_error"] == "permission denied"
