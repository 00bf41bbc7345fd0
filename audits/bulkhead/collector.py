"""Runs ON THE TARGET: gathers every fact the audit needs and prints one JSON document.

The audit sends this file to the target and runs it with the target's python3 in a single round
trip, whatever the number of checks and containers. It must therefore use the standard library
only and run on any Python 3.7+. Each fact is reported as {"value": ...} or {"error": "why"}, so
the audit can tell "the engine says no" from "we could not find out". Engines, containers and
images come from collector_engines.py, which is sent along with this file.
"""

import hashlib
import json
import os
import shutil
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


def _inspect_images(references):
    """{reference: {"id", "repo_digests"} or None when the engine has no such image}."""
    found = {}
    for reference in references:
        try:
            image = json.loads(run(["docker", "image", "inspect", reference]))[0]
        except FactError as error:
            if "No such image" not in str(error):
                raise
            found[reference] = None
            continue
        found[reference] = {"id": image.get("Id"), "repo_digests": sorted(image.get("RepoDigests") or [])}
    return found


def integrity_baseline():
    """The recorded baseline and the same fingerprints taken now. No baseline is an error."""
    text = _read_optional(BASELINE)
    if text is None:
        raise FactError("no integrity baseline at {} (the integrity_baseline role records it)".format(BASELINE))
    try:
        recorded = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(BASELINE, error)) from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        raise FactError("{} is not a Bulkhead baseline (no 'files' object)".format(BASELINE))
    images = recorded.get("images") or {}
    current = {
        "files": {path: _sha256(path) for path in recorded["files"]},
        "images": _inspect_images(sorted(images)) if images else {},
    }
    return {"path": BASELINE, "recorded": recorded, "current": current}


def container_images():
    """Running containers with the image reference they were started from and that image's names."""
    ids = run(["docker", "ps", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    containers = json.loads(run(["docker", "inspect", *ids]))
    image_ids = sorted({container.get("Image", "") for container in containers} - {""})
    images = {image.get("Id"): image for image in json.loads(run(["docker", "image", "inspect", *image_ids]))}
    found = []
    for container in containers:
        image = images.get(container.get("Image"), {})
        found.append(
            {
                "name": container.get("Name", "").lstrip("/"),
                "reference": (container.get("Config") or {}).get("Image", ""),
                "image_id": container.get("Image", ""),
                "repo_tags": image.get("RepoTags") or [],
                "repo_digests": image.get("RepoDigests") or [],
            }
        )
    return found


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
        "container_images": fact(container_images),
    }
    facts.update(engines.result())
    return facts


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
