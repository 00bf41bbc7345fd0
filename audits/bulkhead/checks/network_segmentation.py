"""Network segmentation (BH-8.x): user-defined networks per application and zone, and the DOCKER-USER policy.

Applications and zones come from labels the audit settings name: ``container_app_label`` and
``container_zone_label`` on containers (the collector reports the values of those labels only),
``network_zone_label`` on networks (empty: the container zone label). Networks are those of every
engine (the ``networks`` fact); a container names its networks by name, within its own engine.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Iterable
from typing import Any

from bulkhead.checks.containers import Container, describe, running_containers
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

Network = dict[str, Any]
ICC_OPTION = "com.docker.network.bridge.enable_icc"
# Networks that are not user-defined: each engine's default bridge, and the host / none modes.
DEFAULT_NETWORKS = {"docker": {"bridge", "host", "none"}, "podman": {"podman", "host", "none"}}
# Modes in which a container shares no network with other containers (host: CIS 5.9).
NOT_SHARED = {"host", "none"}
POLICY_COMMENT = "bulkhead:"
CHAIN = "DOCKER-USER"


def describe_network(network: Network) -> str:
    """``network shop-net``, with the engine when it is not the rootful Docker engine."""
    if network.get("EngineKind") == "docker" and network.get("EngineMode") == "rootful":
        return f"network {network.get('Name')}"
    return f"network {network.get('Name')} [{network.get('Engine', '?')}]"


def is_user_defined(network: Network) -> bool:
    return network.get("Name") not in DEFAULT_NETWORKS.get(str(network.get("EngineKind")), {"host", "none"})


def listed(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def zone_label(settings: AuditConfig) -> str:
    return str(settings.get("network_zone_label") or settings.get("container_zone_label") or "")


def network_zone(network: Network, settings: AuditConfig) -> str | None:
    label = zone_label(settings)
    value = (network.get("Labels") or {}).get(label) if label else None
    return str(value) if value else None


def label_value(container: Container, label: str) -> str | None:
    """The container's value of ``label``; fails closed when the collector did not report it."""
    config = container.get("Config") or {}
    values = config.get("LabelValues")
    if values is None or (label in (config.get("Labels") or []) and label not in values):
        raise FactUnavailable(f"the collector did not report the value of label {label!r} of {describe(container)}")
    value = values.get(label)
    return str(value) if value else None


def networks_by_name(state: HostState) -> dict[tuple[str, str], Network]:
    """(engine, network name) -> network, for every engine's networks."""
    return {(str(network.get("Engine")), str(network.get("Name"))): network for network in state.fact("networks")}


def attached(container: Container) -> list[str]:
    """The networks a container sits on, by name; none for host networking and --network none."""
    return [name for name in container.get("Networks") or [] if name not in NOT_SHARED]


def network_of(networks: dict[tuple[str, str], Network], container: Container, name: str) -> Network:
    """The network ``name`` of the container's engine; one the engine no longer lists, by name only."""
    found = networks.get((str(container.get("Engine")), name))
    if found is not None:
        return found
    return {"Name": name, **{key: container.get(key) for key in ("Engine", "EngineKind", "EngineMode")}}


def reachable(state: HostState) -> None:
    """An unreachable host is an error for every control, never "not applicable" for want of a setting."""
    if state.collection_error:
        raise FactUnavailable(state.collection_error)


# --- BH-8.1 -------------------------------------------------------------------------------------


def icc_disabled_on_user_networks(state: HostState, settings: AuditConfig) -> Findings:
    networks = [network for network in state.fact("networks") if is_user_defined(network)]
    bridges = [network for network in networks if network.get("IccConfigurable")]
    if not bridges:
        podman = any(network.get("EngineKind") == "podman" for network in networks)
        raise NotApplicable(
            "no user-defined Docker bridge network"
            + ("; Podman networks have no inter-container communication switch" if podman else "")
        )
    allowed = [str(pattern) for pattern in settings.get("icc_allowed_networks")]
    return [
        f"{describe_network(network)} allows inter-container communication"
        for network in bridges
        if str((network.get("Options") or {}).get(ICC_OPTION, "true")).lower() != "false"
        and not any(fnmatch.fnmatchcase(str(network.get("Name")), pattern) for pattern in allowed)
    ]


# --- BH-8.2 -------------------------------------------------------------------------------------


def no_egress_zones_internal(state: HostState, settings: AuditConfig) -> Findings:
    reachable(state)
    if not zone_label(settings):
        raise NotApplicable("no network_zone_label or container_zone_label configured")
    zones = {str(zone) for zone in settings.get("no_egress_zones")}
    if not zones:
        raise NotApplicable("no no_egress_zones configured")
    findings = []
    for network in state.fact("networks"):
        zone = network_zone(network, settings)
        if zone not in zones:
            continue
        internal = network.get("Internal")
        if internal is None:
            raise FactUnavailable(f"{describe_network(network)}: the engine does not say whether it is internal")
        if not internal:
            findings.append(f"{describe_network(network)} of zone {zone} is not internal (it routes out of the host)")
    return findings


# --- BH-8.3 -------------------------------------------------------------------------------------


