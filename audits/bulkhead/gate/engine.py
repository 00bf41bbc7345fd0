"""The engine's view of what a request refers to: an image (settings a container takes from it,
USER and HEALTHCHECK, and its ID and repo digests, which the image controls match to SBOMs and
scanner reports), another container (its mounts for --volumes-from, its namespaces for --network
container:X), a named volume (what it binds)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote

from bulkhead.collector.docker import UnixHTTPConnection
from bulkhead.collector.engines import slim_container, slim_mount, slim_volume
from bulkhead.facts import FactUnavailable

DOCKER_SOCKET = "/var/run/docker.sock"


class EngineImages:
    """``GET /images/{reference}/json`` on the engine's socket (None when the engine has no such
    image), and ``mounts`` of a container.

    The engine asks the gate about this request too (a GET, always allowed): the server answers
    requests concurrently, so the lookup cannot wait on itself.
    """

    def __init__(self, socket_path: str = DOCKER_SOCKET, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _get(self, path: str) -> dict[str, Any] | None:
        return self._answer(path)[1]

    def _answer(self, path: str) -> tuple[int | None, dict[str, Any] | None]:
        """(HTTP status, JSON object); status None when the engine could not be asked."""
        connection = UnixHTTPConnection(self.socket_path, self.timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return None, None
        finally:
            connection.close()
        if response.status != 200:
            return response.status, None
        try:
            document = json.loads(body)
        except ValueError:
            return None, None
        return (200, document) if isinstance(document, dict) else (None, None)

    def lookup(self, path: str, what: str) -> dict[str, Any] | None:
        """The engine's document at ``path``; None when it has no such object (404). An engine that
        cannot answer raises FactUnavailable: the gate cannot tell, so it never guesses "absent"."""
        status, document = self._answer(path)
        if status == 404:
            return None
        if document is None:
            raise FactUnavailable(f"the engine could not be asked about {what} ({self.socket_path})")
        return document

    def mounts(self, container: str) -> list[dict[str, Any]] | None:
        """The mounts of an existing container as inspect shows them (for --volumes-from)."""
        document = self._get(f"/containers/{quote(container, safe='')}/json")
        if document is None:
            return None
        return [slim_mount(mount) for mount in document.get("Mounts") or []]

    def __call__(self, reference: str) -> dict[str, Any] | None:
        document = self._get(f"/images/{quote(reference, safe='')}/json")
        if document is None:
            return None
        config = document.get("Config") or {}
        return {
            "Id": str(document.get("Id") or ""),
            "RepoTags": list(document.get("RepoTags") or []),
            "RepoDigests": list(document.get("RepoDigests") or []),
            "User": config.get("User") or "",
            "Healthcheck": config.get("Healthcheck"),
            "ExposedPorts": sorted(config.get("ExposedPorts") or {}),
        }


# The engine the gate guards, as the collector labels it (the gate's documents say the same).
GATED_ENGINE = {"kind": "docker", "mode": "rootful", "user": None}


class EngineContainers:
    """Another container of the engine, as ``container:<name-or-id>`` names it (``checks.registry.ContainerLookup``).

    None when the engine has no such container; FactUnavailable when it cannot be asked."""

    def __init__(self, engine: EngineImages) -> None:
        self.engine = engine

    def find(self, joiner: dict[str, Any], reference: str) -> dict[str, Any] | None:
        document = self.engine.lookup(f"/containers/{quote(reference, safe='')}/json", f"container {reference}")
        return slim_container(document, GATED_ENGINE) if document is not None else None


class EngineVolumes:
    """A named volume of the engine (``checks.registry.VolumeLookup``): None when there is none (a
    request's own options then decide: it creates the volume); FactUnavailable when it cannot be asked."""

    def __init__(self, engine: EngineImages) -> None:
        self.engine = engine

    def find(self, container: dict[str, Any], name: str) -> dict[str, Any] | None:
        document = self.engine.lookup(f"/volumes/{quote(name, safe='')}", f"volume {name}")
        return slim_volume(document, GATED_ENGINE) if document is not None else None
