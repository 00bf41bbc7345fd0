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
from bulkhead.checks.registry import ContainerCheck, Context, Reasons
from bulkhead.facts import FactUnavailable, NotApplicable


def _apparmor_enabled(context: Context) -> None:
    if not context.need("apparmor"):
        raise NotApplicable("AppArmor is not enabled on this host's kernel")


def _selinux_enabled(context: Context) -> None:
    if not context.need("selinux"):
        raise NotApplicable("SELinux is not enabled on this host's kernel")


def apparmor_profile(container: Container, context: Context) -> Reasons:
    if container.get("EngineKind") == "podman" and container.get("EngineMode") == "rootless":
        return None  # rootless Podman cannot load AppArmor profiles: 5.25 and 5.21 confine it
    profile = container.get("AppArmorProfile") or ""
    if security_option(container, "apparmor") == "unconfined" or profile == "unconfined":
        return "runs with apparmor=unconfined"
    if not profile:
        return "runs without an AppArmor profile"
    return None


def selinux_options(container: Container, context: Context) -> Reasons:
    label = security_option(container, "label")
    if label in ("disable", "type:spc_t"):
        return f"runs with label={label} (SELinux confinement off)"
    if not container.get("ProcessLabel"):
        return "runs without an SELinux process label"
    return None


def capabilities_restricted(container: Container, context: Context) -> Reasons:
    added = sorted(capabilities(container["HostConfig"].get("CapAdd")))
    return f"adds capabilities {', '.join(added)}" if added else None


def not_privileged(container: Container, context: Context) -> Reasons:
    return "runs --privileged" if container["HostConfig"].get("Privileged") else None


def no_sensitive_host_mounts(container: Container, context: Context) -> Reasons:
    found = []
    for mount in container.get("Mounts") or []:
        source = str(mount.get("Source") or "")
        if mount.get("Type") == "bind" and is_sensitive_host_path(source) and not is_engine_socket(mount):
            access = "read-write" if mount.get("RW") else "read-only"
            found.append(f"mounts host {source} at {mount.get('Destination')} ({access})")
    return found


def no_sshd(container: Container, context: Context) -> Reasons:
    processes = context.need("processes")
    if container["Id"] not in processes:
        raise FactUnavailable(f"the processes of container {container['Name']} could not be read")
    return "runs sshd" if "sshd" in processes[container["Id"]] else None


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


def host_network_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "NetworkMode", "network")


def memory_limited(container: Container, context: Context) -> Reasons:
    memory = container["HostConfig"].get("Memory") or 0
    if not memory:
        return "has no memory limit"
    if container.get("EngineMode") == "rootless" and context.need("cgroup_version") == 1:
        return f"memory limit {mebibytes(memory)} is NOT enforced (rootless engine on cgroup v1)"
    return None


def cpu_priority(container: Container, context: Context) -> Reasons:
    config = container["HostConfig"]
    shares = config.get("CpuShares") or 0
    if shares not in (0, 1024) or config.get("NanoCpus") or config.get("CpuQuota") or config.get("CpusetCpus"):
        return None
    return "has no CPU shares, quota or CPU set"


def read_only_root_filesystem(container: Container, context: Context) -> Reasons:
    return None if container["HostConfig"].get("ReadonlyRootfs") else "has a writable root file system"


def ports_bound_to_an_interface(container: Container, context: Context) -> Reasons:
    return [
        f"publishes {container_port} on all interfaces (host port {host_port})"
        for container_port, address, host_port in published_ports(container)
        if address in ("", "0.0.0.0", "::")
    ]


def restart_policy(container: Container, context: Context) -> Reasons:
    policy = container["HostConfig"].get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    retries = policy.get("MaximumRetryCount") or 0
    if name in ("always", "unless-stopped"):
        return f"restart policy is {name} (use on-failure:5)"
    if name == "on-failure" and not 0 < retries <= 5:
        return f"restart policy on-failure allows {retries or 'unlimited'} retries (at most 5)"
    return None


def host_pid_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "PidMode", "pid")


def host_ipc_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "IpcMode", "ipc")


