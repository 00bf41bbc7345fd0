"""CIS Docker Benchmark section 5 (container runtime) and BH-5.x: one check per control, per container.

Each check reads one container's inspect document (Docker or Podman, as the collector normalises
it) and returns its reasons, without the container's name: the caller adds it.
"""

from __future__ import annotations

from bulkhead.checks.containers import (
    Container,
    capabilities,
    is_engine_socket,
    is_sensitive_host_path,
    mebibytes,
    published_ports,
    security_option,
)
from bulkhead.checks.registry import Context, Reasons, container_check
from bulkhead.facts import FactUnavailable, NotApplicable


def _apparmor_enabled(context: Context) -> None:
    if not context.need("apparmor"):
        raise NotApplicable("AppArmor is not enabled on this host's kernel")


def _selinux_enabled(context: Context) -> None:
    if not context.need("selinux"):
        raise NotApplicable("SELinux is not enabled on this host's kernel")


@container_check("5.1", needs=["apparmor"], precondition=_apparmor_enabled)
def apparmor_profile(container: Container, context: Context) -> Reasons:
    if container.get("EngineKind") == "podman" and container.get("EngineMode") == "rootless":
        return None  # rootless Podman cannot load AppArmor profiles: 5.25 and 5.21 confine it
    profile = container.get("AppArmorProfile") or ""
    if security_option(container, "apparmor") == "unconfined" or profile == "unconfined":
        return "runs with apparmor=unconfined"
    if not profile:
        return "runs without an AppArmor profile"
    return None


@container_check("5.2", needs=["selinux"], precondition=_selinux_enabled)
def selinux_options(container: Container, context: Context) -> Reasons:
    label = security_option(container, "label")
    if label in ("disable", "type:spc_t"):
        return f"runs with label={label} (SELinux confinement off)"
    if not container.get("ProcessLabel"):
        return "runs without an SELinux process label"
    return None


@container_check("5.3")
def capabilities_restricted(container: Container, context: Context) -> Reasons:
    added = sorted(capabilities(container["HostConfig"].get("CapAdd")))
    return f"adds capabilities {', '.join(added)}" if added else None


@container_check("5.4")
def not_privileged(container: Container, context: Context) -> Reasons:
    return "runs --privileged" if container["HostConfig"].get("Privileged") else None


@container_check("5.5")
def no_sensitive_host_mounts(container: Container, context: Context) -> Reasons:
    found = []
    for mount in container.get("Mounts") or []:
        source = str(mount.get("Source") or "")
        if mount.get("Type") == "bind" and is_sensitive_host_path(source) and not is_engine_socket(mount):
            access = "read-write" if mount.get("RW") else "read-only"
            found.append(f"mounts host {source} at {mount.get('Destination')} ({access})")
    return found


@container_check("5.6", needs=["processes"])
def no_sshd(container: Container, context: Context) -> Reasons:
    processes = context.need("processes")
    if container["Id"] not in processes:
        raise FactUnavailable(f"the processes of container {container['Name']} could not be read")
    return "runs sshd" if "sshd" in processes[container["Id"]] else None


@container_check("5.7")
def no_privileged_ports(container: Container, context: Context) -> Reasons:
    return [
        f"publishes {container_port} on privileged host port {host_port}"
        for container_port, _address, host_port in published_ports(container)
        if 0 < host_port < 1024
    ]


def _shares_host_namespace(container: Container, key: str, flag: str) -> Reasons:
    if str(container["HostConfig"].get(key) or "") == "host":
        return f"shares the host's {flag} namespace (--{flag}=host)"
    return None


@container_check("5.9")
def host_network_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "NetworkMode", "network")


@container_check("5.10", needs=["cgroup_version"])
def memory_limited(container: Container, context: Context) -> Reasons:
    memory = container["HostConfig"].get("Memory") or 0
    if not memory:
        return "has no memory limit"
    if container.get("EngineMode") == "rootless" and context.need("cgroup_version") == 1:
        return f"memory limit {mebibytes(memory)} is NOT enforced (rootless engine on cgroup v1)"
    return None


@container_check("5.11")
def cpu_priority(container: Container, context: Context) -> Reasons:
    config = container["HostConfig"]
    shares = config.get("CpuShares") or 0
    if shares not in (0, 1024) or config.get("NanoCpus") or config.get("CpuQuota") or config.get("CpusetCpus"):
        return None
    return "has no CPU shares, quota or CPU set"


