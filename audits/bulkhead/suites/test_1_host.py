"""CIS Docker Benchmark section 1 (host configuration) and our own host controls (BH-1.n).

Every check reads facts the collector gathered once per host. Where the kernel belongs to someone
else (the host is a container) the checks of loaded audit rules and live kernel parameters are
not applicable, and where auditd does not run the loaded rules are an error: never a pass.
"""

import datetime
import re

import pytest

from bulkhead.checks import auditrules
from bulkhead.checks.engine_support import judge
from bulkhead.checks.kernel import UnknownKernel, bugs_affecting, upstream_version
from bulkhead.facts import FactUnavailable
from bulkhead.verdict import fail, fail_for_each, not_applicable

HARDENED_MINIMUMS = {
    "fs.protected_hardlinks": 1,
    "fs.protected_symlinks": 1,
    "fs.protected_fifos": 1,
    "fs.protected_regular": 1,
    "kernel.dmesg_restrict": 1,
    "kernel.unprivileged_bpf_disabled": 1,
}


def configured_rules(state):
    files = state.fact("audit_rules_files")
    return auditrules.configured_rules(files["rules_d"], files["audit_rules"])


def engine_paths_watched(state, control):
    """Every existing path CIS names for ``control`` is watched for changes by a configured rule."""
    candidates = state.fact("engine_paths")["controls"][control]
    existing = sorted({real for real in candidates.values() if real})
    if not existing:
        not_applicable(f"none of {', '.join(candidates)} exists on this host")
    rules = configured_rules(state)
    missing = []
    for real in existing:
        names = {real} | {candidate for candidate, resolved in candidates.items() if resolved == real}
        if not auditrules.watches_changes(rules, names):
            missing.append(f"{real} is not watched by any audit rule in /etc/audit/rules.d")
    fail_for_each(missing)


@pytest.mark.control("1.1.1")
def test_data_root_on_its_own_file_system(state):
    info = state.fact("docker_info")
    data_root = info.get("DockerRootDir") or "/var/lib/docker"
    mount_points = [entry["mount_point"] for entry in state.fact("mounts")]
    holding = max(
        (point for point in mount_points if data_root == point or data_root.startswith(point.rstrip("/") + "/")),
        key=len,
        default="/",
    )
    if holding == "/":
        fail(f"the engine's data root {data_root} is on the root file system")


@pytest.mark.control("1.1.2")
def test_docker_group_members_are_allowed(state, audit_config):
    group = state.fact("docker_group")
    if not group["exists"]:
        not_applicable("there is no docker group on this host")
    allowed = set(audit_config.get("docker_group_allowlist"))
    fail_for_each(
        [
            f"{user} is in the docker group but not on docker_group_allowlist"
            for user in group["members"]
            if user not in allowed
        ]
        + [
            f"{user} has docker as primary group but is not on docker_group_allowlist"
            for user in group["primary"]
            if user not in allowed
        ]
    )


@pytest.mark.control("1.1.3")
def test_engine_files_audited_1_1_3(state):
    engine_paths_watched(state, "1.1.3")


@pytest.mark.control("1.1.4")
def test_engine_files_audited_1_1_4(state):
    engine_paths_watched(state, "1.1.4")


@pytest.mark.control("1.1.5")
def test_engine_files_audited_1_1_5(state):
    engine_paths_watched(state, "1.1.5")


@pytest.mark.control("1.1.6")
def test_engine_files_audited_1_1_6(state):
    engine_paths_watched(state, "1.1.6")


@pytest.mark.control("1.1.7")
def test_engine_files_audited_1_1_7(state):
    engine_paths_watched(state, "1.1.7")


@pytest.mark.control("1.1.8")
def test_engine_files_audited_1_1_8(state):
    engine_paths_watched(state, "1.1.8")


@pytest.mark.control("1.1.9")
def test_engine_files_audited_1_1_9(state):
    engine_paths_watched(state, "1.1.9")


@pytest.mark.control("1.1.10")
def test_engine_files_audited_1_1_10(state):
    engine_paths_watched(state, "1.1.10")


@pytest.mark.control("1.1.11")
def test_engine_files_audited_1_1_11(state):
    engine_paths_watched(state, "1.1.11")


