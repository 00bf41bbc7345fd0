"""The containers/* configuration (registries.conf, containers.conf) as Podman, Buildah and Skopeo
see it: the collector brings the files' text, and they are parsed and merged here, on the auditing
side, where Python's own TOML parser is always available.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from bulkhead.facts import FactUnavailable, HostState


@dataclass
class RegistriesConf:
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    registries: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)


@dataclass
class ContainersConf:
    files: list[str] = field(default_factory=list)
    containers: dict[str, Any] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)


def _documents(fact: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for entry in fact["files"]:
        try:
            parsed.append((entry["path"], tomllib.loads(entry["text"])))
        except tomllib.TOMLDecodeError as error:
            raise FactUnavailable(f"{entry['path']} is not valid TOML: {error}") from None
    return parsed


def registries_conf(state: HostState) -> RegistriesConf:
    """registries.conf merged with its drop-ins the way containers/image does: later files win."""
    fact = state.fact("containers_registries_conf")
    merged = RegistriesConf(tools=fact["tools"])
    registries: dict[str, dict[str, Any]] = {}
    for path, document in _documents(fact):
        merged.files.append(path)
        for key, value in document.items():
            if key == "registry":
                for entry in value:
                    registries[entry.get("prefix") or entry.get("location", "")] = entry
            elif key == "aliases":
                for name, target in value.items():
                    merged.aliases[name] = {"target": target, "file": path}
            else:
                merged.settings[key] = value
    merged.registries = list(registries.values())
    return merged


def containers_conf(state: HostState) -> ContainersConf:
    """The [containers] table of containers.conf and its drop-ins: later files win."""
    fact = state.fact("containers_conf")
    merged = ContainersConf(tools=fact["tools"])
    for path, document in _documents(fact):
        merged.files.append(path)
        merged.containers.update(document.get("containers") or {})
    return merged
