"""CIS Docker Benchmark section 1 (host configuration) and our own host controls (BH-1.n).

Every check reads facts the collector gathered once per host. Where the kernel belongs to someone
else (the host is a container) the checks of loaded audit rules and live kernel parameters are
not applicable, and where auditd does not run the loaded rules are an error: never a pass.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from bulkhead.checks import auditrules
from bulkhead.checks.engine_support import judge
from bulkhead.checks.kernel import UnknownKernel, bugs_affecting, kernel_parameter_findings, upstream_version
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

# CIS 1.1.3 to 1.1.18: the engine's files that audit rules must watch (engine_paths names them).
ENGINE_PATH_CONTROLS = tuple(f"1.1.{number}" for number in range(3, 19))


def configured_rules(state: HostState) -> list[auditrules.AuditRule]:
    files = state.fact("audit_rules_files")
    return auditrules.configured_rules(files["rules_d"], files["audit_rules"])


def same_file(candidates: Mapping[str, str | None], real: str) -> set[str]:
    """``real`` and every candidate path that resolves to it: a rule on any of them covers it."""
    return {real} | {candidate for candidate, resolved in candidates.items() if resolved == real}


def engine_paths_watched(state: HostState, control_id: str) -> Findings:
    """Every existing path CIS names for ``control_id`` is watched for changes by a configured rule."""
    candidates = state.fact("engine_paths")["controls"][control_id]
    existing = sorted({real for real in candidates.values() if real})
    if not existing:
        raise NotApplicable(f"none of {', '.join(candidates)} exists on this host")
    rules = configured_rules(state)
    return [
        f"{real} is not watched by any audit rule in /etc/audit/rules.d"
        for real in existing
        if not auditrules.watches_changes(rules, same_file(candidates, real))
    ]


def engine_files_audited(state: HostState, settings: AuditConfig, control_id: str) -> Findings:
    """The check of each of CIS 1.1.3-1.1.18, on its own paths (CHECKS binds ``control_id``)."""
    return engine_paths_watched(state, control_id)


def data_root_on_its_own_file_system(state: HostState, settings: AuditConfig) -> Findings:
    data_root = state.fact("docker_info").get("DockerRootDir") or "/var/lib/docker"
    mount_points = [entry["mount_point"] for entry in state.fact("mounts")]
    holding = max(
        (point for point in mount_points if data_root == point or data_root.startswith(point.rstrip("/") + "/")),
        key=len,
        default="/",
    )
    return [f"the engine's data root {data_root} is on the root file system"] if holding == "/" else []


def docker_group_members_are_allowed(state: HostState, settings: AuditConfig) -> Findings:
    group = state.fact("docker_group")
    if not group["exists"]:
        raise NotApplicable("there is no docker group on this host")
    allowed = set(settings.get("docker_group_allowlist"))
    return [
        f"{user} is in the docker group but not on docker_group_allowlist"
        for user in group["members"]
        if user not in allowed
    ] + [
        f"{user} has docker as primary group but is not on docker_group_allowlist"
        for user in group["primary"]
        if user not in allowed
    ]


def today() -> datetime.date:
    """The date engine support is judged on (unit tests fix it)."""
    return datetime.date.today()


def engine_release_is_supported(state: HostState, settings: AuditConfig) -> Findings:
    version = state.fact("docker_info").get("ServerVersion")
    if not version:
        raise FactUnavailable("the engine reports no ServerVersion")
    try:
        verdict = judge(
            version,
            state.fact("os_release"),
            today(),
            settings.get("engine_max_superseded_days"),
        )
    except ValueError as error:
        raise FactUnavailable(str(error)) from error
    return [] if verdict.supported else [verdict.reason]


def audit_rules_are_loaded(state: HostState, settings: AuditConfig) -> Findings:
    status = state.fact("audit_status")
    if status["container"]:
        raise NotApplicable(f"this host is a container ({status['container']}): audit rules live in the host's kernel")
    if not status["auditd_running"]:
        raise FactUnavailable("auditd is not running, so the loaded audit rules cannot be checked")
    if (status.get("kernel") or {}).get("enabled") == "0":
        return ["kernel auditing is disabled (auditctl -s: enabled 0)"]
    loaded = auditrules.parse_rules(state.fact("audit_loaded_rules"), "auditctl -l")
    configured = configured_rules(state)
    if not configured:
        return ["no audit rule is configured in /etc/audit/rules.d"]
    return [f"not loaded: {auditrules.describe(rule)}" for rule in auditrules.missing_from_loaded(configured, loaded)]


def admin_clients_and_socket_use_audited(state: HostState, settings: AuditConfig) -> Findings:
    paths = state.fact("engine_paths")
    rules = configured_rules(state)  # read first: unreadable rules are an error, even with nothing to watch
    clients = sorted({real for real in paths["clients"].values() if real})
    sockets = sorted({real for real in paths["sockets"].values() if real})
    if not clients and not sockets:
        raise NotApplicable("no container client and no Docker socket on this host")
    return [
        f"runs of {real} are not recorded by any audit rule"
        for real in clients
        if not auditrules.records_execution(rules, same_file(paths["clients"], real))
    ] + [
        f"connections to {real} are not recorded by any audit rule"
        for real in sockets
        if not auditrules.records_connect(rules, same_file(paths["sockets"], real))
    ]


def group_and_sudoers_changes_audited(state: HostState, settings: AuditConfig) -> Findings:
    rules = configured_rules(state)
    wanted = ["/etc/group", "/etc/gshadow"]
    if state.fact("sudo_config")["installed"]:
        wanted += ["/etc/sudoers", "/etc/sudoers.d"]
    return [
        f"changes to {path} are not recorded by any audit rule"
        for path in wanted
        if not auditrules.watches_changes(rules, [path])
    ]


_SUDO_LOGFILE = re.compile(r"^\s*Defaults\b[^#]*\blogfile\s*=")


def sudo_logs_to_a_file(state: HostState, settings: AuditConfig) -> Findings:
    sudo = state.fact("sudo_config")
    if not sudo["installed"]:
        raise NotApplicable("sudo is not installed")
    if any(_SUDO_LOGFILE.match(line) for text in sudo["files"].values() for line in text.splitlines()):
        return []
    return [
        f"no Defaults logfile= in {', '.join(sudo['files']) or '/etc/sudoers'}: sudo use goes only to the system log"
    ]


def journald_storage(files: Mapping[str, str]) -> str:
    """journald's Storage= after its drop-ins (read in file-name order, the last setting wins)."""
    order = sorted(
        (path for path in files if path != "/etc/systemd/journald.conf"), key=lambda path: path.rsplit("/", 1)[1]
    )
    storage = "auto"
    for path in ["/etc/systemd/journald.conf", *order]:
        for line in files.get(path, "").splitlines():
            match = re.match(r"^\s*Storage\s*=\s*(\S+)", line)
            if match:
                storage = match.group(1)
    return storage


