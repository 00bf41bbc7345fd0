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
    }
    facts.update(engines.result())
    return facts


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
