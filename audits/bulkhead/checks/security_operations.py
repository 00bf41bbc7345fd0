"""CIS Docker Benchmark section 6: image and container sprawl, against the fleet's thresholds."""

from __future__ import annotations

from bulkhead.checks.containers import all_containers, image_name
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState

# A sprawl finding names this many images or containers, then "...".
NAMES_SHOWN = 10


def _shown(names: list[str]) -> str:
    return ", ".join(names[:NAMES_SHOWN]) + (" ..." if len(names) > NAMES_SHOWN else "")


def image_sprawl(state: HostState, settings: AuditConfig) -> Findings:
    limit = settings.get("max_unused_images")
    used = {container["Image"] for container in all_containers(state)}
    unused = sorted(image_name(image) for image in state.fact("images") if image["Id"] not in used)
    if len(unused) <= limit:
        return []
    return [f"{len(unused)} images are used by no container (limit {limit}): {_shown(unused)}"]


def container_sprawl(state: HostState, settings: AuditConfig) -> Findings:
    limit = settings.get("max_stopped_containers")
    stopped = sorted(container["Name"] for container in all_containers(state) if not container["State"].get("Running"))
    if len(stopped) <= limit:
        return []
    return [f"{len(stopped)} stopped containers (limit {limit}): {_shown(stopped)}"]


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "6.1": HostCheck(image_sprawl),
    "6.2": HostCheck(container_sprawl),
}
