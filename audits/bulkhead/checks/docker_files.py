"""CIS Docker Benchmark section 3: Docker daemon configuration files (owners and modes, bitwise).

Each file (or set of files) has two controls, one for its owner and group and one for its mode;
both are made from one row of ``FILES``. What the files are comes first, so that an engine whose
TLS paths cannot be read is an error before the file stats are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from bulkhead.checks.files import certs_d_files, check_files, tls_path, unit_paths
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState

DAEMON_JSON = "/etc/docker/daemon.json"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CERTS_D = "certs.d"  # Files.source: every file under /etc/docker/certs.d


@dataclass(frozen=True)
class Files:
    owner_control: str
    mode_control: str
    source: str | tuple[str, ...]  # fixed paths, a TLS key of dockerd (tlscacert ...), or CERTS_D
    what: str  # names the files in "no {what} on this host"
    ceiling: int
    group: str = "root"


FILES = (
    Files("3.1", "3.2", tuple(unit_paths("docker.service")), "docker.service", 0o644),
    Files("3.3", "3.4", tuple(unit_paths("docker.socket")), "docker.socket unit", 0o644),
    Files("3.5", "3.6", ("/etc/docker",), "/etc/docker", 0o755),
    Files("3.7", "3.8", CERTS_D, "registry certificate in /etc/docker/certs.d", 0o444),
    Files("3.9", "3.10", "tlscacert", "TLS CA certificate configured", 0o444),
    Files("3.11", "3.12", "tlscert", "server certificate configured", 0o444),
    Files("3.13", "3.14", "tlskey", "server key configured", 0o400),
    Files("3.15", "3.16", ("/var/run/docker.sock",), "Docker socket", 0o660, group="docker"),
    Files("3.17", "3.18", (DAEMON_JSON,), "daemon.json", 0o644),
    Files("3.19", "3.20", ("/etc/default/docker",), "/etc/default/docker", 0o644),
    Files("3.21", "3.22", ("/etc/sysconfig/docker",), "/etc/sysconfig/docker", 0o644),
    Files("3.23", "3.24", (CONTAINERD_SOCKET,), "containerd socket", 0o660),
)


def paths_of(state: HostState, files: Files) -> list[str]:
    if isinstance(files.source, tuple):
        return list(files.source)
    if files.source == CERTS_D:
        return certs_d_files(state)
    return tls_path(state, files.source)


def owner_and_group(state: HostState, settings: AuditConfig, files: Files) -> Findings:
    return check_files(state, paths_of(state, files), files.what, owner="root", group=files.group)


def mode(state: HostState, settings: AuditConfig, files: Files) -> Findings:
    return check_files(state, paths_of(state, files), files.what, ceiling=files.ceiling)


# Control ID -> the function that judges it (registered by bulkhead.checks). Module-level functions
# with their row bound, not closures made at import: mutation testing reaches only the former.
CHECKS = {
    control_id: HostCheck(partial(judge, files=files))
    for files in FILES
    for control_id, judge in ((files.owner_control, owner_and_group), (files.mode_control, mode))
}