def no_container_bridges_zones(state: HostState, settings: AuditConfig) -> Findings:
    reachable(state)
    container_label = str(settings.get("container_zone_label") or "")
    if not container_label and not settings.get("network_zone_label"):
        raise NotApplicable("no container_zone_label or network_zone_label configured")
    networks = networks_by_name(state)
    findings = []
    on_network: dict[tuple[str, str], tuple[Network, list[tuple[str, str]]]] = {}
    for container in running_containers(state):
        zones: set[str] = set()
        own = label_value(container, container_label) if container_label else None
        if own:
            zones.add(own)
        for name in attached(container):
            network = network_of(networks, container, name)
            zone = network_zone(network, settings)
            if zone:
                zones.add(zone)
            if own:
                key = (str(container.get("Engine")), name)
                on_network.setdefault(key, (network, []))[1].append((own, str(container["Name"])))
        if len(zones) > 1:
            findings.append(f"{describe(container)} bridges zones {listed(sorted(zones))}")
    for _key, (network, members) in sorted(on_network.items(), key=lambda item: item[0]):
        zones = sorted({zone for zone, _name in members})
        if len(zones) > 1:  # containers labelled with two zones on one network (whatever its own zone)
            names = sorted(name for _zone, name in members)
            findings.append(f"{describe_network(network)} joins zones {listed(zones)} (containers {', '.join(names)})")
    return findings


# --- BH-8.4 -------------------------------------------------------------------------------------


def applications_do_not_share_networks(state: HostState, settings: AuditConfig) -> Findings:
    reachable(state)
    label = str(settings.get("container_app_label") or "")
    if not label:
        raise NotApplicable("no container_app_label configured")
    networks = networks_by_name(state)
    members: dict[tuple[str, str], tuple[Network, dict[str | None, list[str]]]] = {}
    for container in running_containers(state):
        app = label_value(container, label)
        for name in attached(container):
            key = (str(container.get("Engine")), name)
            network = network_of(networks, container, name)
            members.setdefault(key, (network, {}))[1].setdefault(app, []).append(str(container["Name"]))
    findings = []
    for _key, (network, apps) in sorted(members.items(), key=lambda item: item[0]):
        where = describe_network(network)
        if not is_user_defined(network) and network.get("Name") != "host":
            where += " (the default bridge)"
        labelled = sorted(app for app in apps if app is not None)
        names = sorted(name for app in labelled for name in apps[app])
        if len(labelled) > 1:
            findings.append(f"{where} is shared by applications {listed(labelled)} (containers {', '.join(names)})")
        elif labelled and None in apps:
            unlabelled = ", ".join(sorted(apps[None]))
            findings.append(
                f"{where}: containers without label {label} ({unlabelled}) share it with application {labelled[0]}"
            )
    return findings


# --- BH-8.5 -------------------------------------------------------------------------------------


def parse_rule(line: str) -> list[str]:
    """An `iptables -S` line as arguments (quoted comments kept whole)."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def rule_option(arguments: list[str], *names: str) -> str | None:
    for index, argument in enumerate(arguments[:-1]):
        if argument in names:
            return arguments[index + 1]
    return None


def is_bulkhead(arguments: list[str]) -> bool:
    return str(rule_option(arguments, "--comment") or "").startswith(POLICY_COMMENT)


def policy_findings(rules: list[str], default_deny: bool) -> Findings:
    """What is wrong with DOCKER-USER's rules (``-A DOCKER-USER ...`` lines, in order) as a Bulkhead policy."""
    parsed = [parse_rule(line) for line in rules]
    ours = [index for index, arguments in enumerate(parsed) if is_bulkhead(arguments)]
    if not ours:
        return [
            f"{CHAIN} holds no Bulkhead rule (comment {POLICY_COMMENT}...):"
            " the east-west and egress policy is not loaded"
        ]
    findings = []
    for index, arguments in enumerate(parsed[: ours[0]]):
        if arguments[2:] in (["-j", "RETURN"], ["-j", "ACCEPT"]):
            target = arguments[-1]
            findings.append(
                f"{CHAIN} rule {index + 1} ({target}, unconditional) comes before the Bulkhead rules: they never match"
            )
    if default_deny:
        denies = [index for index in ours if rule_option(parsed[index], "-j") in ("DROP", "REJECT")]
        if not denies:
            findings.append(
                f"{CHAIN} has no Bulkhead default deny (a DROP or REJECT rule commented {POLICY_COMMENT}...)"
            )
        else:
            late = [index for index in ours if index > denies[-1] and rule_option(parsed[index], "-j") == "ACCEPT"]
            if late:
                findings.append(
                    f"{CHAIN} rule {late[0] + 1} (Bulkhead ACCEPT) comes after"
                    f" the last default deny (rule {denies[-1] + 1})"
                )
    return findings


def network_policy_loaded(state: HostState, settings: AuditConfig) -> Findings:
    reachable(state)
    if not settings.get("network_policy_expected"):
        raise NotApplicable("no network policy configured (network_policy_expected is false)")
    chain = state.fact("docker_user_chain")
    if not chain.get("exists"):
        return [f"the {CHAIN} chain does not exist (is the Docker engine running with iptables?)"]
    return policy_findings(list(chain.get("rules") or []), bool(settings.get("network_policy_default_deny")))


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "BH-8.1": HostCheck(icc_disabled_on_user_networks),
    "BH-8.2": HostCheck(no_egress_zones_internal),
    "BH-8.3": HostCheck(no_container_bridges_zones),
    "BH-8.4": HostCheck(applications_do_not_share_networks),
    "BH-8.5": HostCheck(network_policy_loaded),
}
