"""Our own section 4 controls for Podman, Buildah and Skopeo: the containers/* configuration."""

import pytest

from bulkhead.checks.images import approved, approved_registries
from bulkhead.checks.podman_config import containers_conf, registries_conf
from bulkhead.verdict import fail, fail_for_each, not_applicable

SIGNATURE_TYPES = ("signedBy", "sigstoreSigned")
UNNEEDED_CAPABILITIES = ("NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_ADMIN", "NET_ADMIN", "SYS_MODULE")


def _needs_tools(tools):
    if not tools:
        not_applicable("none of podman, buildah, skopeo is installed")


@pytest.mark.control("BH-4.13")
def test_policy_rejects_by_default(state):
    policy = state.fact("containers_policy")
    if not policy["exists"]:
        _needs_tools(policy["tools"])
        fail(f"{policy['path']} does not exist")
    default = policy["policy"].get("default") or []
    kinds = [requirement.get("type") for requirement in default if isinstance(requirement, dict)]
    if not kinds or any(kind != "reject" for kind in kinds):
        fail(f"{policy['path']}: the default requirement is {kinds or 'missing'}, not reject")


@pytest.mark.control("BH-4.13")
def test_approved_registries_require_signatures(state, audit_config):
    policy = state.fact("containers_policy")
    if not policy["exists"]:
        _needs_tools(policy["tools"])
        fail(f"{policy['path']} does not exist")
    scopes = (policy["policy"].get("transports") or {}).get("docker") or {}
    findings = []
    for registry in approved_registries(audit_config):
        requirements = scopes.get(registry)
        if not requirements:
            findings.append(f"{policy['path']}: approved registry {registry} has no docker transport entry")
            continue
        kinds = [requirement.get("type") for requirement in requirements if isinstance(requirement, dict)]
        if not any(kind in SIGNATURE_TYPES for kind in kinds) or "insecureAcceptAnything" in kinds:
            findings.append(f"{policy['path']}: approved registry {registry} does not require a signature ({kinds})")
    for scope, requirements in sorted(scopes.items()):
        kinds = [requirement.get("type") for requirement in requirements if isinstance(requirement, dict)]
        if "insecureAcceptAnything" in kinds:
            findings.append(f"{policy['path']}: docker scope {scope or '(all)'} accepts images without a signature")
    fail_for_each(findings)


@pytest.mark.control("BH-4.14")
def test_short_names_resolve_only_to_approved_registries(state, audit_config):
    conf = registries_conf(state)
    if not conf.files:
        _needs_tools(conf.tools)
        fail("no /etc/containers/registries.conf: short names resolve as each tool's build defaults say")
    settings = conf.settings
    findings = []
    mode = settings.get("short-name-mode", "permissive (default)")
    if mode != "enforcing":
        findings.append(f"short-name-mode is {mode}, not enforcing ({', '.join(conf.files)})")
    hosts = {registry.split("/", 1)[0] for registry in approved_registries(audit_config)}
    extra = [host for host in settings.get("unqualified-search-registries", []) if host not in hosts]
    if extra:
        findings.append(f"unqualified-search-registries searches unapproved registries: {', '.join(extra)}")
    registries = approved_registries(audit_config)
    outside = sorted(
        (name, alias) for name, alias in conf.aliases.items() if not approved([alias["target"]], registries)
    )
    if outside:
        name, alias = outside[0]
        findings.append(
            f"{len(outside)} short-name alias(es) resolve outside the approved registries, e.g. {name} -> "
            f"{alias['target']} ({alias['file']})"
        )
    fail_for_each(findings)


@pytest.mark.control("BH-4.15")
def test_containers_conf_hardened_defaults(state):
    conf = containers_conf(state)
    if not conf.files:
        _needs_tools(conf.tools)
        fail("no containers.conf: new containers get each tool's built-in defaults")
    settings = conf.containers
    where = ", ".join(conf.files)
    findings = []
    capabilities = settings.get("default_capabilities")
    if capabilities is None:
        findings.append(f"default_capabilities is not set ({where}): the built-in list applies")
    else:
        granted = sorted({str(cap).upper().removeprefix("CAP_") for cap in capabilities} & set(UNNEEDED_CAPABILITIES))
        if granted:
            findings.append(f"default_capabilities grants {', '.join(granted)} ({where})")
    if settings.get("no_new_privileges") is not True:
        findings.append(f"no_new_privileges is not true ({where})")
    pids_limit = settings.get("pids_limit")
    if not isinstance(pids_limit, int) or pids_limit <= 0:
        findings.append(f"pids_limit is {pids_limit!r}, not a positive limit ({where})")
    if not settings.get("default_ulimits"):
        findings.append(f"default_ulimits is not set ({where})")
    log_size = settings.get("log_size_max")
    if settings.get("log_driver", "k8s-file") == "k8s-file" and (not isinstance(log_size, int) or log_size <= 0):
        findings.append(f"log_size_max is {log_size!r}: container logs grow without bound ({where})")
    fail_for_each(findings)
