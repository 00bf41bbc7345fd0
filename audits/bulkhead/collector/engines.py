"""Runs ON THE TARGET, sent together with collector.py (state.py joins them, this part first).

Engines, containers and images in one round trip and a fixed number of engine commands whatever
the number of containers: per engine one listing and one inspect of all containers, the same for
images, run concurrently. Container and image environments are reduced to variable NAMES here, on
the target, so that no value (password, token) ever leaves it. Standard library only, Python 3.7+.
``fact`` and ``FactError`` match collector.py's (whose definitions win once the two are joined).
"""

import contextlib
import http.client
import json
import os
import pwd
import socket as _socket
import stat
import subprocess
import threading
import time

COMMAND_TIMEOUT = 60
API_CONNECTIONS = 4  # parallel keep-alive connections for per-object inspects over the API


class FactError(Exception):
    pass


def fact(function, *args):
    try:
        return {"value": function(*args)}
    except FactError as error:
        return {"error": str(error)}
    except Exception as error:  # the audit must see every failure as an error, never crash
        return {"error": "{}: {}".format(type(error).__name__, error)}


SETUID_SCAN_LIMIT = 200000


def _engine(kind, mode, cli, env=None, user=None, socket=None):
    return {"kind": kind, "mode": mode, "cli": cli, "env": env or {}, "user": user, "socket": socket}


def _runtime_dirs():
    """(uid, user name, /run/user/UID) for every logged-in / lingering user."""
    found = []
    try:
        entries = os.listdir("/run/user")
    except OSError:
        return found
    for entry in sorted(entries):
        if not entry.isdigit() or entry == "0":
            continue
        try:
            name = pwd.getpwuid(int(entry)).pw_name
        except KeyError:
            name = entry
        found.append((int(entry), name, os.path.join("/run/user", entry)))
    return found


def _which(name):
    for directory in [*os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(os.pathsep), "/usr/bin"]:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def detect_engines():
    """Every container engine on the host: Docker and Podman, rootful and rootless (per user)."""
    engines = []
    docker = _which("docker")
    for socket in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(socket):
            if docker:
                engines.append(
                    _engine("docker", "rootful", [docker], {"DOCKER_HOST": "unix://" + socket}, socket=socket)
                )
            break
    podman = _which("podman")
    if podman and (os.path.exists("/run/podman/podman.sock") or os.path.isdir("/var/lib/containers/storage")):
        engines.append(_engine("podman", "rootful", [podman]))
    for _uid, name, runtime in _runtime_dirs():
        socket = os.path.join(runtime, "docker.sock")
        if docker and os.path.exists(socket):
            engines.append(
                _engine("docker", "rootless", [docker], {"DOCKER_HOST": "unix://" + socket}, user=name, socket=socket)
            )
        if podman and os.path.isdir(os.path.join(runtime, "containers")):
            runuser = _which("runuser") or "/sbin/runuser"
            engines.append(
                _engine(
                    "podman", "rootless", [runuser, "-u", name, "--", podman], {"XDG_RUNTIME_DIR": runtime}, user=name
                )
            )
    return engines


def _engine_label(engine):
    label = "{} ({})".format(engine["kind"], engine["mode"])
    return label if not engine["user"] else "{} ({}, user {})".format(engine["kind"], engine["mode"], engine["user"])


def _run_engine(engine, argv):
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
            "{}: {} did not answer within {} s".format(_engine_label(engine), argv[0], COMMAND_TIMEOUT)
        ) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FactError(
            "{}: {} {} failed: {}".format(
                _engine_label(engine),
                os.path.basename(engine["cli"][-1]),
                argv[0],
                message[-1] if message else completed.returncode,
            )
        )
    return completed.stdout.decode("utf-8", "replace")


def env_names(variables):
    """NAME=value entries reduced to their names: values never leave the target."""
    return sorted({str(item).split("=", 1)[0] for item in (variables or [])})


def _slim_config(config):
    config = config or {}
    return {
        "User": config.get("User") or "",
        "Image": config.get("Image") or "",
        "Healthcheck": config.get("Healthcheck"),
        "EnvNames": env_names(config.get("Env")),
        "ExposedPorts": sorted((config.get("ExposedPorts") or {}).keys()),
        "Labels": sorted((config.get("Labels") or {}).keys()),
    }


_HOST_CONFIG_KEYS = (
    "Privileged",
    "CapAdd",
    "CapDrop",
    "SecurityOpt",
    "NetworkMode",
    "PidMode",
    "IpcMode",
    "UTSMode",
    "UsernsMode",
    "Memory",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "PidsLimit",
    "ReadonlyRootfs",
    "RestartPolicy",
    "CgroupParent",
    "PortBindings",
    "Devices",
    "Binds",
    "CgroupnsMode",
)


