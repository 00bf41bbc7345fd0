"""Section 5 checks on inspect documents: what real containers cannot show here.

``--privileged`` fails on our VMs and their kernel has neither AppArmor nor SELinux, so 5.4, 5.1 and
5.2 are verified here on documents shaped like the collector's (``slim_container`` of a real
``docker inspect``), next to the integration tests that run real containers for the other checks.
"""

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.collector import engines
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

DOCKER = {"kind": "docker", "mode": "rootful", "user": None, "cli": ["docker"], "env": {}, "socket": None}


def inspect(name="web", **host_config):
    """A `docker inspect` document of a running container (the fields Docker 20.10 writes)."""
    return {
        "Id": f"{name}-id",
        "Name": f"/{name}",
        "Image": "sha256:img",
        "State": {"Status": "running", "Running": True, "Pid": 0},
        "Config": {"User": "", "Image": "busybox", "Env": ["PASSWORD=hunter2", "PATH=/bin"]},
        "HostConfig": {"CapAdd": None, "CapDrop": None, "SecurityOpt": None, "NetworkMode": "default"} | host_config,
        "AppArmorProfile": "docker-default",
        "ProcessLabel": "",
        "Mounts": [],
        "NetworkSettings": {"Ports": {}, "Networks": {"bridge": {}}},
    }


def state_of(*documents, apparmor=False, selinux=False, cgroup_version=2, engine=DOCKER, **facts):
    containers = [engines.slim_container(document, engine) for document in documents]
    all_facts = {
        "containers": {"value": containers},
        "images": {"value": []},
        "kernel_security": {"value": {"apparmor": apparmor, "selinux": selinux, "cgroup_version": cgroup_version}},
        "dockerd_processes": {"value": [{"pid": 1, "uid": 0, "user": "root", "rootless": False, "argv": ["dockerd"]}]},
        "daemon_json": {"value": {"exists": False, "settings": {}}},
        "engines": {"value": [{"engine": "docker (rootful)", "kind": "docker"}]},
    }
    all_facts.update({name: {"value": value} for name, value in facts.items()})
    return HostState("test", all_facts)


def judged(control_id, state):
    """A registered check's outcome on a host, as the audit reports it."""
    try:
        findings = REGISTRY[control_id].judge(state, AuditConfig())
    except NotApplicable as reason:
        return "not_applicable", [str(reason)]
    return ("fail", findings) if findings else ("pass", [])


def test_a_privileged_container_fails_5_4_and_keeps_net_raw():
    state = state_of(inspect("admin", Privileged=True), inspect("app", Privileged=False, CapDrop=["NET_RAW"]))
    assert judged("5.4", state) == ("fail", ["container admin: runs --privileged"])
    assert judged("BH-5.10", state) == ("fail", ["container admin: keeps NET_RAW (privileged)"])


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (inspect(SecurityOpt=["apparmor=unconfined"]), "fail"),
        (inspect() | {"AppArmorProfile": "unconfined"}, "fail"),
        (inspect() | {"AppArmorProfile": ""}, "fail"),
        (inspect(), "pass"),
    ],
)
def test_apparmor_5_1_where_the_host_has_apparmor(document, expected):
    assert judged("5.1", state_of(document, apparmor=True))[0] == expected


def test_apparmor_and_selinux_do_not_apply_where_the_kernel_has_neither():
    state = state_of(inspect(SecurityOpt=["apparmor=unconfined", "label=disable"]))
    assert judged("5.1", state)[0] == "not_applicable"
    assert judged("5.2", state)[0] == "not_applicable"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (inspect(SecurityOpt=["label=disable"]) | {"ProcessLabel": "x"}, "runs with label=disable"),
        (inspect() | {"ProcessLabel": ""}, "runs without an SELinux process label"),
    ],
)
def test_selinux_5_2_where_the_host_has_selinux(document, reason):
    status, lines = judged("5.2", state_of(document, selinux=True))
    assert status == "fail" and lines[0].startswith(f"container web: {reason}")


def test_no_new_privileges_explicit_false_fails_even_when_the_daemon_sets_it():
    state = state_of(
        inspect("off", SecurityOpt=["no-new-privileges:false"]),
        inspect("inherits"),
        daemon_json={"exists": True, "settings": {"no-new-privileges": True}},
    )
    assert judged("5.25", state) == (
        "fail",
        ["container off: sets no-new-privileges=false explicitly"],
    )


def test_a_rootless_memory_limit_on_cgroup_v1_is_not_a_pass():
    rootless = DOCKER | {"mode": "rootless", "user": "alice"}
    state = state_of(inspect(Memory=268435456), cgroup_version=1, engine=rootless)
    status, lines = judged("5.10", state)
    assert status == "fail"
    assert lines == ["container web [docker (rootless, user alice)]: memory limit 256 MiB is NOT enforced "
                     "(rootless engine on cgroup v1)"]  # fmt: skip


def test_no_running_container_makes_runtime_checks_not_applicable():
    assert judged("5.4", state_of())[0] == "not_applicable"


def test_an_unreadable_container_list_is_an_error():
    state = HostState("test", {"containers": {"error": "docker (rootful): docker ps failed: permission denied"}})
    with pytest.raises(FactUnavailable, match="permission denied"):
        REGISTRY["5.4"].judge(state, AuditConfig())
