"""Image references and approved registries, as Docker and containers/image understand them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bulkhead.config import AuditConfig
from bulkhead.facts import HostState


def split_reference(reference: str) -> tuple[str, str]:
    """(registry host, repository path) of an image reference, with Docker's defaults for short names."""
    name = reference.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    if not rest:
        return "docker.io", "library/" + name
    return "docker.io", name


def repository(reference: str) -> str:
    """``host/path`` without tag or digest: ``busybox:1`` -> ``docker.io/library/busybox``."""
    host, path = split_reference(reference)
    last = path.rsplit("/", 1)
    if ":" in last[-1]:
        path = path.rsplit(":", 1)[0]
    return f"{host}/{path}"


def under_registry(reference: str, registry: str) -> bool:
    """Whether ``reference`` lies under ``registry`` (``host[:port]`` or ``host[:port]/namespace``)."""
    registry = registry.rstrip("/")
    host, _path = split_reference(reference)
    if "/" not in registry:
        return host == registry
    return (repository(reference) + "/").startswith(registry + "/")


def rootful_docker_images_by_name(state: HostState) -> dict[str, dict[str, Any]]:
    """The rootful Docker engine's images by every tag and digest they carry (how baselines name them)."""
    named = {}
    for image in state.fact("images"):
        if (image.get("EngineKind"), image.get("EngineMode")) != ("docker", "rootful"):
            continue
        for name in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
            named[name] = image
    return named


def is_image_id(reference: str) -> bool:
    bare = reference.removeprefix("sha256:")
    return len(bare) >= 12 and all(char in "0123456789abcdef" for char in bare)


def pinned_by_digest(reference: str) -> bool:
    return "@sha256:" in reference


def approved_registries(audit_config: AuditConfig) -> list[str]:
    """The ``approved_registries`` setting: strings, or mappings with a ``location`` (like the Ansible variable)."""
    locations = []
    for entry in audit_config.get("approved_registries"):
        location = entry.get("location") if isinstance(entry, dict) else entry
        if isinstance(location, str) and location.strip():
            locations.append(location.strip())
    return locations


def approved(references: Iterable[str], registries: list[str]) -> bool:
    return any(under_registry(reference, registry) for reference in references for registry in registries)


def named_reference(reference: str) -> bool:
    """Whether a container was started by an image name, not by an image ID (nor with no reference at all)."""
    return bool(reference) and not is_image_id(reference)


def image_names(image: dict[str, Any] | None) -> list[str]:
    """Every name an image carries: its tags, then its repo digests (none for an unknown image)."""
    image = image or {}
    return list(image.get("RepoTags") or []) + list(image.get("RepoDigests") or [])
