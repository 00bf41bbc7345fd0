"""User namespaces seen from the host: rootful and rootless engines, container id maps, subordinate ids.

Reads the collector's ``docker_engines``, ``container_id_maps`` and ``subordinate_ids`` facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bulkhead.checks.daemon import last_value
from bulkhead.facts import FactUnavailable, HostState

# The initial user namespace's map: the process is not in a user namespace of its own.
IDENTITY_MAP = [[0, 0, 4294967295]]

Range = tuple[int, int]  # (first id, count)


def engines(state: HostState) -> list[dict[str, Any]]:
    return list(state.fact("docker_engines"))


def rootful_engines(state: HostState) -> list[dict[str, Any]]:
    return [engine for engine in engines(state) if not engine["rootless"]]


def rootless_engines(state: HostState) -> list[dict[str, Any]]:
    return [engine for engine in engines(state) if engine["rootless"]]


def engine_info(engine: dict[str, Any]) -> dict[str, Any]:
    if "info" not in engine:
        raise FactUnavailable(f"{describe_engine(engine)} does not answer: {engine.get('info_error', 'no answer')}")
    return engine["info"]


def describe_engine(engine: dict[str, Any]) -> str:
    if engine["rootless"]:
        return f"the rootless engine of {engine['user']} (pid {engine['pid']})"
    return f"the rootful engine (pid {engine['pid']})"


def subordinate_ranges(state: HostState, kind: str, owner: str, uid: int) -> list[Range]:
    """The ranges of ``owner`` in /etc/<kind>; entries may name the owner or its numeric uid."""
    table = state.fact("subordinate_ids")[kind]
    return [(start, count) for key in (owner, str(uid)) for start, count in table.get(key, [])]


def unmapped_lines(id_map: Iterable[Sequence[int]], allowed: Iterable[Range]) -> list[Sequence[int]]:
    """Lines of a uid_map/gid_map whose host ids do not lie entirely inside one allowed range."""
    allowed = list(allowed)
    return [
        line
        for line in id_map
        if not any(start <= line[1] and line[1] + line[2] <= start + count for start, count in allowed)
    ]


def describe_map_line(line: Sequence[int]) -> str:
    inside, outside, count = line
    return f"{inside}-{inside + count - 1} -> {outside}-{outside + count - 1}"


def userns_remap_setting(state: HostState, engine: dict[str, Any]) -> tuple[str, str]:
    """(value, source) of userns-remap for a rootful engine: its command line, else daemon.json."""
    flag = last_value(engine["argv"], "--userns-remap")
    if flag is not None:
        return flag, "command line"
    settings = state.fact("daemon_json")["settings"]
    if settings.get("userns-remap"):
        return str(settings["userns-remap"]), "daemon.json"
    return "", "default"


def short_id(container: str) -> str:
    return container[:12] or "?"


def container_name(state: HostState, container: str) -> str:
    """``name (id)`` when an engine lists the container, else the short id."""
    for engine in engines(state):
        name = engine.get("containers", {}).get(container)
        if name:
            return f"{name} ({short_id(container)})"
    return short_id(container)
