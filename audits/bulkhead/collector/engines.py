"""Every container engine on the host, and one snapshot of each: containers, images, version.

A fixed number of engine requests whatever the number of containers: per engine one listing and
one inspect of all containers, the same for images, run concurrently (``docker`` talks to the API
socket, ``podman`` to the CLI). Container and image environments are reduced to variable NAMES
here, on the target, so that no value (password, token) ever leaves it. Containers are also seen
from the host's /proc: their process names and their first processes' user namespaces.
"""

import os
import pwd
import stat
import threading
import time

from . import proc
from .docker import DEFAULT_SOCKETS, DockerApi
from .facts import FactError, engine_label, fact, option, user_name
from .podman import EngineCli

SETUID_SCAN_LIMIT = 200000
# A container's first process is a child of one of these (its shim, or conmon for Podman).
SHIMS = ("containerd-shim-runc-v2", "containerd-shim", "conmon")


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
    for socket in DEFAULT_SOCKETS:
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


def env_names(variables):
    """NAME=value entries reduced to their names: values never leave the target."""
    return sorted({str(item).split("=", 1)[0] for item in (variables or [])})


def label_values(labels, wanted):
    """The values of the labels the audit settings name (application, zone): no other value leaves."""
    labels = labels or {}
    return {name: str(labels[name]) for name in wanted if name in labels}


def _slim_config(config, wanted=()):
    config = config or {}
    slim = {
        "User": config.get("User") or "",
        "Image": config.get("Image") or "",
        "Healthcheck": config.get("Healthcheck"),
        "EnvNames": env_names(config.get("Env")),
        "ExposedPorts": sorted((config.get("ExposedPorts") or {}).keys()),
        "Labels": sorted((config.get("Labels") or {}).keys()),
    }
    if wanted:  # only when the audit asks (the events recorder's copy of this function never does)
        slim["LabelValues"] = label_values(config.get("Labels"), wanted)
    return slim


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
    "DeviceCgroupRules",
    "MaskedPaths",
    "ReadonlyPaths",
)


MOUNT_KEYS = ("Type", "Name", "Driver", "Source", "Destination", "RW", "Propagation", "Mode")
# What a local volume's options say about binding a host path; other options (an NFS or CIFS
# address, credentials in "o") never leave the target.
VOLUME_BIND_FLAGS = ("bind", "rbind", "ro", "rw")


def real_path(path):
    """A host path with its symlinks resolved, as the kernel will mount it ('' for a non-path)."""
    if not isinstance(path, str) or not path.startswith("/"):
        return ""
    return os.path.realpath(path)


def slim_mount(mount):
    """One inspect mount: the keys the checks read, and for a bind where its source really leads."""
    slim = {key: mount.get(key) for key in MOUNT_KEYS}
    if slim["Type"] == "bind":
        slim["RealSource"] = real_path(slim["Source"])
    return slim


def volume_bind_options(options):
    """A local volume's options reduced to type, device and the bind flags of "o"."""
    options = options or {}
    flags = [flag for flag in str(options.get("o") or "").split(",") if flag in VOLUME_BIND_FLAGS]
    return {"type": str(options.get("type") or ""), "o": ",".join(flags), "device": str(options.get("device") or "")}


def slim_volume(document, engine):
    """`docker volume inspect` reduced to what says whether it binds a host path (and where to)."""
    kept = volume_bind_options(document.get("Options"))
    binds = bool({"bind", "rbind"} & set(kept["o"].split(",")))
    return {
        "Engine": engine_label(engine),
        "Name": document.get("Name", ""),
        "Driver": document.get("Driver") or "local",
        "Options": kept,
        "RealDevice": real_path(kept["device"]) if binds else "",
    }


