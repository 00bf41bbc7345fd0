"""A host's state, gathered once per audit by running the collector (``bulkhead.collector``) on the target."""

from __future__ import annotations

import base64
import functools
import json
import time
import zlib
from pathlib import Path
from typing import Any

from bulkhead.facts import HostState
from bulkhead.fleet import HostTimeout, prepare_backend, timed_out

COLLECTOR_DIR = Path(__file__).parent / "collector"
# The name the collector's package takes on the target: never the auditing side's own package,
# even where the target's python3 could import bulkhead (auditing this machine, local://).
TARGET_PACKAGE = "bulkhead_collector"

# Runs on the target (Python 3.7+): serves the package's modules from MODULES, from memory, so that
# nothing is written there (no temporary file, no __pycache__), then prints the facts.
LOADER = """
import sys
from importlib.util import spec_from_loader


class CollectorModules:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in MODULES:
            return None
        return spec_from_loader(name, CollectorModules, origin=MODULES[name][1], is_package=MODULES[name][0])

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        exec(compile(MODULES[module.__name__][2], module.__spec__.origin, "exec"), module.__dict__)


sys.meta_path.insert(0, CollectorModules)
from bulkhead_collector.collect import main

main()
"""


def collector_modules() -> dict[str, tuple[bool, str, str]]:
    """{module name on the target: (is a package, file name, source)} for every module of the collector."""
    modules = {}
    for path in sorted(COLLECTOR_DIR.glob("*.py")):
        package = path.stem == "__init__"
        name = TARGET_PACKAGE if package else f"{TARGET_PACKAGE}.{path.stem}"
        modules[name] = (package, f"<bulkhead-collector>/{path.name}", path.read_text(encoding="utf-8"))
    return modules


def collector_program() -> str:
    """The program the target runs: the collector's modules as a literal, then the loader."""
    return f"MODULES = {collector_modules()!r}\n{LOADER}"


@functools.cache
def bootstrap_command() -> str:
    """One line for `python3 -c`: the program compressed and base64-encoded, so that no backend's
    quoting can mangle it (the same bytes for the same collector: no time or path in it)."""
    encoded = base64.b64encode(zlib.compress(collector_program().encode("utf-8"), 9)).decode("ascii")
    return (
        "import base64,zlib;"
        f"exec(compile(zlib.decompress(base64.b64decode('{encoded}')),'<bulkhead-collector>','exec'))"
    )


def _backends(testinfra_host: Any) -> list[Any]:
    """The backend, and for ansible:// the ssh/docker/local backend it hands the command to."""
    backend = testinfra_host.backend
    found = [backend]
    if getattr(backend, "NAME", "") == "ansible" and not backend.force_ansible:
        inner = backend.ansible_runner.get_host(
            backend.host, ssh_config=backend.ssh_config, ssh_identity_file=backend.ssh_identity_file
        )
        if inner is not None:
            found.append(inner.backend)
    return found


def collect(testinfra_host: Any, name: str, timeout: float | None = None, labels: tuple[str, ...] = ()) -> HostState:
    """The host's state in one round trip; with a timeout, a collection that outlasts it is an error.

    ``labels``: the container labels whose values the collector reports (``AuditConfig.label_names``);
    of every other label, only its name leaves the target."""
    started = time.monotonic()
    try:
        if timeout is not None:
            for backend in _backends(testinfra_host):
                prepare_backend(backend, timeout)
        if labels:  # one argument, comma-separated (the collector splits it)
            result = testinfra_host.run("python3 -c %s %s", bootstrap_command(), ",".join(labels))
        else:
            result = testinfra_host.run("python3 -c %s", bootstrap_command())
    except HostTimeout:
        return timed_out(name, timeout or 0, time.monotonic() - started)
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
    # The engine's authorization plugins and the admission gate's modes (bulkhead.gate.audit_notes).
    info = value("docker_info") or {}
    summary["authorization_plugins"] = (info.get("Plugins") or {}).get("Authorization") or []
    if value("gate_policy") is not None:
        summary["gate_policy"] = value("gate_policy")
    summary["unavailable_facts"] = sorted(name for name, entry in state.facts.items() if "error" in entry)
    return summary
