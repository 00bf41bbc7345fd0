"""Runs ON THE TARGET: gathers every fact the audit needs and prints one JSON document.

The audit sends this file to the target and runs it with the target's python3 in a single round
trip, whatever the number of checks and containers. It must therefore use the standard library
only and run on any Python 3.7+. Each fact is reported as {"value": ...} or {"error": "why"}, so
the audit can tell "the engine says no" from "we could not find out". Engines, containers and
images come from collector_engines.py, which is sent along with this file.
"""

import glob
import grp
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys

try:  # state.py sends engines.py ahead of this file; imported, take it from the package or beside us
    engine_facts  # noqa: B018
except NameError:
    try:
        from bulkhead.collector import engines as _engines
    except ImportError:
        import engines as _engines
    COMMAND_TIMEOUT, FactError, fact = _engines.COMMAND_TIMEOUT, _engines.FactError, _engines.fact
    Background, engine_facts, local_docker_api = _engines.Background, _engines.engine_facts, _engines.local_docker_api
    content_trust, kernel_security = _engines.content_trust, _engines.kernel_security

DAEMON_JSON = "/etc/docker/daemon.json"


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
    api = local_docker_api()  # the same documents as the CLI's, without a process per call
    if api is not None:
        return api.get("/info")
    return json.loads(run(["docker", "info", "--format", "{{json .}}"]))


def docker_networks():
    api = local_docker_api()
    if api is not None:
        return api.inspect_all("networks", [network["Id"] for network in api.get("/networks")])
    ids = run(["docker", "network", "ls", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    return json.loads(run(["docker", "network", "inspect", *ids]))


CONTAINERS_DIR = "/etc/containers"
BASELINE = "/var/lib/bulkhead/baseline.json"


def _read_optional(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _dropins(directory):
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".conf"))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, name) for name in names]


def containers_policy():
    """/etc/containers/policy.json as parsed; a parse error names the file and position."""
    path = os.path.join(CONTAINERS_DIR, "policy.json")
    text = _read_optional(path)
    if text is None:
        return {"path": path, "exists": False, "tools": _container_tools()}
    try:
        policy = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(path, error)) from None
    if not isinstance(policy, dict):
        raise FactError("{} does not hold a JSON object".format(path))
    return {"path": path, "exists": True, "policy": policy, "tools": _container_tools()}


def _container_tools():
    """Which of the tools that read /etc/containers are installed."""
    return [tool for tool in ("podman", "buildah", "skopeo") if shutil.which(tool)]


def _config_texts(paths):
    """[{"path", "text"}] of the files that exist; the audit parses them (TOML needs no code here)."""
    found = []
    for path in paths:
        text = _read_optional(path)
        if text is not None:
            found.append({"path": path, "text": text})
    return found


def containers_registries_conf():
    """registries.conf and its drop-ins, in the order containers/image applies them (later wins)."""
    files = [os.path.join(CONTAINERS_DIR, "registries.conf")]
    files.extend(_dropins(os.path.join(CONTAINERS_DIR, "registries.conf.d")))
    return {"files": _config_texts(files), "tools": _container_tools()}


def containers_conf():
    """containers.conf: the vendor file, the /etc file and drop-ins, in the order they apply."""
    files = ["/usr/share/containers/containers.conf", os.path.join(CONTAINERS_DIR, "containers.conf")]
    files += _dropins(os.path.join(CONTAINERS_DIR, "containers.conf.d"))
    return {"files": _config_texts(files), "tools": _container_tools()}


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
    text = _read_optional(BASELINE)
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


# Files of CIS Docker Benchmark section 3; TLS files are added from the effective configuration.
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
DOCKER_FILES = (
    ["{}/{}".format(directory, unit) for directory in UNIT_DIRS for unit in ("docker.service", "docker.socket")]
    + ["/etc/docker", DAEMON_JSON, "/etc/default/docker", "/etc/sysconfig/docker", "/var/run/docker.sock"]
    + ["/run/containerd/containerd.sock"]
)
DOCKER_FILE_GLOBS = ("/etc/docker/certs.d/*/*",)
TLS_KEYS = ("tlscacert", "tlscert", "tlskey")