def slim_container(document, engine, wanted_labels=()):
    """The parts of `docker inspect` the checks read; environment values are dropped here, and label
    values too except those of ``wanted_labels`` (the labels the audit settings name)."""
    host_config = document.get("HostConfig") or {}
    network_settings = document.get("NetworkSettings") or {}
    state = document.get("State") or {}
    health = state.get("Health") or {}
    return {
        "Id": document.get("Id", ""),
        "Name": (document.get("Name") or "").lstrip("/") or document.get("Id", "")[:12],
        "Engine": engine_label(engine),
        "EngineKind": engine["kind"],
        "EngineMode": engine["mode"],
        "Image": document.get("Image", ""),
        "Config": _slim_config(document.get("Config"), wanted_labels),
        "HostConfig": {key: host_config.get(key) for key in _HOST_CONFIG_KEYS},
        "State": {
            "Status": state.get("Status"),
            "Running": state.get("Running"),
            "Pid": state.get("Pid"),
            "Health": health.get("Status"),
        },
        "AppArmorProfile": document.get("AppArmorProfile"),
        "ProcessLabel": document.get("ProcessLabel"),
        "Mounts": [slim_mount(mount) for mount in document.get("Mounts") or []],
        "Ports": network_settings.get("Ports") or {},
        "Networks": sorted((network_settings.get("Networks") or {}).keys()),
    }


def _mapping(value):
    return {str(key): str(item) for key, item in value.items()} if isinstance(value, dict) else {}


def slim_network(document, engine):
    """One network of either engine in one shape: Docker's `network inspect` keys.

    Podman (netavark-style inspect, Podman 4) has ``internal``, ``options`` and ``labels``; it has no
    per-network inter-container switch (IccConfigurable false), and lists no containers per network:
    each container names its networks instead.
    """
    docker = engine["kind"] == "docker"
    containers = document.get("Containers") if docker else None
    return {
        "Id": document.get("Id" if docker else "id") or "",
        "Name": document.get("Name" if docker else "name") or "",
        "Engine": engine_label(engine),
        "EngineKind": engine["kind"],
        "EngineMode": engine["mode"],
        "Driver": document.get("Driver" if docker else "driver") or "",
        "Internal": document.get("Internal" if docker else "internal"),
        "Options": _mapping(document.get("Options" if docker else "options")),
        "Labels": _mapping(document.get("Labels" if docker else "labels")),
        "Containers": sorted(str((entry or {}).get("Name") or key) for key, entry in (containers or {}).items()),
        "IccConfigurable": docker and (document.get("Driver") == "bridge"),
    }


