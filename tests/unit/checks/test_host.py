"""bulkhead.checks.host: each section-1 check (CIS 1.x, BH-1.x) on hand-written host facts.

``host()`` is a host where every section-1 control passes; each case breaks (or bends) one thing.
Loaded audit rules and live kernel parameters never pass blind: in a container they are not
applicable, and where auditd does not run they are an error.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.checks import host as checks
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

TODAY = datetime.date(2026, 11, 29)
DEBIAN_12 = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}
RULES_FILE = "/etc/audit/rules.d/50-bulkhead.rules"
SYSCTL_FILE = "/etc/sysctl.d/90-bulkhead.conf"

# CIS 1.1.3-1.1.18: the one engine file each control's rule must watch on the test host.
ENGINE_FILES = {
    "1.1.3": "/usr/sbin/dockerd",
    "1.1.4": "/run/containerd",
    "1.1.5": "/var/lib/docker",
    "1.1.6": "/etc/docker",
    "1.1.7": "/lib/systemd/system/docker.service",
    "1.1.8": "/run/containerd/containerd.sock",
    "1.1.9": "/lib/systemd/system/docker.socket",
    "1.1.10": "/etc/default/docker",
    "1.1.11": "/etc/docker/daemon.json",
    "1.1.12": "/etc/containerd/config.toml",
    "1.1.13": "/etc/sysconfig/docker",
    "1.1.14": "/usr/bin/containerd",
    "1.1.15": "/usr/bin/containerd-shim",
    "1.1.16": "/usr/bin/containerd-shim-runc-v1",
    "1.1.17": "/usr/bin/containerd-shim-runc-v2",
    "1.1.18": "/usr/bin/runc",
}

RULES = "".join(f"-w {path} -p wa -k bulkhead_engine\n" for path in ENGINE_FILES.values()) + (
    "-a always,exit -F path=/usr/bin/docker -F perm=x -F auid!=unset -k bulkhead_container_client\n"
    "-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=unset -k bulkhead_docker_socket\n"
    "-w /etc/group -p wa -k bulkhead_admins\n"
    "-w /etc/gshadow -p wa -k bulkhead_admins\n"
    "-w /etc/sudoers -p wa -k bulkhead_admins\n"
    "-w /etc/sudoers.d -p wa -k bulkhead_admins\n"
)

HARDENED = {
    "fs.protected_hardlinks": "1",
    "fs.protected_symlinks": "1",
    "fs.protected_fifos": "1",
    "fs.protected_regular": "2",
    "kernel.dmesg_restrict": "1",
    "kernel.unprivileged_bpf_disabled": "1",
    "user.max_user_namespaces": "15000",
    "net.ipv4.ip_forward": "1",
}

DOCKERD = {"pid": 1, "uid": 0, "user": "root", "rootless": False, "argv": ["/usr/sbin/dockerd"]}


def sysctl_files(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {key: {"value": value, "file": SYSCTL_FILE} for key, value in values.items()}


def rules(text: str) -> dict[str, Any]:
    return {"rules_d": {RULES_FILE: text} if text else {}, "audit_rules": text}


def host(**facts: Any) -> HostState:
    """A host where every section-1 control passes; ``facts`` replace whole facts (None: an error)."""
    values: dict[str, Any] = {
        "docker_info": {"DockerRootDir": "/var/lib/docker", "ServerVersion": "20.10.24+dfsg1"},
        "mounts": [{"mount_point": "/"}, {"mount_point": "/var/lib/docker"}],
        "docker_group": {"exists": True, "members": [], "primary": []},
        "engine_paths": {
            "controls": {control: {path: path} for control, path in ENGINE_FILES.items()},
            "clients": {"/usr/bin/docker": "/usr/bin/docker", "/usr/local/bin/docker": None},
            "sockets": {"/run/docker.sock": "/run/docker.sock", "/var/run/docker.sock": "/run/docker.sock"},
        },
        "audit_rules_files": rules(RULES),
        "audit_status": {"auditd_running": True, "container": None, "kernel": {"enabled": "1", "pid": "42"}},
        "audit_loaded_rules": RULES,
        "os_release": DEBIAN_12,
        "sudo_config": {"installed": True, "files": {"/etc/sudoers": "Defaults logfile=/var/log/sudo.log\n"}},
        "journald_config": {
            "files": {"/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"},
            "var_log_journal": True,
        },
        "rsyslog_config": {"files": {"/etc/rsyslog.d/90-remote.conf": "*.* @@logs.example.com:514\n"}, "running": True},
        "dockerd_processes": [DOCKERD],
        "events_recorder": {"unit": True, "running": True, "unit_enabled": True, "losses": []},
        "sysctl_configured": sysctl_files(HARDENED),
        "sysctl_live": dict(HARDENED),
        "kernel": {
            "release": "6.1.0-18-amd64",
            "version": "Linux version 6.1.0-18-amd64 ... Debian 6.1.76-1 (2024-02-01)",
        },
    }
    values.update(facts)
    return HostState(
        "test",
        {name: {"error": f"{name} broke"} if value is None else {"value": value} for name, value in values.items()},
    )


def verdict(control_id: str, state: HostState, settings: AuditConfig | None = None) -> tuple[str, Any]:
    """(outcome, findings) for fail and pass, (outcome, reason) for not_applicable and error."""
    try:
        findings = REGISTRY[control_id].judge(state, settings or AuditConfig())
    except NotApplicable as reason:
        return "not_applicable", str(reason)
    except FactUnavailable as reason:
        return "error", str(reason)
    return ("fail" if findings else "pass"), findings


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "today", lambda: TODAY)


def paths(**groups: dict[str, str | None]) -> dict[str, Any]:
    """engine_paths with ``groups`` (controls, clients, sockets) replaced."""
    base = host().fact("engine_paths")
    return {**base, **groups}


def sudo(files: dict[str, str], installed: bool = True) -> dict[str, Any]:
    return {"installed": installed, "files": files}


def journald(files: dict[str, str], var_log_journal: bool = True) -> dict[str, Any]:
    return {"files": files, "var_log_journal": var_log_journal}


def rsyslog(files: dict[str, str], running: bool = True) -> dict[str, Any]:
    return {"files": files, "running": running}


def hardened(**changes: str | None) -> dict[str, str]:
    """HARDENED with keys changed (``fs__protected_fifos="0"``) or removed (None)."""
    values = dict(HARDENED)
    for key, value in changes.items():
        name = key.replace("__", ".")
        if value is None:
            values.pop(name)
        else:
            values[name] = value
    return values


IN_CONTAINER = {"auditd_running": False, "container": "it runs in a pid namespace of its own", "kernel": None}
NO_AUDITD = {"auditd_running": False, "container": None, "kernel": {"enabled": "0", "pid": "0"}}
ALLOW_ALICE = AuditConfig({"docker_group_allowlist": ["alice"]})
DOCKERD_RULE = "-w /usr/sbin/dockerd -p wxa -k bulkhead_engine\n"
RSYSLOG_REMOTE = "/etc/rsyslog.d/90-remote.conf"

# (control, facts, settings, outcome, findings for fail/pass or the reason for not_applicable/error)
CASES: list[tuple[str, dict[str, Any], AuditConfig | None, str, Any]] = [
    ("1.1.1", {}, None, "pass", []),
    ("1.1.1", {"mounts": [{"mount_point": "/"}]}, None, "fail", ["the engine's data root /var/lib/docker is on the root file system"]),
    ("1.1.1", {"mounts": [{"mount_point": "/"}, {"mount_point": "/var/lib/docker2"}]}, None, "fail", ["the engine's data root /var/lib/docker is on the root file system"]),
    ("1.1.1", {"mounts": [{"mount_point": "/"}, {"mount_point": "/var"}]}, None, "pass", []),
    ("1.1.1", {"docker_info": {"DockerRootDir": "/srv/docker"}, "mounts": [{"mount_point": "/"}, {"mount_point": "/var/lib/docker"}]}, None, "fail", ["the engine's data root /srv/docker is on the root file system"]),
    ("1.1.1", {"docker_info": {"DockerRootDir": "/srv/docker"}, "mounts": [{"mount_point": "/"}, {"mount_point": "/srv/docker"}]}, None, "pass", []),
    ("1.1.1", {"docker_info": {}, "mounts": [{"mount_point": "/"}]}, None, "fail", ["the engine's data root /var/lib/docker is on the root file system"]),
    ("1.1.1", {"mounts": []}, None, "fail", ["the engine's data root /var/lib/docker is on the root file system"]),
    ("1.1.1", {"docker_info": None}, None, "error", "docker_info: docker_info broke"),
    ("1.1.2", {}, None, "pass", []),
    ("1.1.2", {"docker_group": {"exists": True, "members": ["alice"], "primary": []}}, ALLOW_ALICE, "pass", []),
    ("1.1.2", {"docker_group": {"exists": True, "members": ["alice", "bob"], "primary": ["carol"]}}, ALLOW_ALICE, "fail", ["bob is in the docker group but not on docker_group_allowlist", "carol has docker as primary group but is not on docker_group_allowlist"]),
    ("1.1.2", {"docker_group": {"exists": True, "members": ["alice"], "primary": []}}, None, "fail", ["alice is in the docker group but not on docker_group_allowlist"]),
    ("1.1.2", {"docker_group": {"exists": False, "members": [], "primary": []}}, None, "not_applicable", "there is no docker group on this host"),
    ("1.2.2", {}, None, "pass", []),
    ("1.2.2", {"docker_info": {"ServerVersion": "29.0.1"}}, None, "pass", []),
    ("1.2.2", {"docker_info": {"ServerVersion": "20.10.24"}}, None, "fail", ["engine 20.10.24: series 20.10 was superseded on 2023-02-01 (1397 days ago, more than 180)"]),
    ("1.2.2", {"os_release": {"ID": "debian", "VERSION_ID": "11", "PRETTY_NAME": "Debian GNU/Linux 11 (bullseye)"}}, None, "fail", ["engine 20.10.24+dfsg1 came from Debian GNU/Linux 11 (bullseye), whose support ended on 2026-08-31"]),
    ("1.2.2", {"docker_info": {"ServerVersion": "28.5.0"}}, None, "fail", ["engine 28.5.0: series 28.5 was superseded on 2025-11-10 (384 days ago, more than 180)"]),
    ("1.2.2", {"docker_info": {"ServerVersion": "28.5.0"}}, AuditConfig({"engine_max_superseded_days": 384}), "pass", []),
    ("1.2.2", {"docker_info": {"ServerVersion": ""}}, None, "error", "the engine reports no ServerVersion"),
    ("1.2.2", {"docker_info": {}}, None, "error", "the engine reports no ServerVersion"),
    ("1.2.2", {"docker_info": {"ServerVersion": "latest"}}, None, "error", "cannot read the engine version 'latest'"),
    ("1.2.2", {"os_release": None}, None, "error", "os_release: os_release broke"),
    ("BH-1.1", {}, None, "pass", []),
    ("BH-1.1", {"audit_status": {"auditd_running": True, "container": None, "kernel": None}}, None, "pass", []),
    ("BH-1.1", {"audit_status": IN_CONTAINER}, None, "not_applicable", "this host is a container (it runs in a pid namespace of its own): audit rules live in the host's kernel"),
    ("BH-1.1", {"audit_status": NO_AUDITD}, None, "error", "auditd is not running, so the loaded audit rules cannot be checked"),
    ("BH-1.1", {"audit_status": {"auditd_running": True, "container": None, "kernel": {"enabled": "0"}}, "audit_loaded_rules": None}, None, "fail", ["kernel auditing is disabled (auditctl -s: enabled 0)"]),
    ("BH-1.1", {"audit_loaded_rules": None}, None, "error", "audit_loaded_rules: audit_loaded_rules broke"),
    ("BH-1.1", {"audit_rules_files": rules(DOCKERD_RULE), "audit_loaded_rules": ""}, None, "fail", [f"not loaded: watch on /usr/sbin/dockerd key bulkhead_engine ({RULES_FILE})"]),
    # Loaded rules are compared by kind, path and key, whatever their spelling.
    ("BH-1.1", {"audit_rules_files": rules(DOCKERD_RULE), "audit_loaded_rules": "-w /usr/sbin/dockerd -p rwxa -F key=bulkhead_engine\n"}, None, "pass", []),
    ("BH-1.1", {"audit_rules_files": rules(""), "audit_loaded_rules": RULES}, None, "fail", ["no audit rule is configured in /etc/audit/rules.d"]),
    ("BH-1.2", {}, None, "pass", []),
    ("BH-1.2", {"audit_rules_files": rules(DOCKERD_RULE)}, None, "fail", ["runs of /usr/bin/docker are not recorded by any audit rule", "connections to /run/docker.sock are not recorded by any audit rule"]),
    # A rule on /var/run/docker.sock covers /run/docker.sock, which it resolves to.
    ("BH-1.2", {"audit_rules_files": rules("-a always,exit -F path=/usr/bin/docker -F perm=x -k c\n-a always,exit -S all -F path=/var/run/docker.sock -k s\n")}, None, "pass", []),
    ("BH-1.2", {"audit_rules_files": rules("-w /usr/bin/docker -p wa -k c\n-a always,exit -S execve -F path=/run/docker.sock -k s\n")}, None, "fail", ["runs of /usr/bin/docker are not recorded by any audit rule", "connections to /run/docker.sock are not recorded by any audit rule"]),
    ("BH-1.2", {"engine_paths": paths(sockets={"/run/docker.sock": None}), "audit_rules_files": rules(DOCKERD_RULE)}, None, "fail", ["runs of /usr/bin/docker are not recorded by any audit rule"]),
    ("BH-1.2", {"engine_paths": paths(clients={"/usr/bin/docker": None}), "audit_rules_files": rules(DOCKERD_RULE)}, None, "fail", ["connections to /run/docker.sock are not recorded by any audit rule"]),
    ("BH-1.2", {"engine_paths": paths(clients={"/usr/bin/docker": None}, sockets={"/run/docker.sock": None})}, None, "not_applicable", "no container client and no Docker socket on this host"),
    ("BH-1.2", {"engine_paths": paths(clients={"/usr/bin/docker": None}, sockets={"/run/docker.sock": None}), "audit_rules_files": None}, None, "error", "audit_rules_files: audit_rules_files broke"),
    ("BH-1.3", {}, None, "pass", []),
    ("BH-1.3", {"audit_rules_files": rules(DOCKERD_RULE)}, None, "fail", [f"changes to {path} are not recorded by any audit rule" for path in ("/etc/group", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d")]),
    ("BH-1.3", {"audit_rules_files": rules("-w /etc/group -p wa -k a\n-w /etc/gshadow -p a -k a\n"), "sudo_config": sudo({}, installed=False)}, None, "pass", []),
    ("BH-1.3", {"audit_rules_files": rules("-w /etc/group -p wa -k a\n-w /etc/gshadow -p wa -k a\n")}, None, "fail", ["changes to /etc/sudoers are not recorded by any audit rule", "changes to /etc/sudoers.d are not recorded by any audit rule"]),
    ("BH-1.3", {"audit_rules_files": rules("-w /etc/group -p r -k a\n-w /etc/gshadow -p wa -k a\n"), "sudo_config": sudo({}, installed=False)}, None, "fail", ["changes to /etc/group are not recorded by any audit rule"]),
    ("BH-1.4", {}, None, "pass", []),
    ("BH-1.4", {"sudo_config": sudo({"/etc/sudoers": "Defaults !lecture\n", "/etc/sudoers.d/log": "  Defaults   !syslog, logfile = /var/log/sudo\n"})}, None, "pass", []),
    ("BH-1.4", {"sudo_config": sudo({"/etc/sudoers": "# Defaults logfile=/var/log/sudo\n"})}, None, "fail", ["no Defaults logfile= in /etc/sudoers: sudo use goes only to the system log"]),
    ("BH-1.4", {"sudo_config": sudo({"/etc/sudoers": "Defaults !lecture # logfile=/x\n", "/etc/sudoers.d/a": ""})}, None, "fail", ["no Defaults logfile= in /etc/sudoers, /etc/sudoers.d/a: sudo use goes only to the system log"]),
    ("BH-1.4", {"sudo_config": sudo({})}, None, "fail", ["no Defaults logfile= in /etc/sudoers: sudo use goes only to the system log"]),
    ("BH-1.4", {"sudo_config": sudo({}, installed=False)}, None, "not_applicable", "sudo is not installed"),
    ("BH-1.5", {}, None, "pass", []),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "[Journal]\n"})}, None, "pass", []),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "[Journal]\n"}, var_log_journal=False)}, None, "fail", ["journald keeps its journal in memory only (Storage=auto, /var/log/journal missing)"]),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "Storage=volatile\n"})}, None, "fail", ["journald keeps its journal in memory only (Storage=volatile, /var/log/journal exists)"]),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "#Storage=persistent\n"}, var_log_journal=False)}, None, "fail", ["journald keeps its journal in memory only (Storage=auto, /var/log/journal missing)"]),
    # Drop-ins are read after journald.conf, in file-name order whatever their directory: the last one wins.
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "Storage=volatile\n", "/usr/lib/systemd/journald.conf.d/20-b.conf": "Storage=persistent\n", "/etc/systemd/journald.conf.d/10-a.conf": "Storage=none\n"})}, None, "pass", []),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf": "Storage=persistent\n", "/etc/systemd/journald.conf.d/20-b.conf": "Storage=volatile\n", "/usr/lib/systemd/journald.conf.d/10-a.conf": "Storage=persistent\n"})}, None, "fail", ["journald keeps its journal in memory only (Storage=volatile, /var/log/journal exists)"]),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf.d/50-a.conf": "Storage=volatile\n"})}, None, "fail", ["journald keeps its journal in memory only (Storage=volatile, /var/log/journal exists)"]),
    ("BH-1.5", {"journald_config": journald({"/etc/systemd/journald.conf.d/50-a.conf": "Storage=persistent\n"}, var_log_journal=False)}, None, "pass", []),
    ("BH-1.5", {"journald_config": journald({})}, None, "not_applicable", "systemd-journald is not installed"),
    ("BH-1.6", {}, None, "pass", []),
    ("BH-1.6", {"rsyslog_config": rsyslog({RSYSLOG_REMOTE: 'action(type="omfwd" target="logs.example.com" port="514")\n'})}, None, "pass", []),
    ("BH-1.6", {"rsyslog_config": rsyslog({RSYSLOG_REMOTE: "*.* @logs.example.com:514\n"})}, None, "pass", []),
    ("BH-1.6", {"rsyslog_config": rsyslog({})}, None, "fail", ["rsyslog is not installed: nothing forwards the system log to a remote target"]),
    ("BH-1.6", {"rsyslog_config": rsyslog({RSYSLOG_REMOTE: "#*.* @@logs.example.com:514\n*.* /var/log/all\n"}, running=False)}, None, "fail", ["no rsyslog rule forwards the system log to a remote target"]),
    ("BH-1.6", {"rsyslog_config": rsyslog({"/etc/rsyslog.conf": "*.* /var/log/all\n", RSYSLOG_REMOTE: "*.* @@logs:514\n"}, running=False)}, None, "fail", [f"rsyslog forwards in {RSYSLOG_REMOTE} but rsyslogd is not running"]),
    ("BH-1.6", {"rsyslog_config": rsyslog({"/etc/rsyslog.conf": "*.* @a:514\n", RSYSLOG_REMOTE: "*.* @@b:514\n"}, running=False)}, None, "fail", [f"rsyslog forwards in /etc/rsyslog.conf, {RSYSLOG_REMOTE} but rsyslogd is not running"]),
    ("BH-1.7", {}, None, "pass", []),
    ("BH-1.7", {"dockerd_processes": [], "events_recorder": None}, None, "not_applicable", "no Docker engine runs on this host"),
    ("BH-1.7", {"events_recorder": {"unit": False, "running": False, "unit_enabled": False}}, None, "fail", ["bulkhead-events.service is not installed: short-lived containers leave no record"]),
    ("BH-1.7", {"events_recorder": {"unit": True, "running": False, "unit_enabled": False}}, None, "fail", ["bulkhead-events.service is installed but not running"]),
    ("BH-1.7", {"events_recorder": {"unit": True, "running": True, "unit_enabled": False}}, None, "fail", ["bulkhead-events.service is not enabled: it will not run after a reboot"]),
    ("BH-1.7", {"events_recorder": None}, None, "error", "events_recorder: events_recorder broke"),
    # Events the recorder could not replay: the record is incomplete, never a silent pass (issue 18).
    ("BH-1.7", {"events_recorder": {"unit": True, "running": True, "unit_enabled": True, "losses": [{"from": "2026-11-30T01:00:00.000Z", "to": "2026-11-30T03:00:00.000Z", "reason": "the recorder did not run for longer than its resume window (3600 s)"}]}}, None, "error", "bulkhead-events lost container events (from 2026-11-30T01:00:00.000Z to 2026-11-30T03:00:00.000Z: the recorder did not run for longer than its resume window (3600 s)); containers of that time are not judged"),
    ("BH-1.7", {"events_recorder": {"unit": True, "running": True, "unit_enabled": True}}, None, "error", "events_recorder: the collector did not say whether the recorder lost events"),
    ("BH-1.8", {}, None, "pass", []),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(fs__protected_fifos=None, kernel__dmesg_restrict="0"))}, None, "fail", ["fs.protected_fifos is not set in /etc/sysctl.d", "kernel.dmesg_restrict is 0 in /etc/sysctl.d, needs at least 1"]),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(fs__protected_hardlinks="yes", fs__protected_symlinks="-1"))}, None, "fail", ["fs.protected_hardlinks is yes in /etc/sysctl.d, needs at least 1", "fs.protected_symlinks is -1 in /etc/sysctl.d, needs at least 1"]),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(user__max_user_namespaces=None))}, None, "fail", ["user.max_user_namespaces is not set in /etc/sysctl.d (no bound on user namespaces)"]),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(user__max_user_namespaces="0"))}, None, "fail", ["user.max_user_namespaces is 0 in /etc/sysctl.d: rootless engines and userns-remap cannot start"]),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(net__ipv4__ip_forward="0"))}, None, "fail", ["net.ipv4.ip_forward is 0 in /etc/sysctl.d, which cuts Docker's bridge networks off"]),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(net__ipv4__ip_forward="0")), "dockerd_processes": []}, None, "pass", []),
    ("BH-1.8", {"sysctl_configured": sysctl_files(hardened(net__ipv4__ip_forward=None))}, None, "pass", []),
    # The engine's processes are read even when ip_forward is fine: unreadable is an error, not a pass.
    ("BH-1.8", {"dockerd_processes": None}, None, "error", "dockerd_processes: dockerd_processes broke"),
    ("BH-1.9", {}, None, "pass", []),
    ("BH-1.9", {"audit_status": IN_CONTAINER, "sysctl_live": None}, None, "not_applicable", "this host is a container (it runs in a pid namespace of its own): the kernel parameters are the host's"),
    ("BH-1.9", {"sysctl_live": {**HARDENED, "kernel.dmesg_restrict": None, "fs.protected_fifos": "0"}}, None, "fail", ["fs.protected_fifos is 0 in the running kernel, needs at least 1", "kernel.dmesg_restrict is not set in the running kernel", "fs.protected_fifos is 0 in the running kernel but 1 in /etc/sysctl.d/90-bulkhead.conf"]),
    ("BH-1.9", {"sysctl_live": {**HARDENED, "fs.protected_regular": "1"}}, None, "fail", ["fs.protected_regular is 1 in the running kernel but 2 in /etc/sysctl.d/90-bulkhead.conf"]),
    ("BH-1.9", {"sysctl_live": {**HARDENED, "net.ipv4.ip_forward": "0"}}, None, "fail", ["net.ipv4.ip_forward is 0 in the running kernel, which cuts Docker's bridge networks off", "net.ipv4.ip_forward is 0 in the running kernel but 1 in /etc/sysctl.d/90-bulkhead.conf"]),
    ("BH-1.9", {"sysctl_configured": {}}, None, "pass", []),
    ("BH-1.9", {"sysctl_configured": None}, None, "error", "sysctl_configured: sysctl_configured broke"),
    ("BH-1.10", {}, None, "pass", []),
    ("BH-1.10", {"kernel": {"release": "6.1.0-17-amd64", "version": "Linux version 6.1.0-17-amd64 ... Debian 6.1.69-1 (2023-12-30)"}}, None, "fail", ["kernel Debian 6.1.69 has CVE-2024-1086 (nf_tables use-after-free)"]),
    ("BH-1.10", {"kernel": {"release": "5.10.101", "version": ""}}, None, "fail", ["kernel 5.10.101 has CVE-2022-0847 (Dirty Pipe)", "kernel 5.10.101 has CVE-2024-1086 (nf_tables use-after-free)"]),
    ("BH-1.10", {"kernel": {"release": "6.8.0", "version": ""}}, None, "pass", []),
    ("BH-1.10", {"kernel": {"release": "3.10.0-1160.el7.x86_64", "version": ""}}, None, "not_applicable", "kernel 3.10.0-1160.el7.x86_64 is a distribution kernel that backports fixes without changing its version; check the vendor's advisories for the CVEs listed in the catalogue"),
    ("BH-1.10", {"kernel": {"release": "unknown", "version": ""}}, None, "not_applicable", "cannot read a version from kernel release 'unknown'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "facts", "settings", "outcome", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_section_1_checks(control_id, facts, settings, outcome, expected):
    assert verdict(control_id, host(**facts), settings) == (outcome, expected)


def test_every_section_1_control_has_failing_and_passing_cases():
    outcomes: dict[str, set[str]] = {}
    for control_id, *_, outcome, _expected in CASES:
        outcomes.setdefault(control_id, set()).add(outcome)
    own = {control_id for control_id in REGISTRY if control_id.startswith(("1.", "BH-1."))}
    assert own - set(ENGINE_FILES) == set(outcomes)
    assert all({"pass", "fail"} <= found for found in outcomes.values())


# CIS 1.1.3-1.1.18 share one check: each control is judged on its own paths only.


def engine_paths_case(control_id: str, candidates: dict[str, str | None], rule: str) -> HostState:
    controls = {control: {path: path} for control, path in ENGINE_FILES.items()}
    controls[control_id] = candidates
    return host(engine_paths=paths(controls=controls), audit_rules_files=rules(rule))


ENGINE_CASES: list[tuple[str, dict[str, str | None], str, str, Any]] = []
for _control, _path in ENGINE_FILES.items():
    _unwatched = f"{_path} is not watched by any audit rule in /etc/audit/rules.d"
    ENGINE_CASES += [
        (_control, {_path: _path}, f"-w {_path} -p wa -k k\n", "pass", []),
        (_control, {_path: _path}, f"-w {_path} -p a -k k\n", "pass", []),
        (_control, {_path: _path}, "-w /elsewhere -p wa -k k\n", "fail", [_unwatched]),
        (_control, {_path: _path}, f"-w {_path} -p rx -k k\n", "fail", [_unwatched]),
        # A rule on a candidate that resolves to the real file (a symlink) watches it.
        (_control, {"/opt/alias": _path, _path: _path}, "-w /opt/alias -p wa -k k\n", "pass", []),
        (
            _control,
            {"/opt/absent": None, _path: None},
            "",
            "not_applicable",
            f"none of /opt/absent, {_path} exists on this host",
        ),
    ]


@pytest.mark.parametrize(
    ("control_id", "candidates", "rule", "outcome", "expected"),
    ENGINE_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(ENGINE_CASES)],
)
def test_engine_paths_watched(control_id, candidates, rule, outcome, expected):
    assert verdict(control_id, engine_paths_case(control_id, candidates, rule)) == (outcome, expected)


def test_engine_paths_are_each_controls_own():
    unwatched = {control: {path: path} for control, path in ENGINE_FILES.items()}
    state = host(engine_paths=paths(controls=unwatched), audit_rules_files=rules("-w /usr/sbin/dockerd -p wa -k k\n"))
    assert verdict("1.1.3", state) == ("pass", [])
    assert verdict("1.1.4", state) == (
        "fail",
        ["/run/containerd is not watched by any audit rule in /etc/audit/rules.d"],
    )


def test_engine_paths_list_every_unwatched_file_once():
    candidates = {
        "/usr/bin/dockerd": "/usr/sbin/dockerd",
        "/usr/sbin/dockerd": "/usr/sbin/dockerd",
        "/usr/local/bin/dockerd": "/usr/local/bin/dockerd",
    }
    state = engine_paths_case("1.1.3", candidates, "")
    assert verdict("1.1.3", state) == (
        "fail",
        [
            "/usr/local/bin/dockerd is not watched by any audit rule in /etc/audit/rules.d",
            "/usr/sbin/dockerd is not watched by any audit rule in /etc/audit/rules.d",
        ],
    )


def test_unreadable_rules_files_are_an_error_for_engine_paths():
    assert verdict("1.1.3", host(audit_rules_files=None)) == ("error", "audit_rules_files: audit_rules_files broke")
    assert verdict("1.1.3", host(engine_paths=None))[0] == "error"


def test_rules_d_wins_over_the_merged_file():
    state = host(audit_rules_files={"rules_d": {RULES_FILE: "-w /etc/group -p wa -k k\n"}, "audit_rules": RULES})
    assert verdict("1.1.3", state)[0] == "fail"
    state = host(audit_rules_files={"rules_d": {}, "audit_rules": RULES})
    assert verdict("1.1.3", state) == ("pass", [])
