"""Runs ON THE TARGET: gathers every fact the audit needs and prints one JSON document.

The audit sends this file to the target and runs it with the target's python3 in a single round
trip, whatever the number of checks and containers. It must therefore use the standard library
only and run on any Python 3.7+. Each fact is reported as {"value": ...} or {"error": "why"}, so
the audit can tell "the engine says no" from "we could not find out".
"""

import json
import os
import subprocess
import sys

DAEMON_JSON = "/etc/docker/daemon.json"
COMMAND_TIMEOUT = 60


def fact(function, *args):
    try:
        return {"value": function(*args)}
    except FactError as error:
        return {"error": str(error)}
    except Exception as error:  # the audit must see every failure as an error, never crash
        return {"error": "{}: {}".format(type(error).__name__, error)}


class FactError(Exception):
    pass


def run(argv):
    try:
        completed = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise FactError("{} is not installed".format(argv[0])) from None
    except subprocess.TimeoutExpired:
        raise FactError("{} did not answer within {} s".format(" ".join(argv[:3]), COMMAND_TIMEOUT)) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FactError("{} failed: {}".format(" ".join(argv[:3]), message[-1] if message else completed.returncode))
    return completed.stdout.decode("utf-8", "replace")


def daemon_json():
    try:
        with open(DAEMON_JSON, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {"exists": False, "settings": {}}
    try:
        settings = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(DAEMON_JSON, error)) from error
    if not isinstance(settings, dict):
        raise FactError("{} does not hold a JSON object".format(DAEMON_JSON))
    return {"exists": True, "settings": settings}


def process_cmdlines(name):
    """argv of every running process whose executable is called `name`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/cmdline".format(entry), "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode("utf-8", "replace")) == name:
            found.append([part.decode("utf-8", "replace") for part in argv if part])
    return found


def docker_info():
    return json.loads(run(["docker", "info", "--format", "{{json .}}"]))


def docker_networks():
    ids = run(["docker", "network", "ls", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    return json.loads(run(["docker", "network", "inspect", *ids]))


# --- Host facts (section 1) -------------------------------------------------------------------

AUDIT_RULES_DIR = "/etc/audit/rules.d"
AUDIT_RULES_FILE = "/etc/audit/audit.rules"
# Where each path CIS 1.1.3-1.1.18 names lives; keep in step with the container_host role's
# vars/main.yml (container_host_engine_path_candidates).
ENGINE_PATH_CANDIDATES = {
    "1.1.3": ["/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd"],
    "1.1.4": ["/run/containerd"],
    "1.1.5": ["/var/lib/docker"],
    "1.1.6": ["/etc/docker"],
    "1.1.7": [
        "/lib/systemd/system/docker.service",
        "/usr/lib/systemd/system/docker.service",
        "/etc/systemd/system/docker.service",
    ],
    "1.1.8": ["/run/containerd/containerd.sock"],
    "1.1.9": [
        "/lib/systemd/system/docker.socket",
        "/usr/lib/systemd/system/docker.socket",
        "/etc/systemd/system/docker.socket",
    ],
    "1.1.10": ["/etc/default/docker"],
    "1.1.11": ["/etc/docker/daemon.json"],
    "1.1.12": ["/etc/containerd/config.toml"],
    "1.1.13": ["/etc/sysconfig/docker"],
    "1.1.14": ["/usr/bin/containerd", "/usr/sbin/containerd", "/usr/local/bin/containerd"],
    "1.1.15": ["/usr/bin/containerd-shim", "/usr/sbin/containerd-shim", "/usr/local/bin/containerd-shim"],
    "1.1.16": [
        "/usr/bin/containerd-shim-runc-v1",
        "/usr/sbin/containerd-shim-runc-v1",
        "/usr/local/bin/containerd-shim-runc-v1",
    ],
    "1.1.17": [
        "/usr/bin/containerd-shim-runc-v2",
        "/usr/sbin/containerd-shim-runc-v2",
        "/usr/local/bin/containerd-shim-runc-v2",
    ],
    "1.1.18": ["/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc"],
}
ADMIN_CLIENTS = ["docker", "podman", "ctr", "nerdctl", "crictl"]
SYSCTL_KEYS = [
    "fs.protected_hardlinks",
    "fs.protected_symlinks",
    "fs.protected_fifos",
    "fs.protected_regular",
    "kernel.dmesg_restrict",
    "kernel.unprivileged_bpf_disabled",
    "user.max_user_namespaces",
    "net.ipv4.ip_forward",
]
SYSCTL_DIRS = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"]


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def directory_files(directory, suffix):
    """{path: text} of the files in `directory` ending in `suffix`; {} when it does not exist."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return {}
    found = {}
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(suffix) and os.path.isfile(path):
            found[path] = read_text(path)
    return found


