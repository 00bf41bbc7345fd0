"""Our own section 4 controls for Podman, Buildah and Skopeo: the containers/* configuration."""

from __future__ import annotations

from typing import Any

from bulkhead.checks.images import approved, approved_registries
from bulkhead.checks.podman_config import RegistriesConf, containers_conf, registries_conf
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState, NotApplicable

SIGNATURE_TYPES = ("signedBy", "sigstoreSigned")
UNNEEDED_CAPABILITIES = ("NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE")


def _needs_tools(tools: list[str]) -> None:
    """A missing configuration file matters only where a tool would read it."""
    if not tools:
        raise NotApplicable("none of podman, buildah, skopeo is installed")


def _kinds(requirements: list[Any]) -> list[Any]:
    return [requirement.get("type") for requirement in requirements if isinstance(requirement, dict)]


def _default_findings(policy: dict[str, Any]) -> Findings:
    kinds = _kinds(policy["policy"].get("default") or [])
    if not kinds or any(kind != "reject" for kind in kinds):
        return [f"{policy['path']}: the default requirement is {kinds or 'missing'}, not reject"]
    return []


def _signature_findings(policy: dict[str, Any], registries: list[str]) -> Findings:
    scopes = (policy["policy"].get("transports") or {}).get("docker") or {}
    findings = []
    for registry in registries:
        requirements = scopes.get(registry)
        if not requirements:
            findings.append(f"{policy['path']}: approved registry {registry} has no docker transport entry")
            continue
        kinds = _kinds(requirements)
        if not any(kind in SIGNATURE_TYPES for kind in kinds) or "insecureAcceptAnything" in kinds:
            findings.append(f"{policy['path']}: approved registry {registry} does not require a signature ({kinds})")
    for scope, requirements in sorted(scopes.items()):
        if "insecureAcceptAnything" in _kinds(requirements):
            findings.append(f"{policy['path']}: docker scope {scope or '(all)'} accepts images without a signature")
    return findings


def signature_policy(state: HostState, settings: AuditConfig) -> Findings:
    policy = state.fact("containers_policy")
    if not policy["exists"]:
        _needs_tools(policy["tools"])
        return [f"{policy['path']} does not exist"]
    return _default_findings(policy) + _signature_findings(policy, approved_registries(settings))


def _alias_findings(conf: RegistriesConf, registries: list[str]) -> Findings:
    outside = sorted(
        (name, alias) for name, alias in conf.aliases.items() if not approved([alias["target"]], registries)
    )
    if not outside:
        return []
    name, alias = outside[0]
    return [
        f"{len(outside)} short-name alias(es) resolve outside the approved registries, e.g. {name} -> "
        f"{alias['target']} ({alias['file']})"
    ]


def short_name_resolution(state: HostState, settings: AuditConfig) -> Findings:
    conf = registries_conf(state)
    if not conf.files:
        _needs_tools(conf.tools)
        return ["no /etc/containers/registries.conf: short names resolve as each tool's build defaults say"]
    findings = []
    mode = conf.settings.get("short-name-mode", "permissive (default)")
    if mode != "enforcing":
        findings.append(f"short-name-mode is {mode}, not enforcing ({', '.join(conf.files)})")
    registries = approved_registries(settings)
    hosts = {registry.split("/", 1)[0] for registry in registries}
    extra = [host for host in conf.settings.get("unqualified-search-registries", []) if host not in hosts]
    if extra:
        findings.append(f"unqualified-search-registries searches unapproved registries: {', '.join(extra)}")
    return findings + _alias_findings(conf, registries)


def _capability_finding(capabilities: list[Any] | None, where: str) -> Findings:
    if capabilities is None:
        return [f"default_capabilities is not set ({where}): the built-in list applies"]
    granted = sorted({str(cap).upper().removeprefix("CAP_") for cap in capabilities} & set(UNNEEDED_CAPABILITIES))
    return [f"default_capabilities grants {', '.join(granted)} ({where})"] if granted else []


def _limit_findings(settings: dict[str, Any], where: str) -> Findings:
    findings = []
    if settings.get("no_new_privileges") is not True:
        findings.append(f"no_new_privileges is not true ({where})")
    pids_limit = settings.get("pids_limit")
    if not isinstance(pids_limit, int) or pids_limit <= 0:
        findings.append(f"pids_limit is {pids_limit!r}, not a positive limit ({where})")
    if not settings.get("default_ulimits"):
        findings.append(f"default_ulimits is not set ({where})")
    log_size = settings.get("log_size_max")
    # Only the k8s-file driver writes logs that grow on disk without log_size_max.
    if settings.get("log_driver", "k8s-file") == "k8s-file" and (not isinstance(log_size, int) or log_size <= 0):
        findings.append(f"log_size_max is {log_size!r}: container logs grow without bound ({where})")
    return findings


def hardened_container_defaults(state: HostState, settings: AuditConfig) -> Findings:
    conf = containers_conf(state)
    if not conf.files:
        _needs_tools(conf.tools)
        return ["no containers.conf: new containers get each tool's built-in defaults"]
    where = ", ".join(conf.files)
    capabilities = _capability_finding(conf.containers.get("default_capabilities"), where)
    return capabilities + _limit_findings(conf.containers, where)


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "BH-4.13": HostCheck(signature_policy),
    "BH-4.14": HostCheck(short_name_resolution),
    "BH-4.15": HostCheck(hardened_container_defaults),
}
