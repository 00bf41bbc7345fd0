"""Binds (``-v``) and Mounts (``--mount``) of a create request, as ``docker inspect`` shows them."""

from __future__ import annotations

import posixpath
from typing import Any

from bulkhead.gate.go_json import fold

_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def binds_as_mounts(binds: list[Any]) -> list[dict[str, Any]]:
    """``-v source:destination[:options]`` as ``docker inspect`` shows the mount."""
    mounts = []
    for bind in binds:
        parts = str(bind).split(":")
        if len(parts) < 2:
            mounts.append({"Type": "volume", "Source": "", "Destination": parts[0], "RW": True, "Propagation": ""})
            continue
        source, destination = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) > 2 else []
        is_bind = source.startswith("/")
        propagation = next((option for option in options if option in _PROPAGATIONS), _default_propagation(source))
        mounts.append(
            {
                "Type": "bind" if is_bind else "volume",
                "Source": posixpath.normpath(source) if is_bind else "",
                "Destination": destination,
                "RW": "ro" not in options,
                "Propagation": propagation,
                "Mode": ",".join(options),
            }
        )
    return mounts


def _default_propagation(source: str) -> str:
    """What dockerd records for a bind without one (inspect shows rslave for a bind of /)."""
    if not source.startswith("/"):
        return ""
    return "rslave" if posixpath.normpath(source) == "/" else "rprivate"


def mount_entries(mounts: list[Any]) -> list[dict[str, Any]]:
    """``--mount type=...,source=...,target=...`` as ``docker inspect`` shows the mount."""
    found = []
    for mount in mounts:
        mount = fold(mount, ("Type", "Source", "Target", "ReadOnly", "BindOptions"), "HostConfig.Mounts entry")
        kind = str(mount.get("Type") or "volume")
        source = str(mount.get("Source") or "")
        bind_options = fold(mount.get("BindOptions"), ("Propagation",), "BindOptions")
        found.append(
            {
                "Type": kind,
                "Source": (posixpath.normpath(source) if source else "") if kind == "bind" else "",
                "Destination": str(mount.get("Target") or ""),
                "RW": not mount.get("ReadOnly"),
                "Propagation": str(
                    bind_options.get("Propagation") or (_default_propagation(source) if kind == "bind" else "")
                ),
                "Mode": "",
            }
        )
    return found
