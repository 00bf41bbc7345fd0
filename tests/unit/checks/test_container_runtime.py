"""bulkhead.checks.container_runtime: each section-5 check on hand-written container documents.

Documents have the collector's normalised shape (``collector/engines.py`` ``slim_container``). Every
control has cases that fail and pass, edges included; the host form (every running container of a
host, named) is tested once at the end.
"""

from __future__ import annotations

from typing import Any

import pytest
from checkcases import outcome

from bulkhead.checks import REGISTRY, Context, judge_container
from bulkhead.checks.containers import ContainerIndex
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

HOST = Context(cgroup_version=2, apparmor=True, selinux=True, daemon_no_new_privileges=False, processes={})


def container(
    name: str = "web", *, engine: tuple[str, str] = ("docker", "rootful"), **overrides: Any
) -> dict[str, Any]:
    """A running container that passes every section-5 check; ``overrides`` break one thing."""
    kind, mode = engine
    document: dict[str, Any] = {
        "Id": f"{name}-id",
        "Name": name,
        "Engine": f"{kind} ({mode})",
        "EngineKind": kind,
        "EngineMode": mode,
        "Image": "sha256:img",
        "Config": {
            "User": "1000",
            "Image": "registry.example.com/app@sha256:abc",
            "Healthcheck": {"Test": ["CMD", "true"]},
        },
        "HostConfig": {
            "Privileged": False,
            "CapAdd": None,
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "NetworkMode": "app-net",
            "PidMode": "",
            "IpcMode": "private",
            "UTSMode": "",
            "UsernsMode": "",
            "Memory": 67108864,
            "CpuShares": 512,
            "NanoCpus": 0,
            "CpuQuota": 0,
            "CpusetCpus": "",
            "PidsLimit": 64,
            "ReadonlyRootfs": True,
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
            "CgroupParent": "",
            "Devices": [],
        },
        "State": {"Status": "running", "Running": True, "Pid": 42, "Health": "healthy"},
        "AppArmorProfile": "docker-default",
        "ProcessLabel": "system_u:system_r:container_t:s0:c1,c2",
        "Mounts": [],
        "Ports": {},
        "Networks": ["app-net"],
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            document[section][field] = value
        else:
            document[section] = value
    return document


def bind(source: str, destination: str, *, rw: bool = False, propagation: str = "rprivate") -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Destination": destination, "RW": rw, "Propagation": propagation}


def ports(address: str, host_port: str, container_port: str = "8080/tcp") -> dict[str, Any]:
    return {container_port: [{"HostIp": address, "HostPort": host_port}]}


ROOTLESS_DOCKER = ("docker", "rootless")
ROOTLESS_PODMAN = ("podman", "rootless")

# (control, container, context overrides, the reasons the check must give: [] is a pass)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("5.1", container(), {}, []),
    ("5.1", container(HostConfig__SecurityOpt=["apparmor=unconfined"]), {}, ["runs with apparmor=unconfined"]),
    ("5.1", container(HostConfig__SecurityOpt=["apparmor:unconfined"]), {}, ["runs with apparmor=unconfined"]),
    ("5.1", container(AppArmorProfile="unconfined"), {}, ["runs with apparmor=unconfined"]),
    ("5.1", container(AppArmorProfile=""), {}, ["runs without an AppArmor profile"]),
    ("5.1", container(AppArmorProfile=None), {}, ["runs without an AppArmor profile"]),
    ("5.1", container(AppArmorProfile="", engine=ROOTLESS_PODMAN), {}, []),
    ("5.1", container(AppArmorProfile="", engine=("podman", "rootful")), {}, ["runs without an AppArmor profile"]),
    ("5.1", container(AppArmorProfile="", engine=ROOTLESS_DOCKER), {}, ["runs without an AppArmor profile"]),
    ("5.2", container(), {}, []),
    ("5.2", container(HostConfig__SecurityOpt=["label=disable"]), {}, ["runs with label=disable (SELinux confinement off)"]),
    ("5.2", container(HostConfig__SecurityOpt=["label:type:spc_t"]), {}, ["runs with label=type:spc_t (SELinux confinement off)"]),
    ("5.2", container(HostConfig__SecurityOpt=["label=level:s0"]), {}, []),
    ("5.2", container(ProcessLabel=""), {}, ["runs without an SELinux process label"]),
    ("5.3", container(), {}, []),
    ("5.3", container(HostConfig__CapAdd=[]), {}, []),
    ("5.3", container(HostConfig__CapAdd=["NET_ADMIN"]), {}, ["adds capabilities NET_ADMIN"]),
    ("5.3", container(HostConfig__CapAdd=["cap_sys_ptrace", "NET_ADMIN"]), {}, ["adds capabilities NET_ADMIN, SYS_PTRACE"]),
    ("5.4", container(), {}, []),
    ("5.4", container(HostConfig__Privileged=None), {}, []),
    ("5.4", container(HostConfig__Privileged=True), {}, ["runs --privileged"]),
    ("5.5", container(), {}, []),
    ("5.5", container(Mounts=[bind("/etc", "/host-etc")]), {}, ["mounts host /etc at /host-etc (read-only)"]),
    ("5.5", container(Mounts=[bind("/", "/host", rw=True)]), {}, ["mounts host / at /host (read-write)"]),
    ("5.5", container(Mounts=[bind("/etc/ssl/certs", "/certs")]), {}, ["mounts host /etc/ssl/certs at /certs (read-only)"]),
    ("5.5", container(Mounts=[bind("/var/lib/docker", "/d")]), {}, ["mounts host /var/lib/docker at /d (read-only)"]),
    ("5.5", container(Mounts=[bind("/etcetera", "/x"), bind("/srv/data", "/data", rw=True)]), {}, []),
    ("5.5", container(Mounts=[bind("/var/run/docker.sock", "/var/run/docker.sock")]), {}, []),  # 5.31's
    # A destination named like a socket does not hide the source from 5.5.
    ("5.5", container(Mounts=[bind("/etc", "/run/docker.sock")]), {}, ["mounts host /etc at /run/docker.sock (read-only)"]),
    ("5.5", container(Mounts=[{"Type": "volume", "Source": "/var/lib/docker/volumes/v/_data", "Destination": "/v"}]), {}, []),
    ("5.6", container(), {"processes": {"web-id": ["nginx", "sleep"]}}, []),
    ("5.6", container(), {"processes": {"web-id": ["sshd", "bash"]}}, ["runs sshd"]),
    ("5.6", container(), {"processes": {"web-id": ["sshd-helper"]}}, []),
    ("5.7", container(), {}, []),
    ("5.7", container(Ports=ports("127.0.0.1", "999")), {}, ["publishes 8080/tcp on privileged host port 999"]),
    ("5.7", container(Ports=ports("127.0.0.1", "1023")), {}, ["publishes 8080/tcp on privileged host port 1023"]),
    ("5.7", container(Ports=ports("127.0.0.1", "1")), {}, ["publishes 8080/tcp on privileged host port 1"]),
    ("5.7", container(Ports=ports("127.0.0.1", "1024")), {}, []),
    ("5.7", container(Ports=ports("127.0.0.1", "0")), {}, []),
    ("5.7", container(Ports=ports("127.0.0.1", "")), {}, []),
    ("5.7", container(Ports={"8080/tcp": None}), {}, []),
    ("5.9", container(), {}, []),
    ("5.9", container(HostConfig__NetworkMode="host"), {}, ["shares the host's network namespace (--network=host)"]),
    ("5.9", container(HostConfig__NetworkMode="container:host"), {"containers": ContainerIndex([container("host")])}, []),
    ("5.10", container(), {}, []),
    ("5.10", container(HostConfig__Memory=0), {}, ["has no memory limit"]),
    ("5.10", container(HostConfig__Memory=None), {}, ["has no memory limit"]),
    ("5.10", container(engine=ROOTLESS_DOCKER), {"cgroup_version": 1}, ["memory limit 64 MiB is NOT enforced (rootless engine on cgroup v1)"]),
    ("5.10", container(engine=ROOTLESS_PODMAN), {"cgroup_version": 1}, ["memory limit 64 MiB is NOT enforced (rootless engine on cgroup v1)"]),
    ("5.10", container(engine=ROOTLESS_DOCKER), {"cgroup_version": 2}, []),
    ("5.10", container(), {"cgroup_version": 1}, []),
    ("5.11", container(), {}, []),
    ("5.11", container(HostConfig__CpuShares=0), {}, ["has no CPU shares, quota or CPU set"]),
    ("5.11", container(HostConfig__CpuShares=1024), {}, ["has no CPU shares, quota or CPU set"]),
    ("5.11", container(HostConfig__CpuShares=None), {}, ["has no CPU shares, quota or CPU set"]),
    ("5.11", container(HostConfig__CpuShares=0, HostConfig__NanoCpus=500000000), {}, []),
    ("5.11", container(HostConfig__CpuShares=1024, HostConfig__CpuQuota=50000), {}, []),
    ("5.11", container(HostConfig__CpuShares=0, HostConfig__CpusetCpus="0"), {}, []),
    ("5.12", container(), {}, []),
    ("5.12", container(HostConfig__ReadonlyRootfs=False), {}, ["has a writable root file system"]),
    ("5.13", container(Ports=ports("127.0.0.1", "8080")), {}, []),
    ("5.13", container(Ports=ports("", "8080")), {}, ["publishes 8080/tcp on all interfaces (host port 8080)"]),
    ("5.13", container(Ports=ports("0.0.0.0", "8080")), {}, ["publishes 8080/tcp on all interfaces (host port 8080)"]),
    ("5.13", container(Ports=ports("::", "8080")), {}, ["publishes 8080/tcp on all interfaces (host port 8080)"]),
    ("5.13", container(Ports=ports("::1", "8080")), {}, []),
    ("5.14", container(), {}, []),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "no"}), {}, []),
    ("5.14", container(HostConfig__RestartPolicy={}), {}, []),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "always"}), {}, ["restart policy is always (use on-failure:5)"]),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "unless-stopped"}), {}, ["restart policy is unless-stopped (use on-failure:5)"]),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 1}), {}, []),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 6}), {}, ["restart policy on-failure allows 6 retries (at most 5)"]),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 50}), {}, ["restart policy on-failure allows 50 retries (at most 5)"]),
    ("5.14", container(HostConfig__RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 0}), {}, ["restart policy on-failure allows unlimited retries (at most 5)"]),
    ("5.15", container(), {}, []),
    ("5.15", container(HostConfig__PidMode="host"), {}, ["shares the host's pid namespace (--pid=host)"]),
    ("5.15", container(HostConfig__PidMode="container:db"), {"containers": ContainerIndex([container("db")])}, []),
    ("5.16", container(HostConfig__IpcMode="shareable"), {}, []),
    ("5.16", container(HostConfig__IpcMode="host"), {}, ["shares the host's ipc namespace (--ipc=host)"]),
    ("5.17", container(), {}, []),
    ("5.17", container(HostConfig__Devices=None), {}, []),
    ("5.17", container(HostConfig__Devices=[{"PathOnHost": "/dev/fuse", "CgroupPermissions": "rw"}]), {}, ["has host device /dev/fuse (rw)"]),
    ("5.17", container(HostConfig__Devices=[{"PathOnHost": "/dev/null", "CgroupPermissions": ""}]), {}, ["has host device /dev/null (rwm)"]),
    # Device cgroup rules (--device-cgroup-rule) open host devices as --device does, often many at once.
    ("5.17", container(HostConfig__DeviceCgroupRules=None), {}, []),
    ("5.17", container(HostConfig__DeviceCgroupRules=[]), {}, []),
    ("5.17", container(HostConfig__DeviceCgroupRules=["a *:* rwm"]), {}, ["device cgroup rule 'a *:* rwm' allows every host device (rwm)"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["c *:* rwm"]), {}, ["device cgroup rule 'c *:* rwm' allows every character device (rwm)"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["b 8:* rwm"]), {}, ["device cgroup rule 'b 8:* rwm' allows every block device of major 8 (rwm)"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["c *:1 r"]), {}, ["device cgroup rule 'c *:1 r' allows character devices of minor 1 of every major (r)"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["c 10:200 rwm"]), {}, ["device cgroup rule 'c 10:200 rwm' allows character device 10:200 (rwm)"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["a"]), {}, ["device cgroup rule 'a' cannot be read: judged as allowing every host device"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["x 1:2 r"]), {}, ["device cgroup rule 'x 1:2 r' cannot be read: judged as allowing every host device"]),
    ("5.17", container(HostConfig__DeviceCgroupRules=["c 1:3"]), {}, ["device cgroup rule 'c 1:3' cannot be read: judged as allowing every host device"]),
    # --security-opt systempaths=unconfined: empty lists (null means the engine's defaults).
    ("BH-5.11", container(), {}, []),
    ("BH-5.11", container(HostConfig__MaskedPaths=None, HostConfig__ReadonlyPaths=None), {}, []),
    ("BH-5.11", container(HostConfig__MaskedPaths=["/proc/kcore"], HostConfig__ReadonlyPaths=["/proc/sys"]), {}, []),
    ("BH-5.11", container(HostConfig__MaskedPaths=[], HostConfig__ReadonlyPaths=[]), {}, [
        "masks no system path (systempaths=unconfined: /proc/kcore, /proc/keys, /sys/firmware and others are visible)",
        "makes no system path read-only (systempaths=unconfined: /proc/sys, /proc/sysrq-trigger and others are writable)",
    ]),
    ("BH-5.11", container(HostConfig__MaskedPaths=[]), {}, [
        "masks no system path (systempaths=unconfined: /proc/kcore, /proc/keys, /sys/firmware and others are visible)",
    ]),
    ("5.19", container(Mounts=[bind("/srv", "/srv")]), {}, []),
    ("5.19", container(Mounts=[bind("/srv", "/srv", propagation="shared")]), {}, ["mounts /srv with shared propagation"]),
    ("5.19", container(Mounts=[bind("/srv", "/srv", propagation="rshared")]), {}, ["mounts /srv with rshared propagation"]),
    ("5.19", container(Mounts=[bind("/srv", "/srv", propagation="slave")]), {}, []),
    ("5.20", container(), {}, []),
    ("5.20", container(HostConfig__UTSMode="host"), {}, ["shares the host's uts namespace (--uts=host)"]),
    ("5.21", container(), {}, []),
    ("5.21", container(HostConfig__SecurityOpt=["seccomp=unconfined"]), {}, ["runs with seccomp=unconfined"]),
    ("5.21", container(HostConfig__SecurityOpt=["seccomp:unconfined"]), {}, ["runs with seccomp=unconfined"]),
    ("5.21", container(HostConfig__SecurityOpt=["seccomp=/etc/docker/seccomp.json"]), {}, []),
    ("5.24", container(), {}, []),
    ("5.24", container(HostConfig__CgroupParent="/custom"), {}, ["runs under custom cgroup parent /custom"]),
    ("5.25", container(), {}, []),
    ("5.25", container(HostConfig__SecurityOpt=["no-new-privileges=true"]), {}, []),
    ("5.25", container(HostConfig__SecurityOpt=["no-new-privileges:1"]), {}, []),
    ("5.25", container(HostConfig__SecurityOpt=["no-new-privileges:false"]), {}, ["sets no-new-privileges=false explicitly"]),
    ("5.25", container(HostConfig__SecurityOpt=["no-new-privileges:false"]), {"daemon_no_new_privileges": True}, ["sets no-new-privileges=false explicitly"]),
    ("5.25", container(HostConfig__SecurityOpt=None), {}, ["may gain privileges: no-new-privileges is not set (nor the engine's default)"]),
    ("5.25", container(HostConfig__SecurityOpt=None), {"daemon_no_new_privileges": True}, []),
    ("5.25", container(HostConfig__SecurityOpt=None), {"daemon_no_new_privileges": None}, ["may gain privileges: no-new-privileges is not set (nor the engine's default)"]),
    # The rootful daemon's default does not reach rootless engines or Podman.
    ("5.25", container(HostConfig__SecurityOpt=None, engine=ROOTLESS_DOCKER), {"daemon_no_new_privileges": True}, ["may gain privileges: no-new-privileges is not set (nor the engine's default)"]),
    ("5.25", container(HostConfig__SecurityOpt=None, engine=("podman", "rootful")), {"daemon_no_new_privileges": True}, ["may gain privileges: no-new-privileges is not set (nor the engine's default)"]),
    ("5.26", container(), {}, []),
    ("5.26", container(Config={"Healthcheck": None}), {}, ["has no health check"]),
    ("5.26", container(Config={"Healthcheck": {"Test": ["NONE"]}}), {}, ["has no health check"]),
    ("5.26", container(State={"Running": True, "Health": "unhealthy"}), {}, ["is unhealthy"]),
    ("5.26", container(State={"Running": True, "Health": "starting"}), {}, []),
    ("5.28", container(), {}, []),
    ("5.28", container(HostConfig__PidsLimit=None), {}, ["has no PIDs limit"]),
    ("5.28", container(HostConfig__PidsLimit=0), {}, ["has no PIDs limit"]),
    ("5.28", container(HostConfig__PidsLimit=-1), {}, ["has no PIDs limit"]),
    ("5.28", container(HostConfig__PidsLimit=1), {}, []),
    ("5.29", container(), {}, []),
    ("5.29", container(Networks=["bridge"]), {}, ["is attached to the default 'bridge' network (use a per-application network)"]),
    ("5.29", container(Networks=["podman"], engine=ROOTLESS_PODMAN), {}, ["is attached to the default 'podman' network (use a per-application network)"]),
    ("5.29", container(Networks=["bridge"], engine=ROOTLESS_PODMAN), {}, []),
    ("5.29", container(Networks=["podman"]), {}, []),
    ("5.30", container(), {}, []),
    ("5.30", container(HostConfig__UsernsMode="host"), {}, ["shares the host's userns namespace (--userns=host)"]),
    ("5.31", container(), {}, []),
    ("5.31", container(Mounts=[bind("/var/run/docker.sock", "/var/run/docker.sock")]), {}, ["mounts the engine socket /var/run/docker.sock at /var/run/docker.sock"]),
    ("5.31", container(Mounts=[bind("/run/user/1000/podman/podman.sock", "/s")]), {}, ["mounts the engine socket /run/user/1000/podman/podman.sock at /s"]),
    ("5.31", container(Mounts=[bind("/srv/api", "/run/docker.sock")]), {}, ["mounts the engine socket /srv/api at /run/docker.sock"]),
    ("BH-5.10", container(), {}, []),
    ("BH-5.10", container(HostConfig__CapDrop=["NET_RAW"]), {}, []),
    ("BH-5.10", container(HostConfig__CapDrop=["cap_net_raw"]), {}, []),
    ("BH-5.10", container(HostConfig__CapDrop=None), {}, ["keeps NET_RAW (add --cap-drop NET_RAW)"]),
    ("BH-5.10", container(HostConfig__CapDrop=["MKNOD"]), {}, ["keeps NET_RAW (add --cap-drop NET_RAW)"]),
    ("BH-5.10", container(HostConfig__Privileged=True), {}, ["keeps NET_RAW (privileged)"]),
    ("BH-5.10", container(HostConfig__CapAdd=["NET_RAW"]), {}, ["adds NET_RAW"]),
    ("BH-5.10", container(HostConfig__CapAdd=["ALL"]), {}, ["adds NET_RAW"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "document", "context", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_check_on_one_container(control_id, document, context, expected):
    verdict = judge_container(document, Context(**{**vars(HOST), **context}), [control_id])
    assert verdict.findings == {control_id: expected}


def test_every_container_control_has_a_failing_and_a_passing_case():
    failing = {case[0] for case in CASES if case[3]}
    passing = {case[0] for case in CASES if not case[3]}
    runtime = {control_id for control_id in REGISTRY if control_id.startswith(("5.", "BH-5."))}
    assert runtime <= failing & passing, sorted(runtime - (failing & passing))


@pytest.mark.parametrize(
    ("control_id", "context", "reason"),
    [
        ("5.1", {"apparmor": False}, "AppArmor is not enabled on this host's kernel"),
        ("5.2", {"selinux": False}, "SELinux is not enabled on this host's kernel"),
    ],
)
def test_mandatory_access_control_checks_need_the_kernel_feature(control_id, context, reason):
    hostile = container(HostConfig__SecurityOpt=["apparmor=unconfined", "label=disable"])
    verdict = judge_container(hostile, Context(**{**vars(HOST), **context}), [control_id])
    assert verdict.not_applicable == {control_id: reason}


@pytest.mark.parametrize(
    ("control_id", "missing", "document"),
    [
        ("5.1", "apparmor", container()),
        ("5.2", "selinux", container()),
        ("5.6", "processes", container()),
        ("5.10", "cgroup_version", container(engine=ROOTLESS_DOCKER)),  # enforced or not depends on it
    ],
)
def test_a_check_without_the_host_fact_it_needs_is_undetermined(control_id, missing, document):
    verdict = judge_container(document, Context(**{**vars(HOST), missing: None}), [control_id])
    assert control_id in verdict.undetermined and not verdict.findings


def test_processes_not_read_for_a_container_are_undetermined_not_a_pass():
    verdict = judge_container(container(), HOST, ["5.6"])
    assert verdict.undetermined == {"5.6": "the processes of container web could not be read"}


def test_judging_every_container_control_at_once():
    hostile = container("debug", HostConfig__Privileged=True, HostConfig__PidMode="host", HostConfig__CapDrop=None)
    verdict = judge_container(hostile, HOST)
    failed = {control_id for control_id, findings in verdict.findings.items() if findings}
    assert {"5.4", "5.15", "BH-5.10"} <= failed
    assert verdict.undetermined == {"5.6": "the processes of container debug could not be read"}


# The host form: every running container of a host, each finding naming its container.


UNREADABLE_FACT = object()


def host(*containers: dict[str, Any], **facts: Any) -> HostState:
    values = {
        "containers": {"value": list(containers)},
        "kernel_security": {"value": {"apparmor": False, "selinux": False, "cgroup_version": 2}},
        "dockerd_processes": {"value": [{"pid": 1, "uid": 0, "user": "root", "rootless": False, "argv": ["dockerd"]}]},
        "daemon_json": {"value": {"exists": False, "settings": {}}},
        "container_processes": {"value": {}},
    }
    values.update(
        {
            name: {"error": "permission denied"} if value is UNREADABLE_FACT else {"value": value}
            for name, value in facts.items()
        }
    )
    return HostState("test", values)


def test_the_host_form_names_each_container_and_its_engine():
    state = host(
        container("admin", HostConfig__Privileged=True),
        container("app"),
        container("db", HostConfig__Privileged=True, engine=ROOTLESS_PODMAN)
        | {"Engine": "podman (rootless, user alice)"},
    )
    assert REGISTRY["5.4"].judge(state, AuditConfig()) == [
        "container admin: runs --privileged",
        "container db [podman (rootless, user alice)]: runs --privileged",
    ]


def test_the_host_form_skips_stopped_containers():
    stopped = container("old", HostConfig__Privileged=True, State={"Running": False})
    with pytest.raises(NotApplicable, match="no running containers"):
        REGISTRY["5.4"].judge(host(stopped), AuditConfig())


def test_the_host_form_reads_the_daemon_default_for_5_25():
    inherits = container("inherits", HostConfig__SecurityOpt=None)
    state = host(inherits, daemon_json={"exists": True, "settings": {"no-new-privileges": True}})
    assert REGISTRY["5.25"].judge(state, AuditConfig()) == []
    assert REGISTRY["5.25"].judge(host(inherits), AuditConfig()) == [
        "container inherits: may gain privileges: no-new-privileges is not set (nor the engine's default)"
    ]


def test_the_host_form_checks_the_kernel_before_the_containers():
    with pytest.raises(NotApplicable, match="AppArmor"):
        REGISTRY["5.1"].judge(host(), AuditConfig())


def test_an_unreadable_container_list_is_an_error():
    state = HostState("test", {"containers": {"error": "docker (rootful): docker ps failed: permission denied"}})
    with pytest.raises(FactUnavailable, match="permission denied"):
        REGISTRY["5.4"].judge(state, AuditConfig())


# Namespaces joined through another container (--network/--pid/--ipc/--uts/--userns container:X):
# X's own mode decides. The audit finds X among the host's containers (by name, ID or unique ID
# prefix, on the same engine); the gate asks the engine (bulkhead.gate.engine).
HOST_NET = container("hostnet", HostConfig__NetworkMode="host")
HOST_PID = container("hostpid", HostConfig__PidMode="host", HostConfig__IpcMode="host", HostConfig__UTSMode="host")
PLAIN = container("plain")


def joined(name: str, key: str, target: str) -> dict[str, Any]:
    return container(name, **{f"HostConfig__{key}": f"container:{target}"})


# (control, the host's containers, outcome, findings)
JOINED_CASES: list[tuple[str, list[dict[str, Any]], str, list[str]]] = [
    ("5.9", [HOST_NET, joined("side", "NetworkMode", "hostnet")], "fail", [
        "container hostnet: shares the host's network namespace (--network=host)",
        "container side: shares the host's network namespace through container hostnet (--network=container:hostnet)",
    ]),
    ("5.9", [HOST_NET, joined("side", "NetworkMode", "hostnet-id")], "fail", [
        "container hostnet: shares the host's network namespace (--network=host)",
        "container side: shares the host's network namespace through container hostnet (--network=container:hostnet-id)",
    ]),
    # An ID prefix, as the engine accepts it.
    ("5.9", [HOST_NET, joined("side", "NetworkMode", "hostn")], "fail", [
        "container hostnet: shares the host's network namespace (--network=host)",
        "container side: shares the host's network namespace through container hostnet (--network=container:hostn)",
    ]),
    # Through two containers.
    ("5.9", [HOST_NET, joined("mid", "NetworkMode", "hostnet"), joined("end", "NetworkMode", "mid")], "fail", [
        "container hostnet: shares the host's network namespace (--network=host)",
        "container mid: shares the host's network namespace through container hostnet (--network=container:hostnet)",
        "container end: shares the host's network namespace through containers mid, hostnet (--network=container:mid)",
    ]),
    ("5.9", [PLAIN, joined("side", "NetworkMode", "plain")], "pass", []),
    # A loop of container: modes ends (the engine refuses it; the check must not spin).
    ("5.9", [joined("a", "NetworkMode", "b"), joined("b", "NetworkMode", "a")], "pass", []),
    # The target is not among the host's containers (another engine's, or gone): cannot tell.
    ("5.9", [joined("side", "NetworkMode", "elsewhere")], "error", [
        "--network=container:elsewhere: no such container on engine docker (rootful) to tell whose namespace it is",
    ]),
    ("5.9", [HOST_NET | {"Engine": "podman (rootful)", "EngineKind": "podman"}, joined("side", "NetworkMode", "hostnet")], "error", [
        "--network=container:hostnet: no such container on engine docker (rootful) to tell whose namespace it is",
    ]),
    ("5.15", [HOST_PID, joined("side", "PidMode", "hostpid")], "fail", [
        "container hostpid: shares the host's pid namespace (--pid=host)",
        "container side: shares the host's pid namespace through container hostpid (--pid=container:hostpid)",
    ]),
    ("5.15", [PLAIN, joined("side", "PidMode", "plain")], "pass", []),
    ("5.16", [HOST_PID, joined("side", "IpcMode", "hostpid")], "fail", [
        "container hostpid: shares the host's ipc namespace (--ipc=host)",
        "container side: shares the host's ipc namespace through container hostpid (--ipc=container:hostpid)",
    ]),
    ("5.16", [PLAIN, joined("side", "IpcMode", "plain")], "pass", []),
    ("5.20", [HOST_PID, joined("side", "UTSMode", "hostpid")], "fail", [
        "container hostpid: shares the host's uts namespace (--uts=host)",
        "container side: shares the host's uts namespace through container hostpid (--uts=container:hostpid)",
    ]),
    ("5.30", [container("hostuser", HostConfig__UsernsMode="host"), joined("side", "UsernsMode", "hostuser")], "fail", [
        "container hostuser: shares the host's userns namespace (--userns=host)",
        "container side: shares the host's userns namespace through container hostuser (--userns=container:hostuser)",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "containers", "expected", "findings"),
    JOINED_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(JOINED_CASES)],
)
def test_a_namespace_joined_through_another_container_is_that_containers(control_id, containers, expected, findings):
    assert outcome(control_id, host(*containers)) == (expected, findings)


# 5.5 on a host: bind sources however written (normalised once, bulkhead.checks.containers
# host_path), symlinks the collector resolved (RealSource), and named volumes whose local driver
# binds a host directory (the "volumes" fact: docker volume inspect, options reduced to type, o's
# bind flags and device, and the device resolved as RealDevice).
def volume(name: str, destination: str = "/v", *, rw: bool = True, driver: str = "local") -> dict[str, Any]:
    return {
        "Type": "volume",
        "Name": name,
        "Driver": driver,
        "Source": f"/var/lib/docker/volumes/{name}/_data",
        "Destination": destination,
        "RW": rw,
        "Propagation": "",
    }


def volume_fact(name: str, options: dict[str, str] | None, *, driver: str = "local", real: str | None = None):
    entry = {"Engine": "docker (rootful)", "Name": name, "Driver": driver, "Options": options or {}}
    if real is not None:
        entry["RealDevice"] = real
    return entry


ETC_BIND = {"type": "none", "o": "bind", "device": "/etc"}
VOLUMES = [
    volume_fact("etcvol", ETC_BIND),
    volume_fact("etcvol2", {"type": "none", "o": "rbind,ro", "device": "/srv/../etc/"}),
    volume_fact("datavol", {"type": "none", "o": "bind", "device": "/srv/data"}),
    volume_fact("linkvol", {"type": "none", "o": "bind", "device": "/srv/cfg"}, real="/etc/docker"),
    volume_fact("nfsvol", {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/etc"}),
    volume_fact("plain", {}),
    volume_fact("etcvol", ETC_BIND, driver="local") | {"Engine": "podman (rootful)", "Name": "podvol"},
]


def mounted(*mounts: dict[str, Any]) -> HostState:
    return host(container("web", Mounts=list(mounts)), volumes=VOLUMES)


def bind_from(source: str, real: str | None = None, destination: str = "/x") -> dict[str, Any]:
    entry = bind(source, destination)
    if real is not None:
        entry["RealSource"] = real
    return entry


SENSITIVE_CASES: list[tuple[HostState, str, list[str]]] = [
    (mounted(bind_from("/etc/")), "fail", ["container web: mounts host /etc at /x (read-only)"]),
    (mounted(bind_from("//etc")), "fail", ["container web: mounts host /etc at /x (read-only)"]),
    (mounted(bind_from("/srv/../etc")), "fail", ["container web: mounts host /etc at /x (read-only)"]),
    (mounted(bind_from("/srv/./../etc//ssl/")), "fail", ["container web: mounts host /etc/ssl at /x (read-only)"]),
    (mounted(bind_from("//")), "fail", ["container web: mounts host / at /x (read-only)"]),
    (mounted(bind_from("/srv/link", real="/etc")), "fail", ["container web: mounts host /srv/link (resolves to /etc) at /x (read-only)"]),
    (mounted(bind_from("/srv/link", real="/srv/data")), "pass", []),
    (mounted(bind_from("/srv/data/", real="/srv/data")), "pass", []),
    (mounted(bind_from("/etcetera/../srv")), "pass", []),
    (mounted(volume("etcvol")), "fail", ["container web: mounts volume etcvol, a bind of host /etc, at /v (read-write)"]),
    (mounted(volume("etcvol2", rw=False)), "fail", ["container web: mounts volume etcvol2, a bind of host /etc, at /v (read-only)"]),
    (mounted(volume("linkvol")), "fail", ["container web: mounts volume linkvol, a bind of host /srv/cfg (resolves to /etc/docker), at /v (read-write)"]),
    (mounted(volume("datavol"), volume("nfsvol"), volume("plain")), "pass", []),
    # A volume of another driver binds nothing of this host's.
    (mounted(volume("etcvol", driver="rexray")), "pass", []),
    # Not in the engine's volume list (or on another engine): cannot tell what it binds.
    (mounted(volume("podvol")), "error", ["volume podvol of engine docker (rootful) is not in its volume list: what it binds is not known"]),
    (host(container("web", Mounts=[volume("etcvol")]), volumes=UNREADABLE_FACT), "error", ["volumes: permission denied"]),
    # No volume mounted: the volume list is not needed.
    (host(container("web", Mounts=[bind_from("/srv/data")]), volumes=UNREADABLE_FACT), "pass", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "expected", "findings"), SENSITIVE_CASES, ids=[f"5.5-{index}" for index in range(len(SENSITIVE_CASES))]
)
def test_5_5_sensitive_host_paths_however_reached(state, expected, findings):
    assert outcome("5.5", state) == (expected, findings)


def test_a_joined_container_named_by_its_full_id_is_shown_short():
    target = container("db", HostConfig__PidMode="host") | {"Id": "ab" * 32}
    state = host(target, container("side", HostConfig__PidMode="container:" + "ab" * 32))
    assert outcome("5.15", state)[1][1] == (
        "container side: shares the host's pid namespace through container db (--pid=container:abababababab)"
    )
