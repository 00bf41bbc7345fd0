"""CIS Docker Benchmark section 3: Docker daemon configuration files (owners and modes, bitwise).

Each file (or set of files) has two controls, one for its owner and group and one for its mode;
both are made from one row of ``FILES``. What the files are comes first, so that an engine whose
TLS paths cannot be read is an error before the file stats are looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bulkhead.checks.files import certs_d_files, check_files, tls_path, unit_paths
from bulkhead.checks.registry import Findings, HostCheck, HostJudge
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState

DAEMON_JSON = "/etc/docker/daemon.json"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"

Paths = Callable[[HostState], list[str]]


def fixed(*paths: str) -> Paths:
    return lambda _state: list(paths)


def tls_file(key: str) -> Paths:
    return lambda state: tls_path(state, key)


@dataclass(frozen=True)
class Files:
    owner_control: str
    mode_control: str
    paths: Paths
    what: str  # names the files in "no {what} on this host"
    ceiling: int
    group: str = "root"


FILES = (
    Files("3.1", "3.2", fixed(*unit_paths("docker.service")), "docker.service", 0o644),
    Files("3.3", "3.4", fixed(*unit_paths("docker.socket")), "docker.socket unit", 0o644),
    Files("3.5", "3.6", fixed("/etc/docker"), "/etc/docker", 0o755),
    Files("3.7", "3.8", certs_d_files, "registry certificate in /etc/docker/certs.d", 0o444),
    Files("3.9", "3.10", tls_file("tlscacert"), "TLS CA certificate configured", 0o444),
    Files("3.11", "3.12", tls_file("tlscert"), "server certificate configured", 0o444),
    Files("3.13", "3.14", tls_file("tlskey"), "server key configured", 0o400),
    Files("3.15", "3.16", fixed("/var/run/docker.sock"), "Docker socket", 0o660, group="docker"),
    Files("3.17", "3.18", fixed(DAEMON_JSON), "daemon.json", 0o644),
    Files("3.19", "3.20", fixed("/etc/default/docker"), "/etc/default/docker", 0o644),
    Files("3.21", "3.22", fixed("/etc/sysconfig/docker"), "/etc/sysconfig/docker", 0o644),
    Files("3.23", "3.24", fixed(CONTAINERD_SOCKET), "containerd socket", 0o660),
)


def owner_check(files: Files) -> HostJudge:
    def check(state: HostState, settings: AuditConfig) -> Findings:
        return check_files(state, files.paths(state), files.what, owner="root", group=files.group)

    return check


def mode_check(files: Files) -> HostJudge:
    def check(state: HostState, settings: AuditConfig) -> Findings:
        return check_files(state, files.paths(state), files.what, ceiling=files.ceiling)

    return check


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    control_id: HostCheck(make(files))
    for files in FILES
    for control_id, make in ((files.owner_control, owner_check), (files.mode_control, mode_check))
}