def journal_is_persistent(state: HostState, settings: AuditConfig) -> Findings:
    journald = state.fact("journald_config")
    if not journald["files"]:
        raise NotApplicable("systemd-journald is not installed")
    storage = journald_storage(journald["files"])
    if storage == "persistent" or (storage == "auto" and journald["var_log_journal"]):
        return []
    return [
        f"journald keeps its journal in memory only (Storage={storage}, /var/log/journal "
        f"{'exists' if journald['var_log_journal'] else 'missing'})"
    ]


FORWARDING = re.compile(r"""type\s*=\s*"om(fwd|relp)"|^\s*[^#\s]+\s+@@?\S+""", re.MULTILINE)


def log_forwarded_to_remote_syslog(state: HostState, settings: AuditConfig) -> Findings:
    rsyslog = state.fact("rsyslog_config")
    if not rsyslog["files"]:
        return ["rsyslog is not installed: nothing forwards the system log to a remote target"]
    forwarding = [path for path, text in rsyslog["files"].items() if FORWARDING.search(text)]
    if not forwarding:
        return ["no rsyslog rule forwards the system log to a remote target"]
    if not rsyslog["running"]:
        return [f"rsyslog forwards in {', '.join(forwarding)} but rsyslogd is not running"]
    return []


def engine_events_recorded(state: HostState, settings: AuditConfig) -> Findings:
    if not state.fact("dockerd_processes"):
        raise NotApplicable("no Docker engine runs on this host")
    recorder = state.fact("events_recorder")
    if not recorder["unit"]:
        return ["bulkhead-events.service is not installed: short-lived containers leave no record"]
    if not recorder["running"]:
        return ["bulkhead-events.service is installed but not running"]
    if not recorder["unit_enabled"]:
        return ["bulkhead-events.service is not enabled: it will not run after a reboot"]
    # The recorder noted spans it could not replay: the record is incomplete, and gone containers of
    # that span are neither recorded nor judged. The audit cannot tell what happened: an error.
    losses = recorder.get("losses")
    if losses is None:
        raise FactUnavailable("events_recorder: the collector did not say whether the recorder lost events")
    if losses:
        spans = "; ".join(
            f"from {loss['from'] or 'an unknown time'} to {loss['to']}: {loss['reason']}" for loss in losses
        )
        raise FactUnavailable(
            f"bulkhead-events lost container events ({spans}); containers of that time are not judged"
        )
    return []


