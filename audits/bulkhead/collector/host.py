"""Host facts: kernel, sysctls, audit rules, sudo and logging configuration, users and groups,
content trust, the integrity baseline, and where the engine's files live (CIS section 1)."""

import contextlib
import grp
import hashlib
import json
import os
import pwd

from .docker import daemon_json
from .facts import FactError, read_optional, read_text, run
from .recorded import RECORDED_DIR, RECORDED_DIR_VARIABLE

BASELINE = "/var/lib/bulkhead/baseline.json"
# Where `bulkhead sbom` keeps one SBOM per image ID and its index.json (BULKHEAD_SBOM_DIR: tests).
SBOM_DIR = "/var/lib/bulkhead/sbom"


def content_trust():
    """Where DOCKER_CONTENT_TRUST is set for users of this host (environment, /etc/environment, profile.d)."""
    places = {}
    if "DOCKER_CONTENT_TRUST" in os.environ:
        places["collector environment"] = os.environ["DOCKER_CONTENT_TRUST"]
    candidates = ["/etc/environment"]
    with contextlib.suppress(OSError):
        candidates += [os.path.join("/etc/profile.d", name) for name in sorted(os.listdir("/etc/profile.d"))]
    for path in candidates:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    text = line.strip()
                    if text.startswith("export "):
                        text = text[len("export ") :]
                    if text.startswith("DOCKER_CONTENT_TRUST="):
                        places[path] = text.split("=", 1)[1].strip().strip("\"'")
        except OSError:
            continue
    return places


def kernel_security():
    """Which Linux security modules confine containers here, and the cgroup version."""
    apparmor = False
    try:
        with open("/sys/module/apparmor/parameters/enabled", encoding="utf-8") as handle:
            apparmor = handle.read().strip().upper().startswith("Y")
    except OSError:
        pass
    return {
        "apparmor": apparmor,
        "selinux": os.path.exists("/sys/fs/selinux/enforce"),
        "cgroup_version": 2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else 1,
    }


def _sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def integrity_baseline():
    """The recorded baseline and the same file fingerprints taken now. No baseline is an error.

    Images are compared on the auditing side, against the engine's image list (the "images" fact).
    """
    text = read_optional(BASELINE)
    if text is None:
        raise FactError("no integrity baseline at {} (the integrity_baseline role records it)".format(BASELINE))
    try:
        recorded = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(BASELINE, error)) from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        raise FactError("{} is not a Bulkhead baseline (no 'files' object)".format(BASELINE))
    current = {"files": {path: _sha256(path) for path in recorded["files"]}}
    return {"path": BASELINE, "recorded": recorded, "current": current}


def image_sboms(directory=None):
    """The SBOMs `bulkhead sbom` keeps: image ID -> file, package count, base distribution, digests.

    Only its index is read (never the SBOMs' contents), and only entries whose file exists. No
    directory or no index is no SBOM at all; an unreadable or malformed index is an error. The
    admission gate reads the same index (its policy's images.sbom_dir).
    """
    directory = directory or os.environ.get("BULKHEAD_SBOM_DIR") or SBOM_DIR
    index_path = os.path.join(directory, "index.json")
    text = read_optional(index_path)
    if text is None:
        return {"directory": directory, "images": {}}
    try:
        index = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(index_path, error)) from None
    if not isinstance(index, dict) or not isinstance(index.get("images"), dict):
        raise FactError("{} is not a Bulkhead SBOM index (no 'images' object)".format(index_path))
    images = {}
    for image_id, entry in index["images"].items():
        if not isinstance(entry, dict) or not entry.get("file"):
            continue
        if not os.path.isfile(os.path.join(directory, os.path.basename(str(entry["file"])))):
            continue
        images[image_id] = {
            "file": os.path.basename(str(entry["file"])),
            "packages": entry.get("packages"),
            "distro": entry.get("distro") or {},
            "repo_digests": entry.get("repo_digests") or [],
            "generated": entry.get("generated"),
        }
    return {"directory": directory, "images": images}


def subordinate_ids():
    """/etc/subuid and /etc/subgid as {owner: [[start, count], ...]}; a missing file is empty."""
    parsed = {}
    for kind in ("subuid", "subgid"):
        ranges = {}
        try:
            with open("/etc/" + kind, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    text = line.strip()
                    if not text or text.startswith("#"):
                        continue
                    fields = text.split(":")
                    if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
                        raise FactError("/etc/{} line {} is malformed".format(kind, number))
                    ranges.setdefault(fields[0], []).append([int(fields[1]), int(fields[2])])
        except FileNotFoundError:
            pass
        parsed[kind] = ranges
    return parsed


# --- Section 1 ------------------------------------------------------------------------------------

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


def audit_status(processes):
    """Is auditd running (in the /proc snapshot), and what does the kernel say (auditctl -s)?"""
    status = {"auditd_running": bool(processes.commands("auditd")), "container": in_container(), "kernel": None}
    try:
        for line in run(["auditctl", "-s"]).splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2:
                status.setdefault("kernel", {})
                status["kernel"] = dict(status["kernel"] or {}, **{parts[0]: parts[1]})
    except FactError as error:
        status["kernel_error"] = str(error)
    return status


def audit_loaded_rules(processes):
    """The rules in the running kernel (auditctl -l); only meaningful where auditd runs."""
    reason = in_container()
    if reason:
        raise FactError("this host is a container ({}): its audit rules are the host kernel's".format(reason))
    if not processes.commands("auditd"):
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


def rsyslog_config(processes):
    files = {}
    if os.path.exists("/etc/rsyslog.conf"):
        files["/etc/rsyslog.conf"] = read_text("/etc/rsyslog.conf")
    files.update(directory_files("/etc/rsyslog.d", ".conf"))
    return {"files": files, "running": bool(processes.commands("rsyslogd"))}


def events_recorder(processes):
    """Is bulkhead-events installed (unit) and running (a process runs its script)?"""
    unit = "/etc/systemd/system/bulkhead-events.service"
    running = 0
    for process in processes.processes():
        if any(os.path.basename(part) == "bulkhead-events" for part in process.argv[:2]):
            running += 1
    return {
        "unit": os.path.exists(unit),
        "unit_enabled": os.path.exists("/etc/systemd/system/multi-user.target.wants/bulkhead-events.service"),
        "running": running,
        "losses": recorder_losses(),
    }


def recorder_losses(path=None):
    """The recorder's notes of spans whose container events may be lost (``losses.json`` beside its
    resume point: an outage past its resume window, more events than the engine keeps, an unreadable
    resume point). No file: none. A file that cannot be read is an error, never "no loss"."""
    if path is None:
        recorded = os.environ.get(RECORDED_DIR_VARIABLE) or RECORDED_DIR
        path = os.path.join(os.path.dirname(recorded.rstrip("/")), "losses.json")
    try:
        with open(path, encoding="utf-8") as handle:
            losses = json.load(handle)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise FactError("cannot read the events recorder's losses {}: {}".format(path, error)) from None
    if not isinstance(losses, list) or not all(isinstance(loss, dict) for loss in losses):
        raise FactError("cannot read the events recorder's losses {}: not a list of notes".format(path))
    return [{key: loss.get(key) for key in ("from", "to", "reason")} for loss in losses]
