"""The engine's view of an image: settings a container takes from it (USER, HEALTHCHECK), and
its ID and repo digests, which the image controls match to SBOMs and scanner reports."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

DOCKER_SOCKET = "/var/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        connection.connect(self.unix_path)
        self.sock = connection


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
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()
        if response.status != 200:
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def mounts(self, container: str) -> list[dict[str, Any]] | None:
        """The mounts of an existing container as inspect shows them (for --volumes-from)."""
        document = self._get(f"/containers/{quote(container, safe='')}/json")
        if document is None:
            return None
        keys = ("Type", "Source", "Destination", "RW", "Propagation", "Mode")
        return [{key: mount.get(key) for key in keys} for mount in document.get("Mounts") or []]

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
