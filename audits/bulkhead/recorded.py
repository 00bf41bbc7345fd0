"""Containers that are not running any more but ran lately: the events recorder kept them (BH-1.7).

The collector's fact ``recorded_containers`` holds the inspect documents ``bulkhead-events`` kept on
the target, in the shape of the running containers' documents, plus ``Recorded`` (when each was
created, started, finished and removed). The registry's host form of every container check judges
these with the same function as running containers (``bulkhead.checks.registry``), so that a
container started with ``--pid host`` at 03:00 and removed at 03:01 fails 5.15 in the audit of
06:00, saying so: ``container debug-1 (removed, ran 03:00:12-03:01:40): ...``.

Which: every kept document whose container is not running now and whose last recorded event is
within the audit setting ``gone_containers_days`` (default 1: a daily schedule sees each once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState

# bulkhead.checks.containers.Container (not imported: the registry imports this module).
Container = dict[str, Any]


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def last_seen(container: Container) -> datetime | None:
    recorded = container.get("Recorded") or {}
    times = [_time(recorded.get(key)) for key in ("Created", "Started", "Finished", "Removed")]
    known = [moment for moment in times if moment is not None]
    return max(known) if known else None


def life_span(container: Container, present: bool, now: datetime | None = None) -> str:
    """``removed, ran 03:00:12-03:01:40`` (dates added when not today, UTC); ``stopped, ...`` if it is still there."""
    now = now or datetime.now(UTC)
    recorded = container.get("Recorded") or {}
    started, finished = _time(recorded.get("Started")), _time(recorded.get("Finished") or recorded.get("Removed"))
    what = "stopped" if present else "removed"

    def clock(moment: datetime, other: datetime | None = None) -> str:
        same_day = moment.date() == now.date() and (other is None or other.date() == moment.date())
        return moment.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S")

    if started is None:
        created = _time(recorded.get("Created"))
        return f"{what}, created {clock(created)}, never started" if created else f"{what}, never started"
    if finished is None:
        return f"{what}, ran from {clock(started)}"
    return f"{what}, ran {clock(started, finished)}-{clock(finished, started)}"


def gone_containers(state: HostState, settings: AuditConfig) -> list[tuple[Container, str]]:
    """(document, life span) of each kept container not running now, within the window.

    No ``recorded_containers`` fact (a state built by hand) means none; an unreadable one is an error."""
    entry = state.facts.get("recorded_containers")
    if entry is None or state.collection_error:
        return []
    if "error" in entry:
        raise FactUnavailable(f"recorded_containers: {entry['error']}")
    present = {container["Id"]: container for container in state.fact("containers")}
    since = datetime.now(UTC) - timedelta(days=settings.get("gone_containers_days"))
    found = []
    for container in entry["value"]:
        now = present.get(container["Id"])
        if now is not None and now["State"].get("Running"):
            continue  # running: judged as a running container
        seen = last_seen(container)
        if seen is None or seen < since:
            continue
        found.append((container, life_span(container, present=now is not None)))
    return sorted(found, key=lambda item: (str(item[0].get("Name")), str(item[0].get("Id"))))
