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

try:  # state.py sends collector_engines.py ahead of this file; imported, take it from the package or beside us
    engine_facts  # noqa: B018
except NameError:
    try:
        from bulkhead.collector_engines import (
            Background,
            content_trust,
            engine_facts,
            kernel_security,
            local_docker_api,
        )
    except ImportError:
        from collector_engines import Background, content_trust, engine_facts, kernel_security, local_docker_api

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


def docker_file_stats():
    """Stats of the engine's files (section 3), including the TLS files daemon.json or dockerd names."""
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
    for argv in process_cmdlines("dockerd"):
        for index, token in enumerate(argv):
            for key in TLS_KEYS:
                if token == "--" + key and index + 1 < len(argv):
                    paths.append(argv[index + 1])
                elif token.startswith("--" + key + "="):
                    paths.append(token.split("=", 1)[1])
    return stat_paths(sorted(set(paths)))


# --- rootless engines and user namespaces (issue 6) ---------------------------------------------

SHIMS = ("containerd-shim-runc-v2", "containerd-shim", "conmon")


def _proc_status(pid):
    """Uid and PPid lines of /proc/<pid>/status as ints (host view)."""
    found = {}
    with open("/proc/{}/status".format(pid), encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "PPid"):
                found[key] = int(value.split()[0])
    return found


def _id_map(pid, kind):
    with open("/proc/{}/{}_map".format(pid, kind), encoding="utf-8") as handle:
        return [[int(part) for part in line.split()] for line in handle if line.strip()]


def _user_name(uid):
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _argv(pid):
    with open("/proc/{}/cmdline".format(pid), "rb") as handle:
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
        own = os.readlink("/proc/self/ns/mnt")
        current = str(pid)
        for _ in range(64):
            if _id_map(current, "uid") == [[0, 0, 4294967295]]:
                return os.readlink("/proc/{}/ns/mnt".format(current)) != own
            current = str(_proc_status(current)["PPid"])
    except (OSError, KeyError, ValueError):
        return False
    return False


def docker_engines():
    """Every dockerd: owner (host uid), whether rootless, its socket and `docker info` (or why not)."""
    engines = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = _argv(entry)
            if not argv or os.path.basename(argv[0]) != "dockerd":
                continue
            status = _proc_status(entry)
            uid_map = _id_map(entry, "uid")
        except OSError:
            continue
        if _foreign(entry):
            continue
        # A rootful dockerd runs as uid 0 in the initial user namespace (the identity map).
        rootless = status["Uid"] != 0 or uid_map != [[0, 0, 4294967295]]
        hosts = [value for value in _options(argv, "-H", "--host") if value.startswith("unix://")]
        if hosts:
            host = hosts[0]
        else:  # no -H, or only fd:// (socket activation): the engine's default socket
            host = (
                "unix:///run/user/{}/docker.sock".format(status["Uid"]) if rootless else "unix:///var/run/docker.sock"
            )
        engine = {
            "pid": int(entry),
            "uid": status["Uid"],
            "user": _user_name(status["Uid"]),
            "rootless": rootless,
            "host": host,
            "argv": argv,
        }
        try:
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
    for entry in os.listdir("/proc"):
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


def collect():
    engines = Background(engine_facts)
    facts = {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": fact(process_cmdlines, "dockerd"),
        "docker_info": fact(docker_info),
        "docker_networks": fact(docker_networks),
        "content_trust": fact(content_trust),
        "kernel_security": fact(kernel_security),
        "containers_policy": fact(containers_policy),
        "containers_registries_conf": fact(containers_registries_conf),
        "containers_conf": fact(containers_conf),
        "integrity_baseline": fact(integrity_baseline),
        "docker_file_stats": fact(docker_file_stats),
        "docker_engines": fact(docker_engines),
        "container_id_maps": fact(container_id_maps),
        "subordinate_ids": fact(subordinate_ids),
    }
    facts.update(engines.result())
    return facts


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
