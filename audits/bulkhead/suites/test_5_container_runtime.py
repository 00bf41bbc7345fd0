"""CIS Docker Benchmark section 5: container runtime, checked on every running container at once.

Each check reads the one inspect of all containers the collector made, and lists every offending
container with the exact reason, one line each.
"""

import pytest

from bulkhead.checks import not_applicable
from bulkhead.containers import (
    capabilities,
    is_engine_socket,
    is_sensitive_host_path,
    mebibytes,
    per_container,
    published_ports,
    security_option,
)
from bulkhead.daemon import effective_setting
from bulkhead.state import FactUnavailable


@pytest.mark.control("5.1")
def test_apparmor_profile(state):
    if not state.fact("kernel_security")["apparmor"]:
        not_applicable("AppArmor is not enabled on this host's kernel")

    def check(container):
        if container.get("EngineKind") == "podman" and container.get("EngineMode") == "rootless":
            return None  # rootless Podman cannot load AppArmor profiles: 5.25 and 5.21 confine it
        profile = container.get("AppArmorProfile") or ""
        if security_option(container, "apparmor") == "unconfined" or profile == "unconfined":
            return "runs with apparmor=unconfined"
        if not profile:
            return "runs without an AppArmor profile"
        return None

    per_container(state, check)


@pytest.mark.control("5.2")
def test_selinux_options(state):
    if not state.fact("kernel_security")["selinux"]:
        not_applicable("SELinux is not enabled on this host's kernel")

    def check(container):
        label = security_option(container, "label")
        if label in ("disable", "type:spc_t"):
            return f"runs with label={label} (SELinux confinement off)"
        if not container.get("ProcessLabel"):
            return "runs without an SELinux process label"
        return None

    per_container(state, check)


@pytest.mark.control("5.3")
def test_capabilities_restricted(state):
    def check(container):
        added = sorted(capabilities(container["HostConfig"].get("CapAdd")))
        return f"adds capabilities {', '.join(added)}" if added else None

    per_container(state, check)


@pytest.mark.control("5.4")
def test_not_privileged(state):
    per_container(state, lambda container: "runs --privileged" if container["HostConfig"].get("Privileged") else None)


@pytest.mark.control("5.5")
def test_no_sensitive_host_mounts(state):
    def check(container):
        for mount in container.get("Mounts") or []:
            source = str(mount.get("Source") or "")
            if mount.get("Type") == "bind" and is_sensitive_host_path(source) and not is_engine_socket(mount):
                access = "read-write" if mount.get("RW") else "read-only"
                yield f"mounts host {source} at {mount.get('Destination')} ({access})"

    per_container(state, lambda container: list(check(container)))


@pytest.mark.control("5.6")
def test_no_sshd(state):
    processes = state.fact("container_processes")

    def check(container):
        if container["Id"] not in processes:
            raise FactUnavailable(f"the processes of container {container['Name']} could not be read")
        if "sshd" in processes[container["Id"]]:
            return "runs sshd"
        return None

    per_container(state, check)


@pytest.mark.control("5.7")
def test_no_privileged_ports(state):
    def check(container):
        return [
            f"publishes {container_port} on privileged host port {host_port}"
            for container_port, _address, host_port in published_ports(container)
            if 0 < host_port < 1024
        ]

    per_container(state, check)


def _namespace_check(state, key, flag):
    per_container(
        state,
        lambda container: (
            f"shares the host's {flag} namespace (--{flag}=host)"
            if str(container["HostConfig"].get(key) or "") == "host"
            else None
        ),
    )


@pytest.mark.control("5.9")
def test_host_network_not_shared(state):
    per_container(
        state,
        lambda container: (
            "shares the host's network namespace (--network=host)"
            if container["HostConfig"].get("NetworkMode") == "host"
            else None
        ),
    )


@pytest.mark.control("5.10")
def test_memory_limited(state):
    cgroup_version = state.fact("kernel_security")["cgroup_version"]

    def check(container):
        memory = container["HostConfig"].get("Memory") or 0
        if not memory:
            return "has no memory limit"
        if container.get("EngineMode") == "rootless" and cgroup_version == 1:
            return f"memory limit {mebibytes(memory)} is NOT enforced (rootless engine on cgroup v1)"
        return None

    per_container(state, check)


@pytest.mark.control("5.11")
def test_cpu_priority(state):
    def check(container):
        config = container["HostConfig"]
        shares = config.get("CpuShares") or 0
        if shares not in (0, 1024) or config.get("NanoCpus") or config.get("CpuQuota") or config.get("CpusetCpus"):
            return None
        return "has no CPU shares, quota or CPU set"

    per_container(state, check)


@pytest.mark.control("5.12")
def test_read_only_root_filesystem(state):
    per_container(
        state,
        lambda container: None if container["HostConfig"].get("ReadonlyRootfs") else "has a writable root file system",
    )


