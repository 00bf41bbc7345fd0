"""CIS Docker Benchmark section 5 (container runtime) and BH-5.x: one check per control, per container.

Each check reads one container's inspect document (Docker or Podman, as the collector normalises
it) and returns its reasons, without the container's name: the caller adds it.
"""

from __future__ import annotations

import re
from typing import Any

from bulkhead.checks.containers import (
    ENGINE_SOCKETS,
    Container,
    capabilities,
    is_engine_socket,
    mebibytes,
    published_ports,
    security_option,
    sensitive_host_path,
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
    """Binds of sensitive host directories however the source is written or linked, and local volumes
    that bind one (``docker volume create -o type=none -o o=bind -o device=/etc``)."""
    found = []
    for mount in container.get("Mounts") or []:
        access = "read-write" if mount.get("RW") else "read-only"
        destination = mount.get("Destination")
        source = str(mount.get("Source") or "")
        if mount.get("Type") == "bind" and not source.endswith(ENGINE_SOCKETS):  # a socket is 5.31's
            shown = sensitive_host_path(source, mount.get("RealSource"))
            if shown:
                found.append(f"mounts host {shown} at {destination} ({access})")
        elif mount.get("Type") == "volume" and mount.get("Name") and (mount.get("Driver") or "local") == "local":
            shown = _volume_bind(container, mount, context)
            if shown:
                found.append(f"mounts volume {mount['Name']}, a bind of host {shown}, at {destination} ({access})")
    return found


def _volume_bind(container: Container, mount: dict[str, Any], context: Context) -> str | None:
    """The sensitive host directory a local volume binds, as a finding names it; None if it binds none."""
    volume = context.need("volumes").find(container, mount["Name"])
    if volume is None and mount.get("DriverOptions") is not None:  # the gate: a volume the request creates
        volume = {"Driver": mount.get("Driver") or "local", "Options": mount["DriverOptions"]}
    if volume is None:
        raise FactUnavailable(
            f"volume {mount['Name']} of engine {container.get('Engine')} is not in its volume list: "
            "what it binds is not known"
        )
    options = volume.get("Options") or {}
    if (volume.get("Driver") or "local") != "local" or not {"bind", "rbind"} & set(str(options.get("o")).split(",")):
        return None
    return sensitive_host_path(str(options.get("device") or ""), volume.get("RealDevice"))


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


def _shares_host_namespace(container: Container, context: Context, key: str, flag: str) -> Reasons:
    """``--flag=host``, or ``--flag=container:X`` where X (or the container X joins) uses the host's."""
    mode = str(container["HostConfig"].get(key) or "")
    if mode == "host":
        return f"shares the host's {flag} namespace (--{flag}=host)"
    through: list[str] = []
    seen = {container.get("Id")}
    current = container
    while mode.startswith("container:"):
        reference = mode.split(":", 1)[1]
        target = context.need("containers").find(current, reference)
        if target is None:
            raise FactUnavailable(
                f"--{flag}={mode}: no such container on engine {current.get('Engine')} to tell whose namespace it is"
            )
        if target.get("Id") in seen:
            return None  # a loop the engine would not start: no host namespace in it
        seen.add(target.get("Id"))
        through.append(str(target.get("Name")))
        current, mode = target, str(target["HostConfig"].get(key) or "")
    if mode != "host" or not through:
        return None
    reference = str(container["HostConfig"].get(key)).split(":", 1)[1]
    if re.fullmatch(r"[0-9a-f]{64}", reference):
        reference = reference[:12]  # dockerd stores the joined container's full ID
    containers = f"container {through[0]}" if len(through) == 1 else "containers " + ", ".join(through)
    return f"shares the host's {flag} namespace through {containers} (--{flag}=container:{reference})"


def host_network_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, context, "NetworkMode", "network")


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
    return _shares_host_namespace(container, context, "PidMode", "pid")


def host_ipc_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, context, "IpcMode", "ipc")


# dockerd's syntax for --device-cgroup-rule (daemon/oci: deviceCgroupRuleRegex).
DEVICE_CGROUP_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
_DEVICE_KINDS = {"c": "character", "b": "block"}


