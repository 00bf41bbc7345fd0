#!/usr/bin/python3
"""Print a molecule instance's state, one line per item, for before/after comparisons.

Every file and directory under the paths Bulkhead's roles manage or might (plus the paths given as
arguments): owner, group, mode, type and, for files, the SHA-256 of the content; symlinks by target.
Then the engines' state: the daemons' pids (a restart changes them), each container's start time,
restart count and pid, the settings `docker info` reports, the audit rules the kernel has loaded
(or why they cannot be read), and whether each unit file is enabled and each of Bulkhead's units
active. Run by molecule/shared/host_state.yml with the instance's python3.
"""

import glob
import hashlib
import json
import os
import stat
import subprocess
import sys

PATHS = [
    "/etc/docker",
    "/etc/default",
    "/etc/profile.d",
    "/etc/systemd/system",
    "/etc/systemd/user",
    "/etc/systemd/journald.conf.d",
    "/etc/audit",
    "/etc/containers",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/sysctl.d",
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d",
    "/etc/bulkhead",
    "/etc/pki/containers",
    "/etc/subuid",
    "/etc/subgid",
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/lib/systemd/system/docker.service",
    "/lib/systemd/system/docker.socket",
    "/usr/bin/docker",
    "/usr/sbin/dockerd",
    "/usr/bin/containerd",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/root/.docker",
    "/opt/bulkhead",
    "/var/lib/bulkhead",
    "/var/lib/bulkhead-events",
    "/var/lib/systemd/linger",
    "/var/log/sudo-io",
    *glob.glob("/home/*/.config"),
    *glob.glob("/home/*/.docker"),
]
# Engines' data and caches: written by the engines themselves, large, not Bulkhead's.
SKIP = ("/.local/share/", "/.cache/", "/opt/bulkhead/venv/lib/", "/__pycache__")
UNITS = (
    "docker.service",
    "docker.socket",
    "containerd.service",
    "podman.socket",
    "auditd.service",
    "rsyslog.service",
    "systemd-journald.service",
    "bulkhead-events.service",
    "bulkhead-gate.socket",
    "bulkhead-gate.service",
    "bulkhead-audit.timer",
    "bulkhead-sbom.timer",
)


def describe(path):
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"file\t{path}\t{error.strerror}"
    kind = stat.S_IFMT(info.st_mode)
    fields = [f"{info.st_uid}:{info.st_gid}", format(stat.S_IMODE(info.st_mode), "04o")]
    if kind == stat.S_IFREG:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        fields += ["file", digest.hexdigest()]
    elif kind == stat.S_IFLNK:
        fields += ["link", os.readlink(path)]
    elif kind == stat.S_IFDIR:
        fields.append("dir")
    else:
        fields.append("socket" if kind == stat.S_IFSOCK else "other")
    return f"file\t{path}\t{' '.join(fields)}"


def skipped(path):
    return any(part in path + "/" for part in SKIP)


def files(paths):
    seen = set()
    for top in paths:
        if not os.path.lexists(top):
            continue
        for root, directories, names in os.walk(top):
            directories[:] = [name for name in directories if not skipped(os.path.join(root, name))]
            for path in [root, *(os.path.join(root, name) for name in names + directories)]:
                if path not in seen and not skipped(path):
                    seen.add(path)
                    yield describe(path)
        # A file, link or socket given by itself (os.walk yields nothing for it): the engines'
        # sockets' owners and modes are part of the state (CIS 3.15, 3.16, 3.23, 3.24).
        if (not os.path.isdir(top) or os.path.islink(top)) and top not in seen:
            seen.add(top)
            yield describe(top)


def run(*argv):
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return completed.returncode, (completed.stdout + completed.stderr).strip()


def engine():
    for daemon in ("dockerd", "containerd", "auditd", "systemd-journald"):
        yield f"engine\tpid {daemon}\t{run('pidof', daemon)[1]}"
    code, ids = run("docker", "ps", "-aq", "--no-trunc")
    if code == 0 and ids:
        template = "{{.Name}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Pid}} {{.State.Status}}"
        for line in run("docker", "inspect", "--format", template, *ids.split())[1].splitlines():
            yield f"engine\tdocker container {line.split()[0]}\t{line}"
    code, text = run("docker", "info", "--format", "{{json .}}")
    if code == 0:
        info = json.loads(text)
        keys = ("Driver", "LoggingDriver", "CgroupDriver", "LiveRestoreEnabled", "SecurityOptions", "RegistryConfig")
        keys += ("ExperimentalBuild", "DefaultRuntime", "Runtimes", "Plugins")
        yield f"engine\tdocker info\t{json.dumps({key: info.get(key) for key in keys}, sort_keys=True)}"
    else:
        yield "engine\tdocker info\tunavailable"
    code, text = run("podman", "ps", "-a", "--format", "{{.Names}} {{.StartedAt}} {{.Status}}")
    if code == 0:
        for line in text.splitlines():
            yield f"engine\tpodman container {line.split()[0]}\t{line}"
    code, text = run("auditctl", "-l")
    digest = hashlib.sha256(text.encode()).hexdigest()
    yield f"engine\taudit rules loaded\t{'exit ' + str(code) + ' ' + digest}"
    code, text = run("systemctl", "list-unit-files", "--no-legend", "--plain", "--no-pager")
    for line in sorted(text.splitlines()):
        parts = line.split()
        if len(parts) >= 2 and not parts[0].endswith("@.service"):
            yield f"unit\tfile {parts[0]}\t{parts[1]}"
    for unit in UNITS:
        yield f"unit\tactive {unit}\t{run('systemctl', 'is-active', unit)[1]}"


def main(argv):
    paths = PATHS + [path for path in argv if path]
    for line in sorted(set(files(paths))):
        print(line)
    for line in engine():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