def in_container():
    """Why this host's kernel is someone else's (it runs in a container), or None.

    Marker files lie (VMs built from container images keep /.dockerenv), so ask the kernel: the
    initial PID and user namespaces have fixed inode numbers, and the kernel's audit and most
    sysctls belong to whoever runs in them.
    """
    initial = {"pid": "pid:[4026531836]", "user": "user:[4026531837]"}
    for kind, expected in initial.items():
        try:
            namespace = os.readlink("/proc/self/ns/" + kind)
        except OSError:
            continue
        if namespace != expected:
            return "it runs in a {} namespace of its own ({})".format(kind, namespace)
    return None


def audit_rules_files():
    files = directory_files(AUDIT_RULES_DIR, ".rules")
    merged = None
    if os.path.exists(AUDIT_RULES_FILE):
        merged = read_text(AUDIT_RULES_FILE)
    return {"rules_d": files, "audit_rules": merged, "rules_d_exists": os.path.isdir(AUDIT_RULES_DIR)}


def audit_status():
    """Is auditd running, and what does the kernel say (auditctl -s)?"""
    status = {"auditd_running": bool(process_cmdlines("auditd")), "container": in_container(), "kernel": None}
    try:
        for line in run(["auditctl", "-s"]).splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2:
                status.setdefault("kernel", {})
                status["kernel"] = dict(status["kernel"] or {}, **{parts[0]: parts[1]})
    except FactError as error:
        status["kernel_error"] = str(error)
    return status


def audit_loaded_rules():
    """The rules in the running kernel (auditctl -l); only meaningful where auditd runs."""
    reason = in_container()
    if reason:
        raise FactError("this host is a container ({}): its audit rules are the host kernel's".format(reason))
    if not process_cmdlines("auditd"):
        raise FactError("auditd is not running, so no loaded audit rule can be trusted")
    return run(["auditctl", "-l"])


def engine_paths():
    """{control: {candidate: real path or None}} for the paths CIS 1.1.3-1.1.18 name."""
    candidates = dict((control, list(paths)) for control, paths in ENGINE_PATH_CANDIDATES.items())
    try:
        data_root = daemon_json()["settings"].get("data-root")
    except FactError:
        data_root = None
    if data_root:
        candidates["1.1.5"].append(data_root)
    sockets = ["/run/docker.sock", "/var/run/docker.sock"]
    clients = [os.path.join(d, name) for name in ADMIN_CLIENTS for d in ("/usr/bin", "/usr/local/bin")]
    resolve = lambda path: os.path.realpath(path) if os.path.exists(path) else None  # noqa: E731
    return {
        "controls": dict((c, dict((p, resolve(p)) for p in paths)) for c, paths in candidates.items()),
        "sockets": dict((p, resolve(p)) for p in sockets),
        "clients": dict((p, resolve(p)) for p in clients),
    }


def sysctl_live():
    values = {}
    for key in SYSCTL_KEYS:
        try:
            values[key] = read_text("/proc/sys/" + key.replace(".", "/")).strip()
        except OSError:
            values[key] = None
    return values


def sysctl_configured():
    """{key: {"value", "file"}} as `sysctl --system` would apply them (later files win)."""
    chosen = {}
    for directory in SYSCTL_DIRS:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(directory, name)
    files = [chosen[name] for name in sorted(chosen)]
    if os.path.exists("/etc/sysctl.conf"):
        files.append("/etc/sysctl.conf")
    settings = {}
    for path in files:
        for line in read_text(path).splitlines():
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            key = key.lstrip("-").replace("/", ".")
            if key in SYSCTL_KEYS:
                settings[key] = {"value": value, "file": path}
    return settings