def slim_image(document, engine):
    config = document.get("Config") or {}
    graph = document.get("GraphDriver") or {}
    return {
        "Id": document.get("Id", ""),
        "Engine": engine_label(engine),
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


def engine_client(engine):
    if engine["kind"] == "docker" and engine["socket"] and os.access(engine["socket"], os.R_OK | os.W_OK):
        return DockerApi(engine)
    return EngineCli(engine)


def _engine_snapshot(engine, wanted_labels=()):
    """Every container, image and network of one engine, inspected, and the engine's version."""
    snapshot = {
        "engine": engine_label(engine),
        "kind": engine["kind"],
        "mode": engine["mode"],
        "user": engine["user"],
        "socket": engine["socket"],
    }
    results = {}
    client = engine_client(engine)
    snapshot["access"] = "api" if isinstance(client, DockerApi) else "cli"

    def containers():
        results["containers"] = [slim_container(document, engine, wanted_labels) for document in client.containers()]

    def images():
        results["images"] = [slim_image(document, engine) for document in client.images()]

    def volumes():
        results["volumes"] = [slim_volume(document, engine) for document in client.volumes()]

    def version():
        results["version"] = client.version()

    def networks():
        results["networks"] = [slim_network(document, engine) for document in client.networks()]

    errors = {}

    def guarded(name, function):
        try:
            function()
        except Exception as error:  # reported per part; the other parts still count
            errors[name] = str(error) if isinstance(error, FactError) else "{}: {}".format(type(error).__name__, error)

    threads = [
        threading.Thread(target=guarded, args=(name, function))
        for name, function in (
            ("containers", containers),
            ("images", images),
            ("version", version),
            ("networks", networks),
            ("volumes", volumes),
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot.update(results)
    snapshot["errors"] = errors
    return snapshot


def engine_snapshots(wanted_labels=()):
    engines = detect_engines()
    snapshots = [None] * len(engines)

    def one(index):
        snapshots[index] = _engine_snapshot(engines[index], wanted_labels)

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


# --- containers seen from the host's /proc ----------------------------------------------------------


def container_processes(containers, processes):
    """Process names (comm only, never command lines) per running container, from the /proc snapshot.

    Containers sharing the host's PID namespace (--pid=host, CIS 5.15) get an empty list: their
    processes are the host's. Containers sharing one namespace (--pid=container:X) share a list."""
    own = processes.own_namespace("pid")
    wanted = {}
    names = {}
    for container in containers:
        pid = container["State"].get("Pid")
        if not (container["State"].get("Running") and pid):
            continue
        process = processes.get(pid)
        namespace = process.namespace("pid") if process is not None else None
        if namespace is None:
            continue  # not visible from here: the check reports it as unreadable
        names[container["Id"]] = []
        if namespace != own and container["HostConfig"].get("PidMode") != "host":
            wanted.setdefault(namespace, []).append(container["Id"])
    if not wanted:
        return names
    for process in processes.processes():
        namespace = process.namespace("pid")
        if namespace not in wanted:
            continue
        comm = process.comm()
        if comm is None:
            continue
        for container_id in wanted[namespace]:
            names[container_id].append(comm)
    return {container_id: sorted(set(found)) for container_id, found in names.items()}


def fresh_enough(snapshot, containers):
    """The /proc snapshot, or a new one when a running container's first process is not in it.

    The snapshot is taken while the engines are asked for their containers: one started in between
    would have no processes to judge (5.6 an error). Looking again once closes that window."""
    for container in containers:
        pid = container["State"].get("Pid")
        if container["State"].get("Running") and pid and snapshot.get(pid) is None:
            return proc.take(snapshot.root)
    return snapshot


def container_id_maps(processes):
    """The first process of every container (child of a containerd shim or conmon), with its id maps."""
    everyone = processes.processes()
    shims = {process.pid: process for process in everyone if process.name in SHIMS}
    found = []
    seen = set()
    for process in everyone:
        parent = process.ppid
        # A shim's children are the container's init and any `exec` sessions: one per shim is enough.
        if parent not in shims or process.pid in shims or parent in seen:
            continue
        seen.add(parent)
        shim = shims[parent]
        if processes.foreign(parent):
            continue
        uid_map, gid_map = process.id_map("uid"), process.id_map("gid")
        if uid_map is None or gid_map is None:
            continue
        found.append(
            {
                "pid": process.pid,
                "container": option(shim.argv, "-id", "-c", "--cid") or "",
                "engine": "podman" if shim.name == "conmon" else "docker",
                "owner_uid": shim.uid,
                "owner": user_name(shim.uid),
                "owner_gid": shim.gid,
                "uid": process.uid,
                "gid": process.gid,
                "uid_map": uid_map,
                "gid_map": gid_map,
                "command": process.name,
            }
        )
    return found


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


def engine_facts(proc_snapshot, wanted_labels=()):
    """containers, images, networks, engines, processes and setuid files from one snapshot of every engine.

    ``proc_snapshot()`` returns the /proc snapshot: it is waited for once the containers are known;
    ``wanted_labels`` are the container labels whose values are reported (the others: names only)."""
    started = time.time()
    snapshots = fact(engine_snapshots, wanted_labels)
    if "error" in snapshots:
        failed = {"error": snapshots["error"]}
        return {
            "engines": failed,
            "containers": failed,
            "images": failed,
            "networks": failed,
            "volumes": failed,
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
        "networks": fact(_from_snapshots, snapshots, "networks"),
        "volumes": fact(_from_snapshots, snapshots, "volumes"),
    }
    if "value" in facts["containers"]:
        processes = fresh_enough(proc_snapshot(), facts["containers"]["value"])
        facts["container_processes"] = fact(container_processes, facts["containers"]["value"], processes)
    else:
        facts["container_processes"] = facts["containers"]
    if "value" in facts["images"] and "value" in facts["containers"]:
        in_use = {container["Image"] for container in facts["containers"]["value"] if container["State"].get("Running")}
        facts["image_setuid_files"] = fact(setuid_files, facts["images"]["value"], in_use)
    else:
        facts["image_setuid_files"] = facts["images"] if "error" in facts["images"] else facts["containers"]
    facts["engine_seconds"] = {"value": round(time.time() - started, 3)}
    return facts
