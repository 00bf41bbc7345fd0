"""request -> Decision: which controls the request breaks, in which mode, and whether it is admitted.

Every verdict comes from a check function (the registry's, or ``gate_checks`` for exec sessions
and, until they are registered, image controls): the gate decides only what a verdict *means*
under the policy. The image checks (BH-4.17 to BH-4.20: SBOM, fixable vulnerabilities, scan age,
base distribution) judge the image a container is created from, as the engine knows it (its ID
and repo digests), with the policy's ``images`` settings. It fails closed: a request it cannot
read, and a control in enforce mode that it cannot determine, are refused.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bulkhead.checks import REGISTRY, Context, container_controls, image_controls, judge_container
from bulkhead.checks.registry import reasons as reasons_of
from bulkhead.facts import FactUnavailable, NotApplicable
from bulkhead.gate.gate_checks import EXEC_CHECKS, EXEC_CONTROLS, IMAGE_CONTROLS, image_check
from bulkhead.gate.policy import ENFORCE, OFF, Exception_, Policy, this_host
from bulkhead.gate.request import CREATE, EXEC, PULL, UPDATE, Admission, AuthzRequest, RequestError, admission

# Controls about what runs inside a container (sshd): nothing to see before it exists.
RUNTIME_ONLY = frozenset({"5.6"})
# docker update sends resources and the restart policy, zero meaning "unchanged": a control is
# judged when the request sets one of the fields it reads.
UPDATE_FIELDS: dict[str, frozenset[str]] = {
    "5.10": frozenset({"Memory"}),
    "5.11": frozenset({"NanoCpus", "CpuShares", "CpuQuota", "CpusetCpus"}),
    "5.14": frozenset({"RestartPolicy"}),
    "5.28": frozenset({"PidsLimit"}),
}
CAPABILITIES_CONTROL = "5.3"
# dockerd fills these container settings from the image when the request leaves them empty, and
# `docker inspect` shows the result: the gate needs the image's config to judge them.
FROM_IMAGE = {"4.1": "User", "5.26": "Healthcheck"}
# -P publishes on all interfaces: what 5.13 judges.
PUBLISH_CONTROL = "5.13"
# --volumes-from: the controls that judge mounts.
MOUNT_CONTROLS = ("5.5", "5.19", "5.31")
# A container name -> its mounts as inspect shows them, None when the engine has no such container.
ContainerMounts = Callable[[str], list[dict[str, Any]] | None]
# An image reference -> its config (``docker image inspect`` .Config: User, Healthcheck, ExposedPorts)
# and its identity (Id, RepoTags, RepoDigests), None when the engine lacks it.
ImageConfigs = Callable[[str], dict[str, Any] | None]
# The context with what the image checks read now (scanner reports, SBOM index): host_context.ImageFacts.
ImageContext = Callable[[Context], Context]


@dataclass
class ControlResult:
    control: str
    mode: str
    reasons: list[str] = field(default_factory=list)
    undetermined: str | None = None
    not_applicable: str | None = None
    exception: Exception_ | None = None
    expired_exceptions: list[Exception_] = field(default_factory=list)
    # Reasons a CVE exception admits while others remain (the rest still refuse).
    excepted: list[tuple[str, Exception_]] = field(default_factory=list)

    @property
    def breaks(self) -> bool:
        return bool(self.reasons) or self.undetermined is not None

    @property
    def refuses(self) -> bool:
        return self.mode == ENFORCE and self.breaks and self.exception is None

    def lines(self) -> list[str]:
        return list(self.reasons) or ([f"cannot be judged: {self.undetermined}"] if self.undetermined else [])


@dataclass
class Decision:
    allow: bool
    msg: str
    method: str
    path: str
    kind: str | None = None
    container: str = ""
    image: str = ""
    results: list[ControlResult] = field(default_factory=list)
    error: str | None = None
    break_glass: bool = False
    # The API user dockerd names (TLS client certificate); empty on the unix socket.
    user: str = ""

    @property
    def notable(self) -> list[ControlResult]:
        """Results the decision log records: refusals, audit-mode findings, exceptions used."""
        return [result for result in self.results if result.breaks and result.mode != OFF]

    @property
    def logged(self) -> bool:
        return not self.allow or self.break_glass or bool(self.notable)


def gated_controls() -> frozenset[str]:
    """Every control the gate judges at admission (create, update, exec, pull), when its mode is not off."""
    judged = {control for control in container_controls() if control not in RUNTIME_ONLY}
    return frozenset(judged | set(EXEC_CONTROLS) | set(IMAGE_CONTROLS) | set(image_controls()))


def decide(
    request: AuthzRequest,
    policy: Policy,
    context: Context,
    today: date | None = None,
    host: str | None = None,
    break_glass: bool = False,
    image_configs: ImageConfigs | None = None,
    container_mounts: ContainerMounts | None = None,
    image_context: ImageContext | None = None,
) -> Decision:
    try:
        admitted = admission(request)
    except RequestError as error:
        decision = Decision(False, f"cannot read the request, refused: {error}", request.method, request.path)
        decision.error, decision.user = str(error), request.user
        return _break_glass(decision) if break_glass else decision
    if admitted is None:
        return Decision(True, "", request.method, request.path)
    results = judge(admitted, policy, context, image_configs, container_mounts, image_context)
    today = today or date.today()
    host = host or this_host()
    for result in results:
        if result.breaks:
            _apply_exceptions(result, policy, admitted, today, host)
    refusals = [result for result in results if result.refuses]
    decision = Decision(
        allow=not refusals,
        msg=refusal_message(refusals, admitted),
        method=request.method,
        path=request.path,
        kind=admitted.kind,
        container=admitted.container,
        image=admitted.image,
        results=results,
        user=request.user,
    )
    return _break_glass(decision) if break_glass and not decision.allow else decision


def _break_glass(decision: Decision) -> Decision:
    decision.allow = True
    decision.break_glass = True
    return decision


def judge(
    admitted: Admission,
    policy: Policy,
    context: Context,
    image_configs: ImageConfigs | None = None,
    container_mounts: ContainerMounts | None = None,
    image_context: ImageContext | None = None,
) -> list[ControlResult]:
    """Every control the policy does not turn off, judged on what the request asks for."""
    image_configs = _once(image_configs)

    def wanted(ids: Iterable[str]) -> list[str]:
        return [control for control in ids if policy.mode(control) != OFF]

    if admitted.kind == EXEC:
        return [
            _run(control, policy, EXEC_CHECKS[control], admitted.document, context) for control in wanted(EXEC_CONTROLS)
        ]
    if admitted.kind == PULL:
        return [_image(control, policy, admitted.document, context) for control in wanted(IMAGE_CONTROLS)]
    if admitted.kind == UPDATE:
        ids = [
            control for control, names in UPDATE_FIELDS.items() if names & admitted.fields_set and control in REGISTRY
        ]
        return _registry(wanted(ids), policy, admitted.document, context)
    assert admitted.kind == CREATE
    document, unknown = with_engine_defaults(admitted.document, context, image_configs, admitted.publish_all)
    unknown.update(inherit_mounts(document, admitted.volumes_from, container_mounts))
    ids = [
        control
        for control in container_controls()
        if control not in RUNTIME_ONLY and control not in IMAGE_CONTROLS and control != CAPABILITIES_CONTROL
    ]
    results = _registry(wanted(ids), policy, document, context)
    if policy.mode(CAPABILITIES_CONTROL) != OFF and CAPABILITIES_CONTROL in REGISTRY:
        allowed = copy.deepcopy(document)
        added = allowed["HostConfig"].get("CapAdd") or []
        allowed["HostConfig"]["CapAdd"] = [
            capability
            for capability in added
            if str(capability).upper().removeprefix("CAP_") not in policy.allowed_capabilities
        ]
        results += _registry([CAPABILITIES_CONTROL], policy, allowed, context)
    results += [_image(control, policy, document, context) for control in wanted(IMAGE_CONTROLS)]
    assurance = wanted(image_controls())
    if assurance:
        results += _assurance(assurance, policy, config_image(document), context, image_configs, image_context)
    for result in results:
        if result.control in unknown:
            result.reasons, result.undetermined = [], unknown[result.control]
    return sorted(results, key=lambda result: _order(result.control))


def config_image(document: dict[str, Any]) -> str:
    return str(document["Config"].get("Image") or "")


def _once(lookup: ImageConfigs | None) -> ImageConfigs | None:
    """One engine request per image reference and admission, however many controls ask."""
    if lookup is None:
        return None
    seen: dict[str, dict[str, Any] | None] = {}

    def cached(reference: str) -> dict[str, Any] | None:
        if reference not in seen:
            seen[reference] = lookup(reference)
        return seen[reference]

    return cached


def _assurance(
    ids: list[str],
    policy: Policy,
    reference: str,
    context: Context,
    image_configs: ImageConfigs | None,
    image_context: ImageContext | None,
) -> list[ControlResult]:
    """The image checks on the image the container is created from: the audit's functions, one each."""
    found = image_configs(reference) if image_configs is not None and reference else None
    if found is None or not found.get("Id"):
        why = f"the image {reference or '(none)'} is not on the engine: its ID and digests are not known"
        return [ControlResult(control, policy.mode(control), undetermined=why) for control in ids]
    image = {key: found.get(key) or [] for key in ("RepoTags", "RepoDigests")} | {"Id": found["Id"]}
    current = image_context(context) if image_context is not None else context
    results = []
    for control in ids:
        check = REGISTRY[control]
        assert check.image is not None
        result = ControlResult(control, policy.mode(control))
        try:
            if check.precondition is not None:
                check.precondition(current)
            result.reasons = [f"image {reference}: {reason}" for reason in reasons_of(check.image(image, current))]
        except NotApplicable as reason:
            result.not_applicable = str(reason)
        except FactUnavailable as reason:
            result.undetermined = str(reason)
        results.append(result)
    return results


