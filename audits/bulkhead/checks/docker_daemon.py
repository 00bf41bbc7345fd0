"""CIS Docker Benchmark section 2: the rootful Docker daemon's configuration (2.9 is in ``userns_remap``).

Settings come from daemon.json and dockerd's command line together (``daemon.effective_setting``);
list-valued ones (hosts, registries, ulimits, storage options) from both at once.
"""

from __future__ import annotations

from bulkhead.checks.daemon import (
    Setting,
    command_line_values,
    daemon_json_settings,
    default_bridge,
    docker_info,
    dockerd_argv,
    effective_setting,
)
from bulkhead.checks.files import tls_path
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState, NotApplicable

# Log drivers that ship container logs off the json files on the host's disk.
CENTRAL_LOG_DRIVERS = {"journald", "syslog", "gelf", "fluentd", "splunk", "awslogs", "gcplogs", "logentries", "etwlogs"}


def flag_values(state: HostState, *flags: str) -> list[str]:
    """Every value the rootful dockerd's command line gives to any of ``flags``."""
    return command_line_values(dockerd_argv(state), *flags)


def configured_list(state: HostState, key: str, *flags: str) -> list[str]:
    """daemon.json's list ``key`` followed by the values of ``flags`` (daemon.json is read first)."""
    return list(daemon_json_settings(state).get(key) or []) + flag_values(state, *flags)


def icc_disabled(state: HostState, settings: AuditConfig) -> Findings:
    configured = effective_setting(state, "icc", True, boolean=True)
    if configured.value is not False:
        return [f"inter-container communication is enabled: icc is {configured.describe()}"]
    bridge_icc = default_bridge(state).get("Options", {}).get("com.docker.network.bridge.enable_icc")
    if bridge_icc != "false":
        return [
            f"icc is off in the configuration, but the running default bridge has enable_icc={bridge_icc}: dockerd "
            "recreates it only when it starts with no running containers (live restore keeps the old bridge)"
        ]
    return []


def log_level_info(state: HostState, settings: AuditConfig) -> Findings:
    level = effective_setting(state, "log-level", "info")
    short = flag_values(state, "-l")
    if short:
        level = Setting(short[-1], "command line")
    if level.value != "info":
        return [f"the daemon logs at level {level.describe()}, not info"]
    return []


def iptables_allowed(state: HostState, settings: AuditConfig) -> Findings:
    iptables = effective_setting(state, "iptables", True, boolean=True)
    if iptables.value is not True:
        return [f"Docker may not manage iptables: iptables is {iptables.describe()}"]
    return []


def no_insecure_registries(state: HostState, settings: AuditConfig) -> Findings:
    configured = configured_list(state, "insecure-registries", "--insecure-registry")
    registry = docker_info(state).get("RegistryConfig") or {}
    cidrs = [cidr for cidr in registry.get("InsecureRegistryCIDRs") or [] if cidr != "127.0.0.0/8"]
    indexes = [name for name, index in (registry.get("IndexConfigs") or {}).items() if not index.get("Secure", True)]
    return [f"insecure registry {name} is configured" for name in configured] + [
        f"the engine treats {name} as an insecure registry" for name in sorted(set(cidrs + indexes) - set(configured))
    ]


def no_aufs(state: HostState, settings: AuditConfig) -> Findings:
    return ["the engine uses the aufs storage driver"] if docker_info(state).get("Driver") == "aufs" else []


def tcp_listeners_use_tls(state: HostState, settings: AuditConfig) -> Findings:
    tcp = [host for host in configured_list(state, "hosts", "-H", "--host") if host.startswith("tcp://")]
    if not tcp:
        raise NotApplicable("the engine listens on no TCP socket")
    listeners = ", ".join(tcp)
    findings = []
    tlsverify = effective_setting(state, "tlsverify", False, boolean=True)
    if tlsverify.value is not True:
        findings.append(f"{listeners} without client verification: tlsverify is {tlsverify.describe()}")
    for key in ("tlscacert", "tlscert", "tlskey"):
        if not tls_path(state, key):
            findings.append(f"{listeners} without {key}")
    return findings


def default_ulimits(state: HostState, settings: AuditConfig) -> Findings:
    ulimits = daemon_json_settings(state).get("default-ulimits") or {}
    flags = flag_values(state, "--default-ulimit")  # read even when daemon.json has them: no dockerd is an error
    if not ulimits and not flags:
        return ["no default ulimits are set for containers (default-ulimits)"]
    return []


def cgroup_parent(state: HostState, settings: AuditConfig) -> Findings:
    if not effective_setting(state, "cgroup-parent", "").value:
        return ["containers run in the engine's default cgroup parent, without limits for all of them together"]
    return []


def base_device_size_unchanged(state: HostState, settings: AuditConfig) -> Findings:
    options = configured_list(state, "storage-opts", "--storage-opt")
    return [f"storage option {option} changes the base device size" for option in options if "dm.basesize" in option]


def authorization_plugin(state: HostState, settings: AuditConfig) -> Findings:
    if not (docker_info(state).get("Plugins") or {}).get("Authorization"):
        return ["no authorization plugin checks Docker client commands"]
    return []


def central_logging(state: HostState, settings: AuditConfig) -> Findings:
    driver = docker_info(state).get("LoggingDriver")
    if driver not in CENTRAL_LOG_DRIVERS:
        return [f"containers log with the {driver} driver, on this host only"]
    return []


def no_new_privileges(state: HostState, settings: AuditConfig) -> Findings:
    setting = effective_setting(state, "no-new-privileges", False, boolean=True)
    if setting.value is not True:
        return [f"containers may acquire new privileges: no-new-privileges is {setting.describe()}"]
    return []


def live_restore(state: HostState, settings: AuditConfig) -> Findings:
    if docker_info(state).get("LiveRestoreEnabled") is not True:
        return ["live restore is off: a daemon restart stops every container"]
    return []


def userland_proxy_disabled(state: HostState, settings: AuditConfig) -> Findings:
    setting = effective_setting(state, "userland-proxy", True, boolean=True)
    if setting.value is not False:
        return [f"the userland proxy is enabled: userland-proxy is {setting.describe()}"]
    return []


def daemon_seccomp_profile(state: HostState, settings: AuditConfig) -> Findings:
    profile = effective_setting(state, "seccomp-profile", "")
    if not profile.value or profile.value == "unconfined":
        return [f"no daemon-wide custom seccomp profile: seccomp-profile is {profile.describe()}"]
    options = docker_info(state).get("SecurityOptions") or []
    if not any(option.startswith("name=seccomp") for option in options):
        return ["the running engine reports no seccomp support"]
    return []


def experimental_off(state: HostState, settings: AuditConfig) -> Findings:
    return ["experimental features are enabled"] if docker_info(state).get("ExperimentalBuild") is True else []


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "2.2": HostCheck(icc_disabled),
    "2.3": HostCheck(log_level_info),
    "2.4": HostCheck(iptables_allowed),
    "2.5": HostCheck(no_insecure_registries),
    "2.6": HostCheck(no_aufs),
    "2.7": HostCheck(tcp_listeners_use_tls),
    "2.8": HostCheck(default_ulimits),
    "2.10": HostCheck(cgroup_parent),
    "2.11": HostCheck(base_device_size_unchanged),
    "2.12": HostCheck(authorization_plugin),
    "2.13": HostCheck(central_logging),
    "2.14": HostCheck(no_new_privileges),
    "2.15": HostCheck(live_restore),
    "2.16": HostCheck(userland_proxy_disabled),
    "2.17": HostCheck(daemon_seccomp_profile),
    "2.18": HostCheck(experimental_off),
}