@pytest.mark.control("1.1.12")
def test_engine_files_audited_1_1_12(state):
    engine_paths_watched(state, "1.1.12")


@pytest.mark.control("1.1.13")
def test_engine_files_audited_1_1_13(state):
    engine_paths_watched(state, "1.1.13")


@pytest.mark.control("1.1.14")
def test_engine_files_audited_1_1_14(state):
    engine_paths_watched(state, "1.1.14")


@pytest.mark.control("1.1.15")
def test_engine_files_audited_1_1_15(state):
    engine_paths_watched(state, "1.1.15")


@pytest.mark.control("1.1.16")
def test_engine_files_audited_1_1_16(state):
    engine_paths_watched(state, "1.1.16")


@pytest.mark.control("1.1.17")
def test_engine_files_audited_1_1_17(state):
    engine_paths_watched(state, "1.1.17")


@pytest.mark.control("1.1.18")
def test_engine_files_audited_1_1_18(state):
    engine_paths_watched(state, "1.1.18")


@pytest.mark.control("1.2.2")
def test_engine_release_is_supported(state, audit_config):
    version = state.fact("docker_info").get("ServerVersion")
    if not version:
        raise FactUnavailable("the engine reports no ServerVersion")
    try:
        verdict = judge(
            version,
            state.fact("os_release"),
            datetime.date.today(),
            audit_config.get("engine_max_superseded_days"),
        )
    except ValueError as error:
        raise FactUnavailable(str(error)) from error
    if not verdict.supported:
        fail(verdict.reason)


@pytest.mark.control("BH-1.1")
def test_audit_rules_are_loaded(state):
    status = state.fact("audit_status")
    if status["container"]:
        not_applicable(f"this host is a container ({status['container']}): audit rules live in the host's kernel")
    if not status["auditd_running"]:
        raise FactUnavailable("auditd is not running, so the loaded audit rules cannot be checked")
    kernel = status.get("kernel") or {}
    if kernel.get("enabled") == "0":
        fail("kernel auditing is disabled (auditctl -s: enabled 0)")
    loaded = auditrules.parse_rules(state.fact("audit_loaded_rules"), "auditctl -l")
    configured = configured_rules(state)
    if not configured:
        fail("no audit rule is configured in /etc/audit/rules.d")
    fail_for_each(
        f"not loaded: {auditrules.describe(rule)}" for rule in auditrules.missing_from_loaded(configured, loaded)
    )


@pytest.mark.control("BH-1.2")
def test_admin_clients_and_socket_use_audited(state):
    paths = state.fact("engine_paths")
    rules = configured_rules(state)
    findings = []
    clients = sorted({real for real in paths["clients"].values() if real})
    sockets = {real for real in paths["sockets"].values() if real}
    if not clients and not sockets:
        not_applicable("no container client and no Docker socket on this host")
    for real in clients:
        names = {real} | {candidate for candidate, resolved in paths["clients"].items() if resolved == real}
        if not auditrules.records_execution(rules, names):
            findings.append(f"runs of {real} are not recorded by any audit rule")
    for real in sorted(sockets):
        names = {real} | {candidate for candidate, resolved in paths["sockets"].items() if resolved == real}
        if not auditrules.records_connect(rules, names):
            findings.append(f"connections to {real} are not recorded by any audit rule")
    fail_for_each(findings)


@pytest.mark.control("BH-1.3")
def test_group_and_sudoers_changes_audited(state):
    rules = configured_rules(state)
    wanted = ["/etc/group", "/etc/gshadow"]
    if state.fact("sudo_config")["installed"]:
        wanted += ["/etc/sudoers", "/etc/sudoers.d"]
    fail_for_each(
        f"changes to {path} are not recorded by any audit rule"
        for path in wanted
        if not auditrules.watches_changes(rules, [path])
    )


@pytest.mark.control("BH-1.4")
def test_sudo_logs_to_a_file(state):
    sudo = state.fact("sudo_config")
    if not sudo["installed"]:
        not_applicable("sudo is not installed")
    for text in sudo["files"].values():
        for line in text.splitlines():
            if re.match(r"^\s*Defaults\b[^#]*\blogfile\s*=", line):
                return
    fail(f"no Defaults logfile= in {', '.join(sudo['files']) or '/etc/sudoers'}: sudo use goes only to the system log")


