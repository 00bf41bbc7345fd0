"""Containers and images from the host's state, and the one-line findings section 4-6 checks write.

Findings name the object first, ``container NAME: reason`` or ``image NAME: reason``, so that a
waiver's container pattern can match them (see ``bulkhead.waivers``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from bulkhead.facts import HostState, NotApplicable
from bulkhead.gotime import go_time

Container = dict[str, Any]
Image = dict[str, Any]

# CIS 5.5: host directories that must not be mounted into containers, read-only included.
SENSITIVE_HOST_DIRECTORIES = ("/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/docker")
ENGINE_SOCKETS = ("docker.sock", "podman.sock")


def all_containers(state: HostState) -> list[Container]:
    return list(state.fact("containers"))


def running_containers(state: HostState) -> list[Container]:
    """Every running container of every engine on the host; none running makes the check N/A."""
    running = [container for container in all_containers(state) if container["State"].get("Running")]
    if not running:
        raise NotApplicable("no running containers")
    return running


def describe(container: Container) -> str:
    """``container web``, with the engine when it is not the rootful Docker engine."""
    if container.get("EngineKind") == "docker" and container.get("EngineMode") == "rootful":
        return f"container {container['Name']}"
    return f"container {container['Name']} [{container.get('Engine', '?')}]"


def image_name(image: Image) -> str:
    tags = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
    return tags[0] if tags else image["Id"].removeprefix("sha256:")[:12]


def images_in_use(state: HostState) -> dict[str, tuple[Image, list[Container]]]:
    """Image ID -> (image, running containers using it)."""
    images = {image["Id"]: image for image in state.fact("images")}
    used: dict[str, tuple[Image, list[Container]]] = {}
    for container in running_containers(state):
        image = images.get(container["Image"])
        if image is None:
            continue  # removed while the container runs (docker rmi -f): nothing to inspect
        used.setdefault(image["Id"], (image, []))[1].append(container)
    return used


def users_of(containers: list[Container]) -> str:
    names = sorted(container["Name"] for container in containers)
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def security_options(container: Container) -> list[str]:
    return [str(option) for option in container["HostConfig"].get("SecurityOpt") or []]


def security_option(container: Container, name: str) -> str | None:
    """The value of ``--security-opt name=value`` (or the old ``name:value``); '' for a bare flag."""
    value = None
    for option in security_options(container):
        if option == name:
            value = ""
        for separator in ("=", ":"):
            if option.startswith(name + separator):
                value = option[len(name) + 1 :]
    return value


def capabilities(values: Iterable[str] | None) -> set[str]:
    return {str(value).upper().removeprefix("CAP_") for value in values or []}


def published_ports(container: Container) -> list[tuple[str, str, int]]:
    """(container port, host address, host port) for every published port."""
    found = []
    for container_port, bindings in (container.get("Ports") or {}).items():
        for binding in bindings or []:
            host_port = str(binding.get("HostPort") or "0")
            if host_port.isdigit():
                found.append((container_port, binding.get("HostIp") or "", int(host_port)))
    return found


class ContainerIndex:
    """The containers of a host, found as ``container:<name-or-id>`` names them (a name, an ID, or an
    ID prefix that only one container has), on the engine of the container that names them."""

    def __init__(self, containers: Iterable[Container]) -> None:
        self.containers = list(containers)

    def find(self, joiner: Container, reference: str) -> Container | None:
        same_engine = [other for other in self.containers if other.get("Engine") == joiner.get("Engine")]
        for other in same_engine:
            if reference in (other.get("Id"), other.get("Name")):
                return other
        prefixed = [other for other in same_engine if reference and str(other.get("Id") or "").startswith(reference)]
        return prefixed[0] if len(prefixed) == 1 else None


def is_root_user(user: str | None) -> bool:
    """Whether a ``--user`` / USER value runs the process as uid 0, however it is written.

    ``user[:group]``: the user part is a name or a uid; runc reads a number as a uid, so ``0``,
    ``00`` and ``0000`` are all root, and an empty user part (``""``, ``:1000``) leaves the image's
    default, root. The group does not make a user root (``1000:0`` is uid 1000 in group 0).
    """
    name = str(user or "").split(":", 1)[0]
    return name in ("", "root") or (name.isdigit() and int(name) == 0)


class VolumeIndex:
    """The engines' named volumes (fact ``volumes``, read when first asked), found by engine and name."""

    def __init__(self, read: Callable[[], Iterable[dict[str, Any]]]) -> None:
        self.read = read
        self._volumes: list[dict[str, Any]] | None = None

    def find(self, container: Container, name: str) -> dict[str, Any] | None:
        if self._volumes is None:
            self._volumes = list(self.read())
        for volume in self._volumes:
            if volume.get("Engine") == container.get("Engine") and volume.get("Name") == name:
                return volume
        return None


def host_path(path: str) -> str:
    """An absolute host path cleaned as the kernel walks it, lexically: ``//etc/``, ``/srv/../etc`` and
    ``/etc/./`` are ``/etc``. The one normaliser for bind sources and volume devices, whoever reads
    them (the collector's inspect, the gate's request); symlinks are resolved where the path exists
    (``RealSource``, ``RealDevice``)."""
    if not path.startswith("/"):
        return path
    return "/" + posixpath.normpath(path).lstrip("/")


def is_sensitive_host_path(source: str) -> bool:
    path = host_path(source)
    if path == "/":
        return True
    return any(path == sensitive or path.startswith(sensitive + "/") for sensitive in SENSITIVE_HOST_DIRECTORIES)


def sensitive_host_path(source: str, resolved: str | None = None) -> str | None:
    """How a finding names a sensitive host path reached as ``source`` (that resolves to ``resolved``);
    None when neither is sensitive."""
    path = host_path(source)
    real = host_path(resolved) if resolved else path
    if not (is_sensitive_host_path(path) or is_sensitive_host_path(real)):
        return None
    return path if real == path else f"{path} (resolves to {real})"


def is_engine_socket(mount: dict[str, Any]) -> bool:
    return any(
        str(mount.get(end) or "").endswith(socket) for end in ("Source", "Destination") for socket in ENGINE_SOCKETS
    )


def image_age_days(image: Image, now: datetime | None = None) -> int | None:
    built = go_time(str(image.get("Created") or ""))
    if built is None:
        return None
    return ((now or datetime.now(UTC)) - built).days


def mebibytes(value: int) -> str:
    return f"{value / 1048576:.0f} MiB"
