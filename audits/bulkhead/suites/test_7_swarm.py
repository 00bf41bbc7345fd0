"""Swarm: applies only where the Docker engine takes part in a swarm."""

import pytest

from bulkhead.verdict import fail, fail_for_each, not_applicable


def _swarm_state(state) -> str:
    if not any(engine["kind"] == "docker" for engine in state.fact("engines")):
        not_applicable("no Docker engine on this host")
    return str((state.fact("docker_info").get("Swarm") or {}).get("LocalNodeState") or "inactive")


@pytest.mark.control("BH-7.1")
def test_swarm_mode_only_when_needed(state, audit_config):
    swarm = _swarm_state(state)
    if swarm != "inactive" and not audit_config.get("swarm_allowed"):
        fail(f"swarm mode is {swarm} but this fleet does not use swarm (set swarm_allowed: true if it does)")


@pytest.mark.control("BH-7.2")
def test_overlay_networks_encrypted(state):
    if _swarm_state(state) == "inactive":
        not_applicable("swarm mode is not enabled")
    fail_for_each(
        f"overlay network {network.get('Name')}: not encrypted (create it with --opt encrypted)"
        for network in state.fact("docker_networks")
        if network.get("Driver") == "overlay"
        and network.get("Name") != "ingress"
        and "encrypted" not in (network.get("Options") or {})
    )
