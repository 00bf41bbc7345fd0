"""collector/docker.py: which dockerd processes are this host's (on a fake /proc), and docker info per engine."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bulkhead.checks.daemon import dockerd_argv
from bulkhead.collector import docker, proc
from bulkhead.collector.facts import fact
from bulkhead.facts import HostState

ROOTLESS_MAP = "0 1000 1\n1 100000 65536"
OTHER_MNT = "mnt:[4026532999]"

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
def test_dockerd_processes_keeps_this_hosts_engines(fake_proc, processes, expected):
    found = docker.dockerd_processes(proc.take(fake_proc(processes)))
    assert [(entry["pid"], entry["rootless"], entry["host"]) for entry in found] == expected


def test_a_dockerd_whose_uid_map_cannot_be_read_is_left_out(fake_proc):
    root = fake_proc([INIT, HOST_DOCKERD, CUSTOM_SOCKET])
    os.remove(f"{root}/101/uid_map")
    assert [entry["pid"] for entry in docker.dockerd_processes(proc.take(root))] == [100]


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
    assert docker.is_rootless(uid, uid_map) is rootless


def test_dockerd_argv_ignores_an_engine_nested_in_a_container(fake_proc):
    processes = [INIT, NESTED_DOCKERD, HOST_DOCKERD, ROOTLESSKIT, ROOTLESSKIT_CHILD, ROOTLESS_DOCKERD]
    state = HostState("h", {"dockerd_processes": fact(docker.dockerd_processes, proc.take(fake_proc(processes)))})
    assert dockerd_argv(state) == HOST_DOCKERD["argv"]


def dockerd(pid: int, rootless: bool, argv: list[str], user: str = "root") -> dict[str, Any]:
    return {"pid": pid, "uid": 1000 if rootless else 0, "user": user, "rootless": rootless, "argv": argv}


ROOTFUL = dockerd(100, False, ["/usr/sbin/dockerd", "--icc=false"])
ROOTLESS = dockerd(202, True, ["dockerd"], user="alice")


def test_docker_info_runs_once_per_engine(monkeypatch):
    calls = []

    def run(argv):
        calls.append(argv)
        return '{"ServerVersion": "26.1"}' if "info" in argv else "abc web\n"

    monkeypatch.setattr(docker, "run", run)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    rootful = dict(ROOTFUL, host="unix:///var/run/docker.sock")
    rootless = dict(ROOTLESS, host="unix:///run/user/1000/docker.sock")
    engines = docker.docker_engines({"value": [rootful, rootless]}, {"value": {"ServerVersion": "27.0"}})
    assert [engine["info"]["ServerVersion"] for engine in engines] == ["27.0", "26.1"]
    assert [argv[2] for argv in calls if "info" in argv] == ["unix:///run/user/1000/docker.sock"]
    assert engines[0]["containers"] == {"abc": "web"}
    failed = docker.docker_engines({"value": [rootful]}, {"error": "permission denied"})
    assert failed[0]["info_error"] == "permission denied"


def test_tls_files_named_on_dockerd_command_line_or_in_daemon_json_are_stated(tmp_path, monkeypatch):
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text('{"tlskey": "/srv/tls/key.pem"}')
    monkeypatch.setattr(docker, "DAEMON_JSON", str(daemon_json))
    monkeypatch.setattr(docker, "DOCKER_FILES", [])
    monkeypatch.setattr(docker, "DOCKER_FILE_GLOBS", ())
    argv = ["dockerd", "--tlscacert", "/srv/tls/ca.pem", "--tlscert=/srv/tls/cert.pem", "--tlsverify"]
    stats = docker.docker_file_stats({"value": [dockerd(1, False, argv)]})
    assert sorted(stats) == ["/srv/tls/ca.pem", "/srv/tls/cert.pem", "/srv/tls/key.pem"]
    assert stats["/srv/tls/ca.pem"] == {"exists": False}