def slim_container(document, engine):
    """The parts of `docker inspect` the checks read; environment values are dropped here."""
    host_config = document.get("HostConfig") or {}
    network_settings = document.get("NetworkSettings") or {}
    state = document.get("State") or {}
    health = state.get("Health") or {}
    return {
        "Id": document.get("Id", ""),
        "Name": (document.get("Name") or "").lstrip("/") or document.get("Id", "")[:12],
        "Engine": _engine_label(engine),
        "EngineKind": engine["kind"],
        "EngineMode": engine["mode"],
        "Image": document.get("Image", ""),
        "Config": _slim_config(document.get("Config")),
        "HostConfig": {key: host_config.get(key) for key in _HOST_CONFIG_KEYS},
        "State": {
            "Status": state.get("Status"),
            "Running": state.get("Running"),
            "Pid": state.get("Pid"),
            "Health": health.get("Status"),
        },
        "AppArmorProfile": document.get("AppArmorProfile"),
        "ProcessLabel": document.get("ProcessLabel"),
        "Mounts": [
            {key: mount.get(key) for key in ("Type", "Source", "Destination", "RW", "Propagation", "Mode")}
            for mount in document.get("Mounts") or []
        ],
        "Ports": network_settings.get("Ports") or {},
        "Networks": sorted((network_settings.get("Networks") or {}).keys()),
    }


