"""Runs ON THE TARGET: gathers every fact the audit needs and prints one JSON document.

The audit sends this file to the target and runs it with the target's python3 in a single round
trip, whatever the number of checks and containers. It must therefore use the standard library
only and run on any Python 3.7+. Each fact is reported as {"value": ...} or {"error": "why"}, so
the audit can tell "the engine says no" from "we could not find out". Engines, containers and
images come from collector_engines.py, which is sent along with this file.
"""

import json
import os
import subprocess
import sys

try:  # state.py sends collector_engines.py ahead of this file; run directly, import it from beside us
    engine_facts  # noqa: B018
except NameError:
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


def collect():
    engines = Background(engine_facts)
    facts = {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": fact(process_cmdlines, "dockerd"),
        "docker_info": fact(docker_info),
        "docker_networks": fact(docker_networks),
        "content_trust": fact(content_trust),
        "kernel_security": fact(kernel_security),
    }
    facts.update(engines.result())
    return facts


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