def no_host_devices(container: Container, context: Context) -> Reasons:
    return [
        f"has host device {device.get('PathOnHost')} ({device.get('CgroupPermissions') or 'rwm'})"
        for device in container["HostConfig"].get("Devices") or []
    ]


def mount_propagation_not_shared(container: Container, context: Context) -> Reasons:
    return [
        f"mounts {mount.get('Destination')} with {mount.get('Propagation')} propagation"
        for mount in container.get("Mounts") or []
        if mount.get("Propagation") in ("shared", "rshared")
    ]


def host_uts_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "UTSMode", "uts")


def seccomp_not_disabled(container: Container, context: Context) -> Reasons:
    return "runs with seccomp=unconfined" if security_option(container, "seccomp") == "unconfined" else None


def cgroup_parent(container: Container, context: Context) -> Reasons:
    parent = container["HostConfig"].get("CgroupParent")
    return f"runs under custom cgroup parent {parent}" if parent else None


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


def health_checked(container: Container, context: Context) -> Reasons:
    healthcheck = container["Config"].get("Healthcheck") or {}
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return "has no health check"
    if container["State"].get("Health") == "unhealthy":
        return "is unhealthy"
    return None


def pids_limited(container: Container, context: Context) -> Reasons:
    limit = container["HostConfig"].get("PidsLimit")
    return None if limit and limit > 0 else "has no PIDs limit"


def not_on_the_default_bridge(container: Container, context: Context) -> Reasons:
    default = "podman" if container.get("EngineKind") == "podman" else "bridge"
    if default in (container.get("Networks") or []):
        return f"is attached to the default {default!r} network (use a per-application network)"
    return None


def host_user_namespace_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, "UsernsMode", "userns")


def engine_socket_not_mounted(container: Container, context: Context) -> Reasons:
    return [
        f"mounts the engine socket {mount.get('Source')} at {mount.get('Destination')}"
        for mount in container.get("Mounts") or []
        if is_engine_socket(mount)
    ]


def net_raw_dropped(container: Container, context: Context) -> Reasons:
    config = container["HostConfig"]
    if config.get("Privileged"):
        return "keeps NET_RAW (privileged)"
    if capabilities(config.get("CapAdd")) & {"NET_RAW", "ALL"}:
        return "adds NET_RAW"
    if capabilities(config.get("CapDrop")) & {"NET_RAW", "ALL"}:
        return None
    return "keeps NET_RAW (add --cap-drop NET_RAW)"


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "5.1": ContainerCheck(apparmor_profile, needs=["apparmor"], precondition=_apparmor_enabled),
    "5.2": ContainerCheck(selinux_options, needs=["selinux"], precondition=_selinux_enabled),
    "5.3": ContainerCheck(capabilities_restricted),
    "5.4": ContainerCheck(not_privileged),
    "5.5": ContainerCheck(no_sensitive_host_mounts),
    "5.6": ContainerCheck(no_sshd, needs=["processes"]),
    "5.7": ContainerCheck(no_privileged_ports),
    "5.9": ContainerCheck(host_network_not_shared),
    "5.10": ContainerCheck(memory_limited, needs=["cgroup_version"]),
    "5.11": ContainerCheck(cpu_priority),
    "5.12": ContainerCheck(read_only_root_filesystem),
    "5.13": ContainerCheck(ports_bound_to_an_interface),
    "5.14": ContainerCheck(restart_policy),
    "5.15": ContainerCheck(host_pid_not_shared),
    "5.16": ContainerCheck(host_ipc_not_shared),
    "5.17": ContainerCheck(no_host_devices),
    "5.19": ContainerCheck(mount_propagation_not_shared),
    "5.20": ContainerCheck(host_uts_not_shared),
    "5.21": ContainerCheck(seccomp_not_disabled),
    "5.24": ContainerCheck(cgroup_parent),
    "5.25": ContainerCheck(no_new_privileges, needs=["daemon_no_new_privileges"]),
    "5.26": ContainerCheck(health_checked),
    "5.28": ContainerCheck(pids_limited),
    "5.29": ContainerCheck(not_on_the_default_bridge),
    "5.30": ContainerCheck(host_user_namespace_not_shared),
    "5.31": ContainerCheck(engine_socket_not_mounted),
    "BH-5.10": ContainerCheck(net_raw_dropped),
}