def journald_storage(files):
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


@pytest.mark.control("BH-1.5")
def test_journal_is_persistent(state):
    journald = state.fact("journald_config")
    if not journald["files"]:
        not_applicable("systemd-journald is not installed")
    storage = journald_storage(journald["files"])
    if storage == "persistent" or (storage == "auto" and journald["var_log_journal"]):
        return
    fail(
        f"journald keeps its journal in memory only (Storage={storage}, /var/log/journal "
        f"{'exists' if journald['var_log_journal'] else 'missing'})"
    )


FORWARDING = re.compile(r"""type\s*=\s*"om(fwd|relp)"|^\s*[^#\s]+\s+@@?\S+""", re.MULTILINE)


@pytest.mark.control("BH-1.6")
def test_log_forwarded_to_remote_syslog(state):
    rsyslog = state.fact("rsyslog_config")
    if not rsyslog["files"]:
        fail("rsyslog is not installed: nothing forwards the system log to a remote target")
    forwarding = [path for path, text in rsyslog["files"].items() if FORWARDING.search(text)]
    if not forwarding:
        fail("no rsyslog rule forwards the system log to a remote target")
    if not rsyslog["running"]:
        fail(f"rsyslog forwards in {', '.join(forwarding)} but rsyslogd is not running")


@pytest.mark.control("BH-1.7")
def test_engine_events_recorded(state):
    if not state.fact("dockerd_processes"):
        not_applicable("no Docker engine runs on this host")
    recorder = state.fact("events_recorder")
    if not recorder["unit"]:
        fail("bulkhead-events.service is not installed: short-lived containers leave no record")
    if not recorder["running"]:
        fail("bulkhead-events.service is installed but not running")
    if not recorder["unit_enabled"]:
        fail("bulkhead-events.service is not enabled: it will not run after a reboot")


def kernel_parameter_findings(values, state, where):
    findings = []
    for key, minimum in HARDENED_MINIMUMS.items():
        value = values.get(key)
        if value is None:
            findings.append(f"{key} is not set {where}")
        elif not value.isdigit() or int(value) < minimum:
            findings.append(f"{key} is {value} {where}, needs at least {minimum}")
    namespaces = values.get("user.max_user_namespaces")
    if namespaces is None:
        findings.append(f"user.max_user_namespaces is not set {where} (no bound on user namespaces)")
    elif namespaces == "0":
        findings.append(f"user.max_user_namespaces is 0 {where}: rootless engines and userns-remap cannot start")
    if state.fact("dockerd_processes") and values.get("net.ipv4.ip_forward") == "0":
        findings.append(f"net.ipv4.ip_forward is 0 {where}, which cuts Docker's bridge networks off")
    return findings


@pytest.mark.control("BH-1.8")
def test_kernel_parameters_persisted(state):
    configured = {key: entry["value"] for key, entry in state.fact("sysctl_configured").items()}
    fail_for_each(kernel_parameter_findings(configured, state, "in /etc/sysctl.d"))


@pytest.mark.control("BH-1.9")
def test_kernel_parameters_in_effect(state):
    reason = state.fact("audit_status")["container"]
    if reason:
        not_applicable(f"this host is a container ({reason}): the kernel parameters are the host's")
    live = {key: value for key, value in state.fact("sysctl_live").items() if value is not None}
    findings = kernel_parameter_findings(live, state, "in the running kernel")
    for key, entry in state.fact("sysctl_configured").items():
        if key in live and live[key] != entry["value"]:
            findings.append(f"{key} is {live[key]} in the running kernel but {entry['value']} in {entry['file']}")
    fail_for_each(findings)


@pytest.mark.control("BH-1.10")
def test_kernel_has_no_known_breakout_bug(state):
    kernel = state.fact("kernel")
    try:
        version, source = upstream_version(kernel["release"], kernel["version"])
    except UnknownKernel as error:
        not_applicable(str(error))
    fail_for_each(f"kernel {source} has {bug.cve} ({bug.name})" for bug in bugs_affecting(version))