@pytest.mark.control("5.13")
def test_ports_bound_to_an_interface(state):
    def check(container):
        return [
            f"publishes {container_port} on all interfaces (host port {host_port})"
            for container_port, address, host_port in published_ports(container)
            if address in ("", "0.0.0.0", "::")
        ]

    per_container(state, check)


@pytest.mark.control("5.14")
def test_restart_policy(state):
    def check(container):
        policy = container["HostConfig"].get("RestartPolicy") or {}
        name = policy.get("Name") or "no"
        retries = policy.get("MaximumRetryCount") or 0
        if name in ("always", "unless-stopped"):
            return f"restart policy is {name} (use on-failure:5)"
        if name == "on-failure" and not 0 < retries <= 5:
            return f"restart policy on-failure allows {retries or 'unlimited'} retries (at most 5)"
        return None

    per_container(state, check)


@pytest.mark.control("5.15")
def test_host_pid_not_shared(state):
    _namespace_check(state, "PidMode", "pid")


@pytest.mark.control("5.16")
def test_host_ipc_not_shared(state):
    _namespace_check(state, "IpcMode", "ipc")


@pytest.mark.control("5.17")
def test_no_host_devices(state):
    def check(container):
        return [
            f"has host device {device.get('PathOnHost')} ({device.get('CgroupPermissions') or 'rwm'})"
            for device in container["HostConfig"].get("Devices") or []
        ]

    per_container(state, check)


@pytest.mark.control("5.19")
def test_mount_propagation_not_shared(state):
    def check(container):
        return [
            f"mounts {mount.get('Destination')} with {mount.get('Propagation')} propagation"
            for mount in container.get("Mounts") or []
            if mount.get("Propagation") in ("shared", "rshared")
        ]

    per_container(state, check)


@pytest.mark.control("5.20")
def test_host_uts_not_shared(state):
    _namespace_check(state, "UTSMode", "uts")


@pytest.mark.control("5.21")
def test_seccomp_not_disabled(state):
    per_container(
        state,
        lambda container: (
            "runs with seccomp=unconfined" if security_option(container, "seccomp") == "unconfined" else None
        ),
    )


@pytest.mark.control("5.24")
def test_cgroup_parent(state):
    def check(container):
        parent = container["HostConfig"].get("CgroupParent")
        return f"runs under custom cgroup parent {parent}" if parent else None

    per_container(state, check)


def _daemon_no_new_privileges(state) -> bool | None:
    """The rootful Docker daemon's default, None when there is no rootful dockerd to ask."""
    try:
        return effective_setting(state, "no-new-privileges", False, boolean=True).value is True
    except FactUnavailable:
        return None


@pytest.mark.control("5.25")
def test_no_new_privileges(state):
    daemon_default = _daemon_no_new_privileges(state)

    def check(container):
        value = security_option(container, "no-new-privileges")
        if value is not None:
            if value.lower() in ("", "true", "1"):
                return None
            return f"sets no-new-privileges={value} explicitly"
        rootful_docker = container.get("EngineKind") == "docker" and container.get("EngineMode") == "rootful"
        if rootful_docker and daemon_default:
            return None
        return "may gain privileges: no-new-privileges is not set (nor the engine's default)"

    per_container(state, check)


@pytest.mark.control("5.26")
def test_health_checked(state):
    def check(container):
        healthcheck = container["Config"].get("Healthcheck") or {}
        test = healthcheck.get("Test") or []
        if not test or test[0] == "NONE":
            return "has no health check"
        if container["State"].get("Health") == "unhealthy":
            return "is unhealthy"
        return None

    per_container(state, check)


@pytest.mark.control("5.28")
def test_pids_limited(state):
    def check(container):
        limit = container["HostConfig"].get("PidsLimit")
        return None if limit and limit > 0 else "has no PIDs limit"

    per_container(state, check)


@pytest.mark.control("5.29")
def test_not_on_the_default_bridge(state):
    def check(container):
        default = "podman" if container.get("EngineKind") == "podman" else "bridge"
        if default in (container.get("Networks") or []):
            return f"is attached to the default {default!r} network (use a per-application network)"
        return None

    per_container(state, check)


@pytest.mark.control("5.30")
def test_host_user_namespace_not_shared(state):
    _namespace_check(state, "UsernsMode", "userns")


@pytest.mark.control("5.31")
def test_engine_socket_not_mounted(state):
    def check(container):
        return [
            f"mounts the engine socket {mount.get('Source')} at {mount.get('Destination')}"
            for mount in container.get("Mounts") or []
            if is_engine_socket(mount)
        ]

    per_container(state, check)


@pytest.mark.control("BH-5.10")
def test_net_raw_dropped(state):
    def check(container):
        config = container["HostConfig"]
        if config.get("Privileged"):
            return "keeps NET_RAW (privileged)"
        if "NET_RAW" in capabilities(config.get("CapAdd")) or "ALL" in capabilities(config.get("CapAdd")):
            return "adds NET_RAW"
        if capabilities(config.get("CapDrop")) & {"NET_RAW", "ALL"}:
            return None
        return "keeps NET_RAW (add --cap-drop NET_RAW)"

    per_container(state, check)