def docker_group():
    import grp
    import pwd

    try:
        group = grp.getgrnam("docker")
    except KeyError:
        return {"exists": False, "members": [], "primary": []}
    primary = sorted(user.pw_name for user in pwd.getpwall() if user.pw_gid == group.gr_gid)
    return {"exists": True, "gid": group.gr_gid, "members": sorted(group.gr_mem), "primary": primary}


def kernel():
    try:
        version = read_text("/proc/version").strip()
    except OSError:
        version = ""
    return {"release": os.uname().release, "version": version}


def os_release():
    found = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = read_text(path)
        except OSError:
            continue
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                found[key.strip()] = value.strip().strip('"')
        return found
    raise FactError("no /etc/os-release")


def mounts():
    """Mount points with their file system type, from /proc/self/mountinfo."""
    found = []
    for line in read_text("/proc/self/mountinfo").splitlines():
        fields = line.split()
        separator = fields.index("-")
        found.append({"mount_point": fields[4].replace("\\040", " "), "fstype": fields[separator + 1]})
    return found


def sudo_config():
    """sudoers files (no secrets live there) and whether sudo is installed."""
    installed = any(os.path.exists(path) for path in ("/usr/bin/sudo", "/usr/sbin/visudo"))
    files = {}
    if os.path.exists("/etc/sudoers"):
        files["/etc/sudoers"] = read_text("/etc/sudoers")
    for path, text in directory_files("/etc/sudoers.d", "").items():
        name = os.path.basename(path)
        if "." not in name and not name.endswith("~"):  # sudo's includedir skips those
            files[path] = text
    return {"installed": installed, "files": files}


def journald_config():
    files = {}
    if os.path.exists("/etc/systemd/journald.conf"):
        files["/etc/systemd/journald.conf"] = read_text("/etc/systemd/journald.conf")
    for directory in (
        "/usr/lib/systemd/journald.conf.d",
        "/run/systemd/journald.conf.d",
        "/etc/systemd/journald.conf.d",
    ):
        files.update(directory_files(directory, ".conf"))
    return {"files": files, "var_log_journal": os.path.isdir("/var/log/journal")}


def rsyslog_config():
    files = {}
    if os.path.exists("/etc/rsyslog.conf"):
        files["/etc/rsyslog.conf"] = read_text("/etc/rsyslog.conf")
    files.update(directory_files("/etc/rsyslog.d", ".conf"))
    return {"files": files, "running": bool(process_cmdlines("rsyslogd"))}


def events_recorder():
    """Is bulkhead-events installed (unit) and running (a process runs its script)?"""
    unit = "/etc/systemd/system/bulkhead-events.service"
    running = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/cmdline".format(entry), "rb") as handle:
                argv = handle.read().split(b"\0")[:2]
        except OSError:
            continue
        if any(os.path.basename(part.decode("utf-8", "replace")) == "bulkhead-events" for part in argv):
            running += 1
    return {
        "unit": os.path.exists(unit),
        "unit_enabled": os.path.exists("/etc/systemd/system/multi-user.target.wants/bulkhead-events.service"),
        "running": running,
    }


def collect():
    return {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": fact(process_cmdlines, "dockerd"),
        "docker_info": fact(docker_info),
        "docker_networks": fact(docker_networks),
        "audit_rules_files": fact(audit_rules_files),
        "audit_status": fact(audit_status),
        "audit_loaded_rules": fact(audit_loaded_rules),
        "engine_paths": fact(engine_paths),
        "sysctl_live": fact(sysctl_live),
        "sysctl_configured": fact(sysctl_configured),
        "docker_group": fact(docker_group),
        "kernel": fact(kernel),
        "os_release": fact(os_release),
        "mounts": fact(mounts),
        "sudo_config": fact(sudo_config),
        "journald_config": fact(journald_config),
        "rsyslog_config": fact(rsyslog_config),
        "events_recorder": fact(events_recorder),
    }


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
