"""Swarm (BH-7.x): applies only where the Docker engine takes part in a swarm."""

from __future__ import annotations

from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState, NotApplicable


def swarm_state(state: HostState) -> str:
    """The Docker engine's swarm node state (``inactive``, ``active``, ``pending``...)."""
    if not any(engine["kind"] == "docker" for engine in state.fact("engines")):
        raise NotApplicable("no Docker engine on this host")
    return str((state.fact("docker_info").get("Swarm") or {}).get("LocalNodeState") or "inactive")


def swarm_only_when_needed(state: HostState, settings: AuditConfig) -> Findings:
    swarm = swarm_state(state)
    if swarm == "inactive" or settings.get("swarm_allowed"):
        return []
    return [f"swarm mode is {swarm} but this fleet does not use swarm (set swarm_allowed: true if it does)"]


def overlay_networks_encrypted(state: HostState, settings: AuditConfig) -> Findings:
    if swarm_state(state) == "inactive":
        raise NotApplicable("swarm mode is not enabled")
    return [
        f"overlay network {network.get('Name')}: not encrypted (create it with --opt encrypted)"
        for network in state.fact("docker_networks")
        if network.get("Driver") == "overlay"
        and network.get("Name") != "ingress"
        and "encrypted" not in (network.get("Options") or {})
    ]


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "BH-7.1": HostCheck(swarm_only_when_needed),
    "BH-7.2": HostCheck(overlay_networks_encrypted),
}