def stat_paths(paths):
    """path -> exists, owner and group (names and ids), mode ("0644") and type (symlinks followed)."""
    stats = {}
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            stats[path] = {"exists": False}
            continue
        stats[path] = {
            "exists": True,
            "uid": info.st_uid,
            "gid": info.st_gid,
            "owner": _name(pwd.getpwuid, info.st_uid),
            "group": _name(grp.getgrgid, info.st_gid),
            "mode": "{:04o}".format(stat.S_IMODE(info.st_mode)),
            "type": "directory" if stat.S_ISDIR(info.st_mode) else "socket" if stat.S_ISSOCK(info.st_mode) else "file",
        }
    return stats


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def docker_file_stats(dockerds):
    """Stats of the engine's files (section 3), including the TLS files daemon.json or dockerd names.

    ``dockerds`` is the dockerd_processes fact: this host's engines, not those nested in containers.
    """
    paths = list(DOCKER_FILES)
    for pattern in DOCKER_FILE_GLOBS:
        paths.extend(sorted(glob.glob(pattern)))
    try:
        settings = daemon_json()["settings"]
    except FactError:
        settings = {}
    for key in TLS_KEYS:
        if isinstance(settings.get(key), str):
            paths.append(settings[key])
    for dockerd in dockerds.get("value") or []:
        argv = dockerd["argv"]
        for index, token in enumerate(argv):
            for key in TLS_KEYS:
                if token == "--" + key and index + 1 < len(argv):
                    paths.append(argv[index + 1])
                elif token.startswith("--" + key + "="):
                    paths.append(token.split("=", 1)[1])
    return stat_paths(sorted(set(paths)))


# --- rootless engines and user namespaces (issue 6) ---------------------------------------------

SHIMS = ("containerd-shim-runc-v2", "containerd-shim", "conmon")
PROC = "/proc"  # unit tests point this at a fake tree
# The initial user namespace's uid_map: a process with it is in no user namespace of its own.
IDENTITY_MAP = [[0, 0, 4294967295]]
DEFAULT_HOSTS = ("unix:///var/run/docker.sock", "unix:///run/docker.sock")


def _proc_status(pid):
    """Uid and PPid lines of /proc/<pid>/status as ints (host view)."""
    found = {}
    with open("{}/{}/status".format(PROC, pid), encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "PPid"):
                found[key] = int(value.split()[0])
    return found


def _id_map(pid, kind):
    with open("{}/{}/{}_map".format(PROC, pid, kind), encoding="utf-8") as handle:
        return [[int(part) for part in line.split()] for line in handle if line.strip()]


def _user_name(uid):
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _argv(pid):
    with open("{}/{}/cmdline".format(PROC, pid), "rb") as handle:
        return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]


def _options(argv, *names):
    """Every value given to any of the options ``names`` (``-x value`` or ``-x=value``)."""
    values = []
    for index, token in enumerate(argv):
        for name in names:
            if token == name and index + 1 < len(argv):
                values.append(argv[index + 1])
            elif token.startswith(name + "="):
                values.append(token.split("=", 1)[1])
    return values


def _option(argv, *names):
    values = _options(argv, *names)
    return values[0] if values else None


def _foreign(pid):
    """True when ``pid`` belongs to another host's view: a container's nested engine or shim.

    The process, or for a rootless one its first ancestor outside any user namespace (rootlesskit
    on the host), must share the collector's mount namespace. When that cannot be read the
    process is kept: the audit must rather look at too much than miss an engine.
    """
    try:
        own = os.readlink(PROC + "/self/ns/mnt")
        current = str(pid)
        for _ in range(64):
            if _id_map(current, "uid") == IDENTITY_MAP:
                return os.readlink("{}/{}/ns/mnt".format(PROC, current)) != own
            current = str(_proc_status(current)["PPid"])
    except (OSError, KeyError, ValueError):
        return False
    return False


def is_rootless(uid, uid_map):
    """A rootful dockerd runs as uid 0 in the initial user namespace (the identity map)."""
    return uid != 0 or uid_map != IDENTITY_MAP


def engine_host(argv, uid, rootless):
    """The unix socket a dockerd serves: its first unix -H, else the default for its kind."""
    hosts = [value for value in _options(argv, "-H", "--host") if value.startswith("unix://")]
    if hosts:
        return hosts[0]
    # no -H, or only fd:// (socket activation): the engine's default socket
    return "unix:///run/user/{}/docker.sock".format(uid) if rootless else DEFAULT_HOSTS[0]


