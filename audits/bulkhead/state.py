"""A host's state, gathered once per audit by running ``collector.py`` on the target."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from bulkhead.facts import HostState

# collector/engines.py (containers, images, engines) goes first: collect() in collector/host.py calls it.
COLLECTOR_SOURCE = "\n\n".join(
    (Path(__file__).parent / "collector" / name).read_text(encoding="utf-8") for name in ("engines.py", "host.py")
)


def _bootstrap_command() -> str:
    # The collector travels base64-encoded so that no backend's quoting can mangle it.
    encoded = base64.b64encode(COLLECTOR_SOURCE.encode("utf-8")).decode("ascii")
    return f"import base64;exec(compile(base64.b64decode('{encoded}'),'bulkhead-collector','exec'))"


def collect(testinfra_host: Any, name: str) -> HostState:
    started = time.monotonic()
    try:
        result = testinfra_host.run("python3 -c %s", _bootstrap_command())
    except Exception as error:  # backend failures (ssh refused, container gone) differ per backend
        return HostState(name, {}, time.monotonic() - started, f"cannot reach {name}: {error}")
    elapsed = time.monotonic() - started
    if result.rc != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.rc}"
        return HostState(name, {}, elapsed, f"state collection on {name} failed: {reason}")
    try:
        facts = json.loads(result.stdout)
    except ValueError as error:
        return HostState(name, {}, elapsed, f"state collection on {name} returned no JSON: {error}")
    return HostState(name, facts, elapsed)


def host_summary(state: HostState) -> dict[str, Any]:
    """Facts about the host for reports: engines, versions, counts, timings (no container detail)."""
    summary: dict[str, Any] = {"collection_seconds": round(state.seconds, 3)}
    if state.collection_error:
        summary["collection_error"] = state.collection_error
        return summary

    def value(name: str) -> Any:
        entry = state.facts.get(name) or {}
        return entry.get("value")

    containers = value("containers")
    images = value("images")
    engines = value("engines")
    summary["engines"] = [engine["engine"] for engine in engines] if engines is not None else None
    versions = value("engine_versions") or {}
    summary["engine_versions"] = {
        engine: (server or {}).get("Version") for engine, server in versions.items() if isinstance(server, dict)
    }
    if containers is not None:
        summary["containers"] = len(containers)
        summary["running_containers"] = sum(1 for container in containers if container["State"].get("Running"))
    if images is not None:
        summary["images"] = len(images)
    if value("kernel_security") is not None:
        summary["kernel_security"] = value("kernel_security")
    if value("engine_seconds") is not None:
        summary["engine_collection_seconds"] = value("engine_seconds")
    summary["unavailable_facts"] = sorted(name for name, entry in state.facts.items() if "error" in entry)
    return summary