def with_engine_defaults(
    document: dict[str, Any], context: Context, image_configs: ImageConfigs | None, publish_all: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """The container as ``docker inspect`` will show it: the AppArmor profile dockerd gives it, the
    user and health check it takes from its image, and with -P every exposed port published on all
    interfaces (on a host port dockerd picks: 0 here). Also: control -> why it cannot be judged."""
    completed = copy.deepcopy(document)
    if completed.get("AppArmorProfile") is None:
        privileged = completed["HostConfig"].get("Privileged")
        completed["AppArmorProfile"] = ("unconfined" if privileged else "docker-default") if context.apparmor else ""
    config = completed["Config"]
    missing = [key for key in FROM_IMAGE.values() if not config.get(key)]
    unknown: dict[str, str] = {}
    image = image_configs(config["Image"]) if image_configs is not None and (missing or publish_all) else None
    for control, key in FROM_IMAGE.items():
        if key not in missing:
            continue
        if image is None:
            unknown[control] = f"the image {config['Image']} is not on the engine: its {key} is not known"
        else:
            config[key] = image.get(key) or ("" if key == "User" else None)
    if publish_all:
        if image is None:
            unknown[PUBLISH_CONTROL] = (
                f"the image {config['Image']} is not on the engine: its exposed ports are not known"
            )
        exposed = set(config.get("ExposedPorts") or []) | set((image or {}).get("ExposedPorts") or [])
        ports = completed["Ports"] = dict(completed.get("Ports") or {})
        for port in exposed - set(ports):
            ports[port] = [{"HostIp": "", "HostPort": "0"}]
        completed["Ports"] = dict(sorted(ports.items()))  # inspect lists them by port (a Go map)
    return completed, unknown


def inherit_mounts(
    document: dict[str, Any], volumes_from: tuple[str, ...], container_mounts: ContainerMounts | None
) -> dict[str, str]:
    """Add the mounts --volumes-from gives (read-only with ``:ro``), as inspect will list them."""
    unknown: dict[str, str] = {}
    for entry in volumes_from:
        name, _, access = entry.partition(":")
        mounts = container_mounts(name) if container_mounts is not None else None
        if mounts is None:
            why = f"--volumes-from {name}: the mounts of that container are not known to the gate"
            unknown.update(dict.fromkeys(MOUNT_CONTROLS, why))
            continue
        for mount in mounts:
            document["Mounts"].append({**mount, "RW": bool(mount.get("RW")) and access != "ro"})
    return unknown


def _registry(ids: list[str], policy: Policy, document: dict[str, Any], context: Context) -> list[ControlResult]:
    verdict = judge_container(document, context, ids)
    results = []
    for control in ids:
        result = ControlResult(control, policy.mode(control))
        result.reasons = verdict.findings.get(control, [])
        result.undetermined = verdict.undetermined.get(control)
        result.not_applicable = verdict.not_applicable.get(control)
        results.append(result)
    return results


def _image(control: str, policy: Policy, document: dict[str, Any], context: Context) -> ControlResult:
    registered = REGISTRY.get(control)
    if registered is not None and registered.container is not None:
        return _registry([control], policy, document, context)[0]
    return _run(control, policy, image_check(control), document, context)


def _run(control: str, policy: Policy, check: Any, document: dict[str, Any], context: Context) -> ControlResult:
    result = ControlResult(control, policy.mode(control))
    try:
        found = check(document, context)
    except NotApplicable as reason:
        result.not_applicable = str(reason)
    except FactUnavailable as reason:
        result.undetermined = str(reason)
    else:
        result.reasons = [found] if isinstance(found, str) else [reason for reason in found or [] if reason]
    return result


def _apply_exceptions(result: ControlResult, policy: Policy, admitted: Admission, today: date, host: str) -> None:
    """The first live exception covering every reason admits the result; CVE exceptions (BH-4.18)
    cover the reasons naming their CVE, and the result is admitted when they cover them all."""
    excepted: list[tuple[str, Exception_]] = []
    for entry in policy.exceptions_for(result.control):
        if not entry.covers(admitted.container, admitted.image, admitted.labels, host):
            continue
        if entry.expires <= today:
            result.expired_exceptions.append(entry)
            continue
        if entry.cve is None:
            result.exception = entry
            return
        if result.undetermined is None:
            excepted += [(reason, entry) for reason in result.reasons if entry.covers_reason(reason)]
    covered = {reason for reason, _entry in excepted}
    if excepted and covered >= set(result.reasons):
        result.exception = excepted[0][1]
    elif excepted:
        result.excepted = excepted
        result.reasons = [reason for reason in result.reasons if reason not in covered]


def describe(admitted: Admission) -> str:
    if admitted.kind == PULL:
        return f"image {admitted.image}"
    return f"container {admitted.container or '(unnamed)'}"


def refusal_message(refusals: list[ControlResult], admitted: Admission) -> str:
    """``5.4 not allowed: runs --privileged (container debug)``, one clause per refused finding."""
    clauses = []
    for result in refusals:
        expired = "".join(
            f" [{entry.label_text()} expired on {entry.expires.isoformat()}]" for entry in result.expired_exceptions
        )
        clauses += [f"{result.control} not allowed: {line} ({describe(admitted)}){expired}" for line in result.lines()]
    return "; ".join(clauses)


def _order(control: str) -> tuple[int, list[int]]:
    own = control.startswith("BH-")
    return int(own), [int(part) for part in control.removeprefix("BH-").split(".")]