@container_check("5.12")
def read_only_root_filesystem(container: Container, context: Context) -> Reasons:
    return None if container["HostConfig"].get("ReadonlyRootfs") else "has a writable root file system"


@container_check("5.13")
def ports_bound_to_an_interface(container: Container, context: Context) -> Reasons:
    return [
        f"publishes {container_port} on all interfaces (host port {host_port})"
        for container_port, address, host_port in published_ports(container)
        if address in ("", "0.0.0.0", "::")
    ]


@container_check("5.14")
def restart_policy(container: Container, context: Context) -> Reasons:
    policy = container["HostConfig"].get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    retries = policy.get("MaximumRetryCount") or 0
    if name in ("always", "unless-stopped"):
        return f"restart policy is {name} (use on-failure:5)"
    if name == "on-failure" and not 0 < retries <= 5:
        return f"restart policy on-failure allows {retries or 'unlimited'} retries (at most 5)"
    return None


@container_check("5.15")
def host_pid_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "PidMode", "pid")


@container_check("5.16")
def host_ipc_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "IpcMode", "ipc")


@container_check("5.17")
def no_host_devices(container: Container, context: Context) -> Reasons:
    return [
        f"has host device {device.get('PathOnHost')} ({device.get('CgroupPermissions') or 'rwm'})"
        for device in container["HostConfig"].get("Devices") or []
    ]


@container_check("5.19")
def mount_propagation_not_shared(container: Container, context: Context) -> Reasons:
    return [
        f"mounts {mount.get('Destination')} with {mount.get('Propagation')} propagation"
        for mount in container.get("Mounts") or []
        if mount.get("Propagation") in ("shared", "rshared")
    ]


@container_check("5.20")
def host_uts_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "UTSMode", "uts")


@container_check("5.21")
def seccomp_not_disabled(container: Container, context: Context) -> Reasons:
    return "runs with seccomp=unconfined" if security_option(container, "seccomp") == "unconfined" else None


@container_check("5.24")
def cgroup_parent(container: Container, context: Context) -> Reasons:
    parent = container["HostConfig"].get("CgroupParent")
    return f"runs under custom cgroup parent {parent}" if parent else None


@container_check("5.25", needs=["daemon_no_new_privileges"])
def no_new_privileges(container: Container, context: Context) -> Reasons:
    value = security_option(container, "no-new-privileges")
    if value is not None:
        if value.lower() in ("", "true", "1"):
            return None
        return f"sets no-new-privileges={value} explicitly"
    rootful_docker = container.get("EngineKind") == "docker" and container.get("EngineMode") == "rootful"
    if rootful_docker and context.daemon_no_new_privileges:
        return None
    return "may gain privileges: no-new-privileges is not set (nor the engine's default)"


@container_check("5.26")
def health_checked(container: Container, context: Context) -> Reasons:
    healthcheck = container["Config"].get("Healthcheck") or {}
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return "has no health check"
    if container["State"].get("Health") == "unhealthy":
        return "is unhealthy"
    return None


@container_check("5.28")
def pids_limited(container: Container, context: Context) -> Reasons:
    limit = container["HostConfig"].get("PidsLimit")
    return None if limit and limit > 0 else "has no PIDs limit"


@container_check("5.29")
def not_on_the_default_bridge(container: Container, context: Context) -> Reasons:
    default = "podman" if container.get("EngineKind") == "podman" else "bridge"
    if default in (container.get("Networks") or []):
        return f"is attached to the default {default!r} network (use a per-application network)"
    return None


@container_check("5.30")
def host_user_namespace_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "UsernsMode", "userns")


@container_check("5.31")
def engine_socket_not_mounted(container: Container, context: Context) -> Reasons:
    return [
        f"mounts the engine socket {mount.get('Source')} at {mount.get('Destination')}"
        for mount in container.get("Mounts") or []
        if is_engine_socket(mount)
    ]


@container_check("BH-5.10")
def net_raw_dropped(container: Container, context: Context) -> Reasons:
    config = container["HostConfig"]
    if config.get("Privileged"):
        return "keeps NET_RAW (privileged)"
    if capabilities(config.get("CapAdd")) & {"NET_RAW", "ALL"}:
        return "adds NET_RAW"
    if capabilities(config.get("CapDrop")) & {"NET_RAW", "ALL"}:
        return None
    return "keeps NET_RAW (add --cap-drop NET_RAW)"
