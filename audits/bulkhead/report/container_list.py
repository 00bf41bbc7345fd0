"""The names of a host's containers for the JSON report's host facts, so that drift between two
audits can say which containers appeared or went.

``state.host_summary`` keeps counts only; this list is built from the same collected state and
added beside it by the plugin. Names, engine and running state only: never environment, image
configuration or command lines.

Containers that are no longer there but that the events recorder kept (``bulkhead.recorded``: they
ran within the window and were judged like running ones) are listed too, with ``"gone": true`` and
their life span (``removed, ran 03:00:12-03:01:40``): every report tells running, stopped and gone
containers apart.
"""

from __future__ import annotations

from typing import Any

from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState
from bulkhead.recorded import gone_containers


def container_list(state: HostState, settings: AuditConfig | None = None) -> list[dict[str, Any]] | None:
    """``[{"name", "engine", "running", "gone"}]`` sorted by engine and name; None when containers are unreadable.

    Gone containers also carry ``ran`` (their life span); an unreadable record of them lists none."""
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
            "gone": False,
        }
        for container in containers
    ]
    present = {container.get("Id") for container in containers}
    try:
        gone = gone_containers(state, settings or AuditConfig())
    except FactUnavailable:
        gone = []
    listed += [
        {
            "name": str(container.get("Name", "")),
            "engine": str(container.get("Engine") or "docker (rootful)"),
            "running": False,
            "gone": True,
            "ran": span,
        }
        for container, span in gone
        if container.get("Id") not in present
    ]
    return sorted(listed, key=lambda item: (item["engine"], item["name"]))
