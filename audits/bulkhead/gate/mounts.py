"""Binds (``-v``) and Mounts (``--mount``) of a create request, as ``docker inspect`` shows them."""

from __future__ import annotations

from typing import Any

from bulkhead.checks.containers import host_path
from bulkhead.collector.engines import real_path, volume_bind_options
from bulkhead.gate.go_json import fold, mapping

_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def binds_as_mounts(binds: list[Any]) -> list[dict[str, Any]]:
    """``-v source:destination[:options]`` as ``docker inspect`` shows the mount."""
    mounts = []
    for bind in binds:
        parts = str(bind).split(":")
        if len(parts) < 2:  # an anonymous volume: new, without options
            mounts.append({"Type": "volume", "Source": "", "Destination": parts[0], "RW": True, "Propagation": ""})
            continue
        source, destination = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) > 2 else []
        is_bind = source.startswith("/")
        propagation = next((option for option in options if option in _PROPAGATIONS), _default_propagation(source))
        mount = {
            "Type": "bind" if is_bind else "volume",
            "Source": host_path(source) if is_bind else "",
            "Destination": destination,
            "RW": "ro" not in options,
            "Propagation": propagation,
            "Mode": ",".join(options),
        }
        if is_bind:
            mount["RealSource"] = real_path(source)
        else:  # a named volume: the engine's, or a new one without options
            mount.update({"Name": source, "Driver": "local", "DriverOptions": {}})
        mounts.append(mount)
    return mounts


def _default_propagation(source: str) -> str:
    """What dockerd records for a bind without one (inspect shows rslave for a bind of /)."""
    if not source.startswith("/"):
        return ""
    return "rslave" if host_path(source) == "/" else "rprivate"


def mount_entries(mounts: list[Any]) -> list[dict[str, Any]]:
    """``--mount type=...,source=...,target=...`` as ``docker inspect`` shows the mount."""
    found = []
    for mount in mounts:
        mount = fold(
            mount,
            ("Type", "Source", "Target", "ReadOnly", "BindOptions", "VolumeOptions"),
            "HostConfig.Mounts entry",
        )
        kind = str(mount.get("Type") or "volume")
        source = str(mount.get("Source") or "")
        bind_options = fold(mount.get("BindOptions"), ("Propagation",), "BindOptions")
        entry = {
            "Type": kind,
            "Source": (host_path(source) if source else "") if kind == "bind" else "",
            "Destination": str(mount.get("Target") or ""),
            "RW": not mount.get("ReadOnly"),
            "Propagation": str(
                bind_options.get("Propagation") or (_default_propagation(source) if kind == "bind" else "")
            ),
            "Mode": "",
        }
        if kind == "bind":
            entry["RealSource"] = real_path(source)
        elif kind == "volume" and source:
            entry.update(_volume_driver(mount.get("VolumeOptions")))
            entry["Name"] = source
        found.append(entry)
    return found


def _volume_driver(value: Any) -> dict[str, Any]:
    """The driver and options a ``--mount type=volume`` asks for (used when it creates the volume),
    reduced as the collector reduces a volume's (``slim_volume``)."""
    volume_options = fold(value, ("DriverConfig",), "VolumeOptions")
    driver = fold(volume_options.get("DriverConfig"), ("Name", "Options"), "DriverConfig")
    options = mapping(driver.get("Options"), "DriverConfig.Options")
    return {"Driver": str(driver.get("Name") or "local"), "DriverOptions": volume_bind_options(options)}
