"""Ownership and mode checks on the engine's files, from the collector's ``docker_file_stats``.

Modes are ceilings compared bitwise: "0644 or more restrictive" means no permission bit outside
0644, so 0600 passes and 0654 fails. A file that does not exist on the host is not applicable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bulkhead.checks.daemon import daemon_json_settings, dockerd_argv, last_value
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def unit_paths(unit: str) -> list[str]:
    return [f"{directory}/{unit}" for directory in UNIT_DIRS]


def certs_d_files(state: HostState) -> list[str]:
    return sorted(path for path in state.fact("docker_file_stats") if path.startswith("/etc/docker/certs.d/"))


def tls_path(state: HostState, key: str) -> list[str]:
    """The TLS file daemon.json or dockerd's command line names for ``key`` (tlscacert, tlscert, tlskey)."""
    value = last_value(dockerd_argv(state), f"--{key}")
    if value is None:
        value = daemon_json_settings(state).get(key)
    return [value] if isinstance(value, str) and value else []


def check_files(
    state: HostState,
    paths: Iterable[str],
    what: str,
    *,
    owner: str | None = None,
    group: str | None = None,
    ceiling: int | None = None,
) -> list[str]:
    """Findings for each existing file of ``paths`` (``what`` names them when none exists)."""
    stats = state.fact("docker_file_stats")
    existing = []
    for path in paths:
        if path not in stats:
            raise FactUnavailable(f"the collector did not stat {path}")
        if stats[path]["exists"]:
            existing.append(path)
    if not existing:
        raise NotApplicable(f"no {what} on this host")
    findings = []
    for path in existing:
        findings.extend(_file_findings(path, stats[path], owner, group, ceiling))
    return findings


def _file_findings(
    path: str, entry: dict[str, Any], owner: str | None, group: str | None, ceiling: int | None
) -> list[str]:
    findings = []
    if owner is not None and entry["owner"] != owner:
        findings.append(f"{path} is owned by user {entry['owner']}, not {owner}")
    if group is not None and entry["group"] != group:
        findings.append(f"{path} is owned by group {entry['group']}, not {group}")
    if ceiling is not None:
        mode = int(entry["mode"], 8)
        if mode & ~ceiling:
            findings.append(
                f"{path} has mode {entry['mode']}, looser than {ceiling:04o} (extra bits {mode & ~ceiling:04o})"
            )
    return findings
