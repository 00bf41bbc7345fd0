"""bulkhead.checks.swarm: BH-7.1 (swarm only when the fleet uses it) and BH-7.2 (encrypted overlays)."""

from __future__ import annotations

from typing import Any

import pytest
from checkcases import outcome

from bulkhead.facts import HostState

UNREADABLE = object()
DOCKER = [{"engine": "docker (rootful)", "kind": "docker"}]
PODMAN = [{"engine": "podman (rootful)", "kind": "podman"}]


def host(swarm: Any = "inactive", networks: Any = (), engines: Any = None) -> HostState:
    """``swarm`` is the LocalNodeState (or a whole docker_info document when it is a dict)."""
    info = swarm if isinstance(swarm, dict) or swarm is UNREADABLE else {"Swarm": {"LocalNodeState": swarm}}
    values = {"engines": DOCKER if engines is None else engines, "docker_info": info, "docker_networks": networks}
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": value}
            for name, value in values.items()
        },
    )


def overlay(name: str, options: Any = None, driver: str = "overlay") -> dict[str, Any]:
    return {"Name": name, "Driver": driver, "Options": options}


def swarm_on(state: str) -> list[str]:
    return [f"swarm mode is {state} but this fleet does not use swarm (set swarm_allowed: true if it does)"]


def unencrypted(name: str) -> str:
    return f"overlay network {name}: not encrypted (create it with --opt encrypted)"


# (control, host, settings, outcome, reasons)
CASES: list[tuple[str, HostState, dict[str, Any], str, list[str]]] = [
    ("BH-7.1", host("inactive"), {}, "pass", []),
    ("BH-7.1", host({}), {}, "pass", []),
    ("BH-7.1", host({"Swarm": None}), {}, "pass", []),
    ("BH-7.1", host(""), {}, "pass", []),
    ("BH-7.1", host("inactive"), {"swarm_allowed": True}, "pass", []),
    ("BH-7.1", host("active"), {}, "fail", swarm_on("active")),
    ("BH-7.1", host("pending"), {"swarm_allowed": False}, "fail", swarm_on("pending")),
    ("BH-7.1", host("active"), {"swarm_allowed": True}, "pass", []),
    ("BH-7.1", host("active", engines=PODMAN + DOCKER), {}, "fail", swarm_on("active")),
    ("BH-7.2", host("active"), {}, "pass", []),
    ("BH-7.2", host("active", [overlay("backend", {"encrypted": ""})]), {}, "pass", []),
    ("BH-7.2", host("active", [overlay("ingress")]), {}, "pass", []),  # Docker's routing mesh, not encryptable
    ("BH-7.2", host("active", [overlay("local", driver="bridge")]), {}, "pass", []),
    ("BH-7.2", host("active", [overlay("backend", {})]), {}, "fail", [unencrypted("backend")]),
    ("BH-7.2", host("pending", [overlay("backend")]), {}, "fail", [unencrypted("backend")]),
    ("BH-7.2", host("active", [overlay("b", {"com.docker.network.driver.overlay.vxlanid_list": "4097"}), overlay("a"), overlay("ok", {"encrypted": "true"})]), {"swarm_allowed": True}, "fail", [unencrypted("b"), unencrypted("a")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "state", "settings", "expected", "reasons"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_swarm_check(control_id, state, settings, expected, reasons):
    assert outcome(control_id, state, settings) == (expected, reasons)


def test_every_swarm_control_has_a_failing_and_a_passing_case():
    failing = {case[0] for case in CASES if case[3] == "fail"}
    passing = {case[0] for case in CASES if case[3] == "pass"}
    assert {"BH-7.1", "BH-7.2"} <= failing & passing


def test_swarm_checks_apply_only_to_an_active_swarm():
    inactive = host("inactive", [])
    assert outcome("BH-7.1", inactive)[0] == "pass"
    assert outcome("BH-7.2", inactive) == ("not_applicable", ["swarm mode is not enabled"])
    active = host("active", [overlay("backend", {})])
    assert outcome("BH-7.1", active)[0] == "fail"
    assert outcome("BH-7.2", active) == ("fail", [unencrypted("backend")])


@pytest.mark.parametrize("engines", [[], PODMAN])
@pytest.mark.parametrize("control_id", ["BH-7.1", "BH-7.2"])
def test_swarm_needs_a_docker_engine(control_id, engines):
    state = host(UNREADABLE, UNREADABLE, engines=engines)
    assert outcome(control_id, state) == ("not_applicable", ["no Docker engine on this host"])


@pytest.mark.parametrize(
    ("control_id", "state", "reason"),
    [
        ("BH-7.1", host(engines=UNREADABLE), "engines: permission denied"),
        ("BH-7.1", host(UNREADABLE), "docker_info: permission denied"),
        ("BH-7.2", host(UNREADABLE), "docker_info: permission denied"),
        ("BH-7.2", host("active", UNREADABLE), "docker_networks: permission denied"),
    ],
)
def test_an_unreadable_fact_is_an_error(control_id, state, reason):
    assert outcome(control_id, state) == ("error", [reason])


def test_overlay_networks_are_not_read_where_swarm_is_off():
    assert outcome("BH-7.2", host("inactive", UNREADABLE))[0] == "not_applicable"
