"""Ownership and mode checks on the engine's files, from the collector's ``docker_file_stats``.

Modes are ceilings compared bitwise: "0644 or more restrictive" means no permission bit outside
0644, so 0600 passes and 0654 fails. A file that does not exist on the host is not applicable.
"""

from __future__ import annotations

from collections.abc import Iterable

from bulkhead.checks.daemon import command_line_value, dockerd_argv
from bulkhead.facts import FactUnavailable, HostState
from bulkhead.verdict import fail_for_each, not_applicable

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def unit_paths(unit: str) -> list[str]:
    return [f"{directory}/{unit}" for directory in UNIT_DIRS]


def certs_d_files(state: HostState) -> list[str]:
    return sorted(path for path in state.fact("docker_file_stats") if path.startswith("/etc/docker/certs.d/"))


def tls_path(state: HostState, key: str) -> list[str]:
    """The TLS file daemon.json or dockerd's command line names for ``key`` (tlscacert, tlscert, tlskey)."""
    value = command_line_value(dockerd_argv(state), key, boolean=False)
    if value is None:
        value = state.fact("daemon_json")["settings"].get(key)
    return [value] if isinstance(value, str) and value else []


def check_files(
    state: HostState,
    paths: Iterable[str],
    what: str,
    *,
    owner: str | None = None,
    group: str | None = None,
    ceiling: int | None = None,
) -> None:
    stats = state.fact("docker_file_stats")
    existing = []
    for path in paths:
        if path not in stats:
            raise FactUnavailable(f"the collector did not stat {path}")
        if stats[path]["exists"]:
            existing.append(path)
    if not existing:
        not_applicable(f"no {what} on this host")
    findings = []
    for path in existing:
        entry = stats[path]
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
    fail_for_each(findings)
