"""Docker: the Engine API client, dockerd's processes and configuration, the engine's files."""

import glob
import http.client
import json
import os
import socket as _socket
import threading

from .facts import COMMAND_TIMEOUT, FactError, engine_label, options, run, stat_paths, user_name
from .proc import IDENTITY_MAP

API_CONNECTIONS = 4  # parallel keep-alive connections for per-object inspects over the API
DAEMON_JSON = "/etc/docker/daemon.json"
DEFAULT_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
DEFAULT_HOSTS = tuple("unix://" + path for path in DEFAULT_SOCKETS)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's API); also used by the gate and docker:// targets."""

    def __init__(self, path, timeout=COMMAND_TIMEOUT):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        connection.connect(self.unix_path)
        self.sock = connection


class DockerApi:
    """The Docker Engine API on a unix socket: no CLI process per call, inspects spread over a few
    keep-alive connections (the CLI's `docker inspect a b c` also makes one API request per object)."""

    def __init__(self, engine):
        self.engine = engine
        self.path = engine["socket"]

    def get(self, path, connection=None, missing_ok=False):
        own = connection is None
        connection = connection or UnixHTTPConnection(self.path)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise FactError("{}: API {} failed: {}".format(engine_label(self.engine), path, error)) from None
        finally:
            if own:
                connection.close()
        if response.status == 404 and missing_ok:
            return None  # removed between listing and inspect: it is gone, nothing to audit
        if response.status != 200:
            raise FactError(
                "{}: API {} answered {}: {}".format(
                    engine_label(self.engine), path, response.status, body.decode("utf-8", "replace").strip()[:200]
                )
            )
        return json.loads(body.decode("utf-8"))

    def inspect_all(self, kind, ids):
        # Networks one at a time: there are few, and libnetwork's locks are best not contended.
        connections = 1 if kind == "networks" else API_CONNECTIONS
        chunks = [ids[index::connections] for index in range(connections)]
        found = [[] for _ in chunks]
        errors = []

        def worker(index):
            connection = UnixHTTPConnection(self.path)
            try:
                for identifier in chunks[index]:
                    path = "/{}/{}{}".format(kind, identifier, "" if kind == "networks" else "/json")
                    document = self.get(path, connection, missing_ok=True)
                    if document is not None:
                        found[index].append(document)
            except FactError as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(chunks)) if chunks[index]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        order = {identifier: position for position, identifier in enumerate(ids)}
        documents = [document for part in found for document in part]
        return sorted(documents, key=lambda document: order.get(document.get("Id"), 0))

    def containers(self):
        ids = [entry["Id"] for entry in self.get("/containers/json?all=1")]
        return self.inspect_all("containers", ids)

    def images(self):
        ids = sorted({entry["Id"] for entry in self.get("/images/json")})
        return self.inspect_all("images", ids)

    def volumes(self):
        return self.get("/volumes").get("Volumes") or []

    def version(self):
        return self.get("/version")

    def networks(self):
        return self.inspect_all("networks", [network["Id"] for network in self.get("/networks")])


def local_docker_api():
    """The rootful Docker engine's API when its socket is usable here, else None (use the CLI)."""
    for path in DEFAULT_SOCKETS:
        if os.path.exists(path):
            if os.access(path, os.R_OK | os.W_OK) and "DOCKER_HOST" not in os.environ:
                return DockerApi({"kind": "docker", "mode": "rootful", "user": None, "socket": path})
            return None
    return None


def docker_info():
    api = local_docker_api()  # the same documents as the CLI's, without a process per call
    if api is not None:
        return api.get("/info")
    return json.loads(run(["docker", "info", "--format", "{{json .}}"]))


def docker_networks():
    api = local_docker_api()
    if api is not None:
        return api.networks()
    ids = run(["docker", "network", "ls", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    return json.loads(run(["docker", "network", "inspect", *ids]))


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


# --- dockerd processes: rootful and rootless engines (issue 6) -------------------------------------


def is_rootless(uid, uid_map):
    """A rootful dockerd runs as uid 0 in the initial user namespace (the identity map)."""
    return uid != 0 or uid_map != IDENTITY_MAP


def engine_host(argv, uid, rootless):
    """The unix socket a dockerd serves: its first unix -H, else the default for its kind."""
    hosts = [value for value in options(argv, "-H", "--host") if value.startswith("unix://")]
    if hosts:
        return hosts[0]
    # no -H, or only fd:// (socket activation): the engine's default socket
    return "unix:///run/user/{}/docker.sock".format(uid) if rootless else DEFAULT_HOSTS[0]


def dockerd_processes(processes):
    """This host's dockerd processes, by pid: owner (host uid), rootless or not, socket and argv.

    The one place that finds Docker engines by process, in ``processes`` (the /proc snapshot).
    Engines nested in other containers are visible in /proc but belong to those containers' hosts
    (see Snapshot.foreign): they are left out.
    """
    found = []
    for process in processes.processes():
        if process.name != "dockerd":
            continue
        uid_map = process.id_map("uid")
        if uid_map is None or processes.foreign(process.pid):
            continue
        rootless = is_rootless(process.uid, uid_map)
        found.append(
            {
                "pid": process.pid,
                "uid": process.uid,
                "user": user_name(process.uid),
                "rootless": rootless,
                "host": engine_host(process.argv, process.uid, rootless),
                "argv": process.argv,
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


# --- the engine's files (CIS Docker Benchmark section 3) ------------------------------------------

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
DOCKER_FILES = (
    ["{}/{}".format(directory, unit) for directory in UNIT_DIRS for unit in ("docker.service", "docker.socket")]
    + ["/etc/docker", DAEMON_JSON, "/etc/default/docker", "/etc/sysconfig/docker", "/var/run/docker.sock"]
    + ["/run/containerd/containerd.sock"]
)
DOCKER_FILE_GLOBS = ("/etc/docker/certs.d/*/*",)
TLS_KEYS = ("tlscacert", "tlscert", "tlskey")


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
        paths.extend(options(dockerd["argv"], *("--" + key for key in TLS_KEYS)))
    return stat_paths(sorted(set(paths)))