def no_host_devices(container: Container, context: Context) -> Reasons:
    """Host devices passed with --device, and the devices --device-cgroup-rule lets it use."""
    found = [
        f"has host device {device.get('PathOnHost')} ({device.get('CgroupPermissions') or 'rwm'})"
        for device in container["HostConfig"].get("Devices") or []
    ]
    return found + [_device_rule(str(rule)) for rule in container["HostConfig"].get("DeviceCgroupRules") or []]


def _device_rule(rule: str) -> str:
    match = DEVICE_CGROUP_RULE.match(rule)
    if match is None:
        return f"device cgroup rule {rule!r} cannot be read: judged as allowing every host device"
    kind, major, minor, access = match.groups()
    if kind == "a":
        what = "every host device"
    elif major == "*" and minor == "*":
        what = f"every {_DEVICE_KINDS[kind]} device"
    elif minor == "*":
        what = f"every {_DEVICE_KINDS[kind]} device of major {major}"
    elif major == "*":
        what = f"{_DEVICE_KINDS[kind]} devices of minor {minor} of every major"
    else:
        what = f"{_DEVICE_KINDS[kind]} device {major}:{minor}"
    return f"device cgroup rule {rule!r} allows {what} ({access})"


def mount_propagation_not_shared(container: Container, context: Context) -> Reasons:
    return [
        f"mounts {mount.get('Destination')} with {mount.get('Propagation')} propagation"
        for mount in container.get("Mounts") or []
        if mount.get("Propagation") in ("shared", "rshared")
    ]


def host_uts_not_shared(container: Container, context: Context) -> Reasons:
    return _shares_host_namespace(container, context, "UTSMode", "uts")


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
    return _shares_host_namespace(container, context, "UsernsMode", "userns")


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


def system_paths_masked(container: Container, context: Context) -> Reasons:
    """``--security-opt systempaths=unconfined`` empties both lists; null is the engine's defaults."""
    config = container["HostConfig"]
    found = []
    if config.get("MaskedPaths") == []:
        found.append(
            "masks no system path "
            "(systempaths=unconfined: /proc/kcore, /proc/keys, /sys/firmware and others are visible)"
        )
    if config.get("ReadonlyPaths") == []:
        found.append(
            "makes no system path read-only "
            "(systempaths=unconfined: /proc/sys, /proc/sysrq-trigger and others are writable)"
        )
    return found


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "5.1": ContainerCheck(apparmor_profile, needs=["apparmor"], precondition=_apparmor_enabled),
    "5.2": ContainerCheck(selinux_options, needs=["selinux"], precondition=_selinux_enabled),
    "5.3": ContainerCheck(capabilities_restricted),
    "5.4": ContainerCheck(not_privileged),
    "5.5": ContainerCheck(no_sensitive_host_mounts, needs=["volumes"]),
    "5.6": ContainerCheck(no_sshd, needs=["processes"]),
    "5.7": ContainerCheck(no_privileged_ports),
    "5.9": ContainerCheck(host_network_not_shared, needs=["containers"]),
    "5.10": ContainerCheck(memory_limited, needs=["cgroup_version"]),
    "5.11": ContainerCheck(cpu_priority),
    "5.12": ContainerCheck(read_only_root_filesystem),
    "5.13": ContainerCheck(ports_bound_to_an_interface),
    "5.14": ContainerCheck(restart_policy),
    "5.15": ContainerCheck(host_pid_not_shared, needs=["containers"]),
    "5.16": ContainerCheck(host_ipc_not_shared, needs=["containers"]),
    "5.17": ContainerCheck(no_host_devices),
    "5.19": ContainerCheck(mount_propagation_not_shared),
    "5.20": ContainerCheck(host_uts_not_shared, needs=["containers"]),
    "5.21": ContainerCheck(seccomp_not_disabled),
    "5.24": ContainerCheck(cgroup_parent),
    "5.25": ContainerCheck(no_new_privileges, needs=["daemon_no_new_privileges"]),
    "5.26": ContainerCheck(health_checked),
    "5.28": ContainerCheck(pids_limited),
    "5.29": ContainerCheck(not_on_the_default_bridge),
    "5.30": ContainerCheck(host_user_namespace_not_shared, needs=["containers"]),
    "5.31": ContainerCheck(engine_socket_not_mounted),
    "BH-5.10": ContainerCheck(net_raw_dropped),
    "BH-5.11": ContainerCheck(system_paths_masked),
}
