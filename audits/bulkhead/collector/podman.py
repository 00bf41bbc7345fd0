"""Podman: engines through their command line, and the /etc/containers files Podman, Buildah and
Skopeo read (parsed on the auditing side: TOML needs no code here)."""

import json
import os
import shutil
import subprocess

from .facts import COMMAND_TIMEOUT, FactError, engine_label, read_optional

CONTAINERS_DIR = "/etc/containers"


def run_engine(engine, argv):
    """stdout of the engine's CLI (``engine["cli"]`` + argv), in the engine's environment."""
    environment = dict(os.environ)
    environment.update(engine["env"])
    try:
        completed = subprocess.run(
            engine["cli"] + argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=COMMAND_TIMEOUT,
            check=False,
            env=environment,
            # A rootless engine is queried as its user, who may not enter the audit's working
            # directory (/root, a mktemp -d clone): podman then fails with "cannot chdir".
            cwd="/",
        )
    except FileNotFoundError:
        raise FactError("{} is not installed".format(engine["cli"][0])) from None
    except subprocess.TimeoutExpired:
        raise FactError(
            "{}: {} did not answer within {} s".format(engine_label(engine), argv[0], COMMAND_TIMEOUT)
        ) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FactError(
            "{}: {} {} failed: {}".format(
                engine_label(engine),
                os.path.basename(engine["cli"][-1]),
                argv[0],
                message[-1] if message else completed.returncode,
            )
        )
    return completed.stdout.decode("utf-8", "replace")


class EngineCli:
    """An engine through its command line: Podman, or a Docker socket this user may not open."""

    def __init__(self, engine):
        self.engine = engine

    def containers(self):
        ids = run_engine(self.engine, ["ps", "--all", "--quiet", "--no-trunc"]).split()
        return json.loads(run_engine(self.engine, ["container", "inspect", *ids])) if ids else []

    def images(self):
        ids = sorted(set(run_engine(self.engine, ["images", "--quiet", "--no-trunc"]).split()))
        return json.loads(run_engine(self.engine, ["image", "inspect", *ids])) if ids else []

    def networks(self):
        if self.engine["kind"] == "podman":
            # Podman 4 lists whole network documents (those of `podman network inspect`): one command.
            return json.loads(run_engine(self.engine, ["network", "ls", "--format", "json"]) or "[]")
        ids = run_engine(self.engine, ["network", "ls", "--quiet", "--no-trunc"]).split()
        return json.loads(run_engine(self.engine, ["network", "inspect", *ids])) if ids else []

    def volumes(self):
        names = run_engine(self.engine, ["volume", "ls", "--quiet"]).split()
        return json.loads(run_engine(self.engine, ["volume", "inspect", *names])) if names else []

    def version(self):
        # A local Podman answers with a Client part only; Docker's CLI with Client and Server.
        answer = json.loads(run_engine(self.engine, ["version", "--format", "{{json .}}"]))
        return answer.get("Server") or answer.get("Client") or {}


# --- /etc/containers ------------------------------------------------------------------------------


def _dropins(directory):
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".conf"))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, name) for name in names]


def _container_tools():
    """Which of the tools that read /etc/containers are installed."""
    return [tool for tool in ("podman", "buildah", "skopeo") if shutil.which(tool)]


def _config_texts(paths):
    """[{"path", "text"}] of the files that exist; the audit parses them."""
    found = []
    for path in paths:
        text = read_optional(path)
        if text is not None:
            found.append({"path": path, "text": text})
    return found


def containers_policy():
    """/etc/containers/policy.json as parsed; a parse error names the file and position."""
    path = os.path.join(CONTAINERS_DIR, "policy.json")
    text = read_optional(path)
    if text is None:
        return {"path": path, "exists": False, "tools": _container_tools()}
    try:
        policy = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(path, error)) from None
    if not isinstance(policy, dict):
        raise FactError("{} does not hold a JSON object".format(path))
    return {"path": path, "exists": True, "policy": policy, "tools": _container_tools()}


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
