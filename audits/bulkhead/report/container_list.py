"""The names of a host's containers for the JSON report's host facts, so that drift between two
audits can say which containers appeared or went.

``state.host_summary`` keeps counts only; this list is built from the same collected state and
added beside it by the plugin. Names, engine and running state only: never environment, image
configuration or command lines.
"""

from __future__ import annotations

from typing import Any

from bulkhead.facts import HostState


def container_list(state: HostState) -> list[dict[str, Any]] | None:
    """``[{"name", "engine", "running"}]`` sorted by engine and name; None when containers are unreadable."""
    if state.collection_error:
        return None
    entry = state.facts.get("containers") or {}
    containers = entry.get("value")
    if containers is None:
        return None
    listed = [
        {
            "name": str(container.get("Name", "")),
            "engine": str(container.get("Engine") or "docker (rootful)"),
            "running": bool((container.get("State") or {}).get("Running")),
        }
        for container in containers
    ]
    return sorted(listed, key=lambda item: (item["engine"], item["name"]))
