"""The effective Docker daemon configuration: daemon.json and the dockerd command line together.

Either place can set a value (dockerd refuses to start when both do), so a check that read only
daemon.json would pass an engine started with ``--icc=true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bulkhead.facts import FactUnavailable, HostState

_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


@dataclass(frozen=True)
class Setting:
    value: Any
    source: str  # "daemon.json", "command line" or "default"

    def describe(self) -> str:
        return f"{self.value!r} ({self.source})"


def host_dockerd(state: HostState) -> dict[str, Any]:
    """This host's one rootful dockerd, from the collector's dockerd_processes fact.

    That fact already leaves out engines nested in other containers; rootless engines (non-zero
    uid or a user namespace of their own) have their own configuration and are not it.
    """
    processes = state.fact("dockerd_processes")
    rootful = [process for process in processes if not process["rootless"]]
    if len(rootful) == 1:
        return rootful[0]
    if rootful:
        pids = ", ".join(str(process["pid"]) for process in rootful)
        raise FactUnavailable(f"several rootful dockerd processes run on this host (pids {pids}): which one to audit?")
    if processes:
        rootless = ", ".join(f"{process['user']} (pid {process['pid']})" for process in processes)
        raise FactUnavailable(f"no rootful dockerd runs on this host, only rootless ones: {rootless}")
    raise FactUnavailable("no dockerd process runs on this host")


def dockerd_argv(state: HostState) -> list[str]:
    """The command line of this host's rootful dockerd."""
    return list(host_dockerd(state)["argv"])


# dockerd's boolean shorthands (--debug, --version, --help): in a group (-DH x) they take no value.
BOOLEAN_SHORTHANDS = "Dvh"


def command_line_values(argv: Sequence[str], *flags: str, boolean: bool = False) -> list[str]:
    """Every value given to any of ``flags`` on a dockerd command line, in order (``-H x``, ``--host=x``,
    ``-Hx``, ``-H=x``, ``-DH x``).

    ``argv[0]`` is the program. A ``boolean`` flag given alone (``--icc``) means ``"true"``: pflag
    never takes the next token as its value. A shorthand group is read as pflag reads it: boolean
    shorthands, then at most one shorthand that takes the rest of the token (or the next token) as its
    value. The collector keeps a stdlib copy of this parser (``collector/facts.py`` ``options``);
    ``tests/data/dockerd_flags.yml`` pins both.
    """
    tokens = list(argv[1:])
    values = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        named = [flag for flag in flags if token == flag or token.startswith(flag + "=")]
        for flag in named:
            if token != flag:
                values.append(token.split("=", 1)[1])
            elif boolean:
                values.append("true")
            elif following is not None:
                values.append(following)
        if not named and token.startswith("-") and not token.startswith("--") and len(token) > 1:
            values += _shorthand_values(token[1:], following, {flag[1:] for flag in flags if len(flag) == 2}, boolean)
    return values


def _shorthand_values(group: str, following: str | None, wanted: set[str], boolean: bool) -> list[str]:
    values = []
    for position, letter in enumerate(group):
        rest = group[position + 1 :]
        if rest.startswith("="):
            return values + ([rest[1:]] if letter in wanted else [])
        if letter in BOOLEAN_SHORTHANDS or (boolean and letter in wanted):
            values += ["true"] if letter in wanted else []
            continue
        value = rest or following
        return values + ([value] if letter in wanted and value is not None else [])
    return values


def last_value(argv: Sequence[str], *flags: str, boolean: bool = False) -> str | None:
    """The value dockerd uses for ``flags``: the last one given, or None when absent."""
    values = command_line_values(argv, *flags, boolean=boolean)
    return values[-1] if values else None


def effective_setting(state: HostState, key: str, default: Any, *, boolean: bool = False) -> Setting:
    """What the running engine was told for daemon.json ``key`` (dockerd flag ``--key``)."""
    flag_value = last_value(dockerd_argv(state), f"--{key}", boolean=boolean)
    if flag_value is not None:
        return Setting(_as_bool(flag_value) if boolean else flag_value, "command line")
    settings = state.fact("daemon_json")["settings"]
    if key in settings:
        return Setting(settings[key], "daemon.json")
    return Setting(default, "default")


def _as_bool(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


def default_bridge(state: HostState) -> dict[str, Any]:
    for network in state.fact("docker_networks"):
        if network.get("Options", {}).get("com.docker.network.bridge.default_bridge") == "true":
            return network
    raise FactUnavailable("the engine reports no default bridge network")


def daemon_no_new_privileges(state: HostState) -> bool | None:
    """The rootful Docker daemon's no-new-privileges default; None when there is no rootful dockerd to ask."""
    try:
        return effective_setting(state, "no-new-privileges", False, boolean=True).value is True
    except FactUnavailable:
        return None


def daemon_json_settings(state: HostState) -> dict[str, Any]:
    """The settings in /etc/docker/daemon.json (empty when it does not exist)."""
    settings: dict[str, Any] = state.fact("daemon_json")["settings"]
    return settings


def docker_info(state: HostState) -> dict[str, Any]:
    """``docker info`` of the rootful engine."""
    info: dict[str, Any] = state.fact("docker_info")
    return info