def slim_image(document, engine):
    config = document.get("Config") or {}
    graph = document.get("GraphDriver") or {}
    return {
        "Id": document.get("Id", ""),
        "Engine": _engine_label(engine),
        "EngineKind": engine["kind"],
        "EngineMode": engine["mode"],
        "RepoTags": document.get("RepoTags") or [],
        "RepoDigests": document.get("RepoDigests") or [],
        "Created": document.get("Created"),
        "User": config.get("User") or "",
        "Healthcheck": config.get("Healthcheck"),
        "EnvNames": env_names(config.get("Env")),
        "GraphDriver": {"Name": graph.get("Name"), "Data": graph.get("Data") or {}},
    }


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=COMMAND_TIMEOUT)
        self.unix_path = path

    def connect(self):
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        connection.settimeout(COMMAND_TIMEOUT)
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
        connection = connection or _UnixConnection(self.path)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise FactError("{}: API {} failed: {}".format(_engine_label(self.engine), path, error)) from None
        finally:
            if own:
                connection.close()
        if response.status == 404 and missing_ok:
            return None  # removed between listing and inspect: it is gone, nothing to audit
        if response.status != 200:
            raise FactError(
                "{}: API {} answered {}: {}".format(
                    _engine_label(self.engine), path, response.status, body.decode("utf-8", "replace").strip()[:200]
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
            connection = _UnixConnection(self.path)
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

    def version(self):
        return self.get("/version")


class EngineCli:
    """An engine through its command line (Podman, or a Docker socket we may not open directly)."""

    def __init__(self, engine):
        self.engine = engine

    def containers(self):
        ids = _run_engine(self.engine, ["ps", "--all", "--quiet", "--no-trunc"]).split()
        return json.loads(_run_engine(self.engine, ["container", "inspect", *ids])) if ids else []

    def images(self):
        ids = sorted(set(_run_engine(self.engine, ["images", "--quiet", "--no-trunc"]).split()))
        return json.loads(_run_engine(self.engine, ["image", "inspect", *ids])) if ids else []

    def version(self):
        # A local Podman answers with a Client part only; Docker's CLI with Client and Server.
        answer = json.loads(_run_engine(self.engine, ["version", "--format", "{{json .}}"]))
        return answer.get("Server") or answer.get("Client") or {}


def local_docker_api():
    """The rootful Docker engine's API when its socket is usable here, else None (use the CLI)."""
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(path):
            if os.access(path, os.R_OK | os.W_OK) and "DOCKER_HOST" not in os.environ:
                return DockerApi({"kind": "docker", "mode": "rootful", "user": None, "socket": path})
            return None
    return None


def engine_client(engine):
    if engine["kind"] == "docker" and engine["socket"] and os.access(engine["socket"], os.R_OK | os.W_OK):
        return DockerApi(engine)
    return EngineCli(engine)


def _engine_snapshot(engine):
    """Every container and every image of one engine, inspected, and the engine's version."""
    snapshot = {
        "engine": _engine_label(engine),
        "kind": engine["kind"],
        "mode": engine["mode"],
        "user": engine["user"],
        "socket": engine["socket"],
    }
    results = {}
    client = engine_client(engine)
    snapshot["access"] = "api" if isinstance(client, DockerApi) else "cli"

    def containers():
        results["containers"] = [slim_container(document, engine) for document in client.containers()]

    def images():
        results["images"] = [slim_image(document, engine) for document in client.images()]

    def version():
        results["version"] = client.version()

    errors = {}

    def guarded(name, function):
        try:
            function()
        except Exception as error:  # reported per part; the other parts still count
            errors[name] = str(error) if isinstance(error, FactError) else "{}: {}".format(type(error).__name__, error)

    threads = [
        threading.Thread(target=guarded, args=(name, function))
        for name, function in (("containers", containers), ("images", images), ("version", version))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot.update(results)
    snapshot["errors"] = errors
    return snapshot


def engine_snapshots():
    engines = detect_engines()
    snapshots = [None] * len(engines)

    def one(index):
        snapshots[index] = _engine_snapshot(engines[index])

    threads = [threading.Thread(target=one, args=(index,)) for index in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return snapshots


def _from_snapshots(snapshots, part):
    """A flat list of `part` across engines; an engine that failed to answer makes the fact an error."""
    if not snapshots:
        raise FactError("no container engine found (no Docker socket, no Podman storage)")
    found = []
    for snapshot in snapshots:
        if part in snapshot["errors"]:
            raise FactError(snapshot["errors"][part])
        found.extend(snapshot.get(part) or [])
    return found


def container_processes(containers):
    """Process names (comm only, never command lines) per running container, from the host's /proc.

    Containers sharing the host's PID namespace (--pid=host, CIS 5.15) get an empty list: their
    processes are the host's. Containers sharing one namespace (--pid=container:X) share a list."""
    try:
        own = os.readlink("/proc/self/ns/pid")
    except OSError:
        own = None
    wanted = {}
    names = {}
    for container in containers:
        pid = container["State"].get("Pid")
        if not (container["State"].get("Running") and pid):
            continue
        try:
            namespace = os.readlink("/proc/{}/ns/pid".format(pid))
        except OSError:
            continue  # not visible from here: the check reports it as unreadable
        names[container["Id"]] = []
        if namespace != own and container["HostConfig"].get("PidMode") != "host":
            wanted.setdefault(namespace, []).append(container["Id"])
    if not wanted:
        return names
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            namespace = os.readlink("/proc/{}/ns/pid".format(entry))
            if namespace not in wanted:
                continue
            with open("/proc/{}/comm".format(entry), encoding="utf-8", errors="replace") as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        for container_id in wanted[namespace]:
            names[container_id].append(comm)
    return {container_id: sorted(set(found)) for container_id, found in names.items()}


def setuid_files(images, in_use):
    """Per image in use: files with setuid/setgid bits in its layers, when the layers are readable."""
    found = {}
    for image in images:
        if image["Id"] not in in_use:
            continue
        data = image["GraphDriver"]["Data"]
        layers = [path for path in (data.get("UpperDir"), *tuple((data.get("LowerDir") or "").split(":"))) if path]
        if not layers or not all(os.path.isdir(path) for path in layers):
            found[image["Id"]] = {
                "inspectable": False,
                "reason": "layers of storage driver {} are not readable here".format(image["GraphDriver"]["Name"]),
            }
            continue
        files, scanned = set(), 0
        for layer in layers:
            for directory, _subdirs, entries in os.walk(layer):
                for entry in entries:
                    scanned += 1
                    try:
                        mode = os.lstat(os.path.join(directory, entry)).st_mode
                    except OSError:
                        continue
                    if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
                        files.add(os.path.join(directory, entry)[len(layer) :] or "/")
                if scanned > SETUID_SCAN_LIMIT:
                    break
        if scanned > SETUID_SCAN_LIMIT:
            found[image["Id"]] = {"inspectable": False, "reason": "more than {} files".format(SETUID_SCAN_LIMIT)}
        else:
            found[image["Id"]] = {"inspectable": True, "files": sorted(files)}
    return found


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


def engine_facts():
    """containers, images, engines, processes and setuid files from one snapshot of every engine."""
    started = time.time()
    snapshots = fact(engine_snapshots)
    if "error" in snapshots:
        failed = {"error": snapshots["error"]}
        return {
            "engines": failed,
            "containers": failed,
            "images": failed,
            "container_processes": failed,
            "image_setuid_files": failed,
        }
    snapshots = snapshots["value"]
    facts = {
        "engines": {
            "value": [
                {key: snapshot[key] for key in ("engine", "kind", "mode", "user", "socket", "access")}
                for snapshot in snapshots
            ]
        },
        "engine_versions": {"value": {snapshot["engine"]: snapshot.get("version") for snapshot in snapshots}},
        "containers": fact(_from_snapshots, snapshots, "containers"),
        "images": fact(_from_snapshots, snapshots, "images"),
    }
    if "value" in facts["containers"]:
        facts["container_processes"] = fact(container_processes, facts["containers"]["value"])
    else:
        facts["container_processes"] = facts["containers"]
    if "value" in facts["images"] and "value" in facts["containers"]:
        in_use = {container["Image"] for container in facts["containers"]["value"] if container["State"].get("Running")}
        facts["image_setuid_files"] = fact(setuid_files, facts["images"]["value"], in_use)
    else:
        facts["image_setuid_files"] = facts["images"] if "error" in facts["images"] else facts["containers"]
    facts["engine_seconds"] = {"value": round(time.time() - started, 3)}
    return facts


class Background(threading.Thread):
    """Runs `function` while the main thread gathers the other facts."""

    def __init__(self, function):
        threading.Thread.__init__(self, daemon=True)
        self.function = function
        self.value = None
        self.start()

    def run(self):
        self.value = self.function()

    def result(self):
        self.join()
        return self.value