def dockerd_processes():
    """This host's dockerd processes, by pid: owner (host uid), rootless or not, socket and argv.

    The one place that finds Docker engines by process. Engines nested in other containers are
    visible in /proc but belong to those containers' hosts (see _foreign): they are left out.
    """
    found = []
    for entry in sorted((name for name in os.listdir(PROC) if name.isdigit()), key=int):
        try:
            argv = _argv(entry)
            if not argv or os.path.basename(argv[0]) != "dockerd":
                continue
            uid = _proc_status(entry)["Uid"]
            uid_map = _id_map(entry, "uid")
        except (OSError, KeyError, ValueError):
            continue
        if _foreign(entry):
            continue
        rootless = is_rootless(uid, uid_map)
        found.append(
            {
                "pid": int(entry),
                "uid": uid,
                "user": _user_name(uid),
                "rootless": rootless,
                "host": engine_host(argv, uid, rootless),
                "argv": argv,
            }
        )
    return found


def docker_engines(dockerds, default_info):
    """Each of ``dockerds`` (the dockerd_processes fact) with its `docker info` and running containers.

    The rootful engine on the default socket already answered ``default_info`` (the docker_info
    fact): it is not asked twice.
    """
    if "error" in dockerds:
        raise FactError(dockerds["error"])
    engines = []
    for dockerd in dockerds["value"]:
        engine = dict(dockerd)
        host = engine["host"]
        try:
            if not engine["rootless"] and host in DEFAULT_HOSTS and "DOCKER_HOST" not in os.environ:
                if "error" in default_info:
                    raise FactError(default_info["error"])
                engine["info"] = default_info["value"]
            else:
                engine["info"] = json.loads(run(["docker", "--host", host, "info", "--format", "{{json .}}"]))
            listing = run(["docker", "--host", host, "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}"])
            engine["containers"] = dict(line.split(" ", 1) for line in listing.splitlines() if " " in line)
        except (FactError, ValueError) as error:
            engine["info_error"] = str(error)
        engines.append(engine)
    return engines


def container_id_maps():
    """The first process of every container (child of a containerd shim or conmon), with its id maps."""
    processes = {}
    for entry in os.listdir(PROC):
        if entry.isdigit():
            try:
                processes[int(entry)] = (_argv(entry), _proc_status(entry))
            except (OSError, ValueError, KeyError):
                continue
    shims = {pid: argv for pid, (argv, _status) in processes.items() if argv and os.path.basename(argv[0]) in SHIMS}
    found = []
    seen = set()
    for pid, (argv, status) in sorted(processes.items()):
        parent = status.get("PPid")
        # A shim's children are the container's init and any `exec` sessions: one per shim is enough.
        if parent not in shims or pid in shims or parent in seen:
            continue
        seen.add(parent)
        shim = shims[parent]
        if _foreign(parent):
            continue
        shim_uid, shim_gid = processes[parent][1]["Uid"], processes[parent][1]["Gid"]
        try:
            uid_map, gid_map = _id_map(pid, "uid"), _id_map(pid, "gid")
        except OSError:
            continue
        found.append(
            {
                "pid": pid,
                "container": _option(shim, "-id", "-c", "--cid") or "",
                "engine": "podman" if os.path.basename(shim[0]) == "conmon" else "docker",
                "owner_uid": shim_uid,
                "owner": _user_name(shim_uid),
                "owner_gid": shim_gid,
                "uid": status["Uid"],
                "gid": status["Gid"],
                "uid_map": uid_map,
                "gid_map": gid_map,
                "command": os.path.basename(argv[0]) if argv else "",
            }
        )
    return found


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
    engines = Background(engine_facts)
    dockerds = fact(dockerd_processes)
    info = fact(docker_info)
    facts = {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": dockerds,
        "docker_info": info,
        "docker_networks": fact(docker_networks),
        "content_trust": fact(content_trust),
        "kernel_security": fact(kernel_security),
        "containers_policy": fact(containers_policy),
        "containers_registries_conf": fact(containers_registries_conf),
        "containers_conf": fact(containers_conf),
        "integrity_baseline": fact(integrity_baseline),
        "docker_file_stats": fact(docker_file_stats, dockerds),
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
        "docker_engines": fact(docker_engines, dockerds, info),
        "container_id_maps": fact(container_id_maps),
        "subordinate_ids": fact(subordinate_ids),
    }
    facts.update(engines.result())
    return facts


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