def _kernel_parameters(state: HostState, values: Mapping[str, str], where: str) -> Findings:
    findings = kernel_parameter_findings(values, where)
    # dockerd_processes is read whatever ip_forward is: an unreadable process list is an error.
    if state.fact("dockerd_processes") and values.get("net.ipv4.ip_forward") == "0":
        findings.append(f"net.ipv4.ip_forward is 0 {where}, which cuts Docker's bridge networks off")
    return findings


def kernel_parameters_persisted(state: HostState, settings: AuditConfig) -> Findings:
    configured = {key: entry["value"] for key, entry in state.fact("sysctl_configured").items()}
    return _kernel_parameters(state, configured, "in /etc/sysctl.d")


def kernel_parameters_in_effect(state: HostState, settings: AuditConfig) -> Findings:
    reason = state.fact("audit_status")["container"]
    if reason:
        raise NotApplicable(f"this host is a container ({reason}): the kernel parameters are the host's")
    live = {key: value for key, value in state.fact("sysctl_live").items() if value is not None}
    findings = _kernel_parameters(state, live, "in the running kernel")
    configured: dict[str, dict[str, Any]] = state.fact("sysctl_configured")
    return findings + [
        f"{key} is {live[key]} in the running kernel but {entry['value']} in {entry['file']}"
        for key, entry in configured.items()
        if key in live and live[key] != entry["value"]
    ]


def kernel_has_no_known_breakout_bug(state: HostState, settings: AuditConfig) -> Findings:
    kernel = state.fact("kernel")
    try:
        version, source = upstream_version(kernel["release"], kernel["version"])
    except UnknownKernel as error:
        raise NotApplicable(str(error)) from error
    return [f"kernel {source} has {bug.cve} ({bug.name})" for bug in bugs_affecting(version)]


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    **{
        control_id: HostCheck(partial(engine_files_audited, control_id=control_id))
        for control_id in ENGINE_PATH_CONTROLS
    },
    "1.1.1": HostCheck(data_root_on_its_own_file_system),
    "1.1.2": HostCheck(docker_group_members_are_allowed),
    "1.2.2": HostCheck(engine_release_is_supported),
    "BH-1.1": HostCheck(audit_rules_are_loaded),
    "BH-1.2": HostCheck(admin_clients_and_socket_use_audited),
    "BH-1.3": HostCheck(group_and_sudoers_changes_audited),
    "BH-1.4": HostCheck(sudo_logs_to_a_file),
    "BH-1.5": HostCheck(journal_is_persistent),
    "BH-1.6": HostCheck(log_forwarded_to_remote_syslog),
    "BH-1.7": HostCheck(engine_events_recorded),
    "BH-1.8": HostCheck(kernel_parameters_persisted),
    "BH-1.9": HostCheck(kernel_parameters_in_effect),
    "BH-1.10": HostCheck(kernel_has_no_known_breakout_bug),
}
