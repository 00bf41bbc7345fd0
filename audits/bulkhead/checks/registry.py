"""Control ID -> the one function that decides its verdict, for every caller that judges.

A check takes facts and returns findings, one line each (an empty list is a pass). It raises
``NotApplicable`` when the control does not apply and ``FactUnavailable`` when a fact it needs could
not be read. No pytest, no I/O: the audit suites, the history of gone containers and the admission
gate all call the same function.

Three kinds:
- a **host check** (``HostCheck(function)``) takes the host's facts and the audit settings;
- a **container check** (``ContainerCheck(function, needs=...)``) takes one container's inspect
  document (as the collector normalises it) and a ``Context`` with the little it needs from the
  host. Registering it also registers its host form, which judges every running container and
  prefixes each finding with the container (``container web: runs --privileged``), and every
  container the events recorder kept that is gone or stopped since (``bulkhead.recorded``:
  ``container debug-1 (removed, ran 03:00:12-03:01:40): runs --privileged``).
- an **image check** (``ImageCheck(function, needs=...)``) takes one image (``docker image
  inspect``: ``Id``, ``RepoTags``, ``RepoDigests``) and a ``Context``. Its host form judges every
  image running containers use (``image app:1: no SBOM ... (used by web, worker)``); the gate
  judges the image a container is about to be created from.

Each module of checks ends with a ``CHECKS`` table, control ID -> check, which ``bulkhead.checks``
registers. (A table rather than decorators: mutation testing tools skip decorated functions.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

from bulkhead.checks.containers import (
    Container,
    ContainerIndex,
    Image,
    VolumeIndex,
    describe,
    image_name,
    images_in_use,
    running_containers,
    users_of,
)
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.recorded import gone_containers

Findings = list[str]
Reasons = str | Iterable[str] | None


class ContainerLookup(Protocol):
    """Another container, as ``container:<name-or-id>`` names it (the audit's ``ContainerIndex``, the
    gate's engine): None when the engine of ``joiner`` has no such container."""

    def find(self, joiner: Container, reference: str) -> Container | None: ...


class VolumeLookup(Protocol):
    """A named volume of the engine of ``container`` (the audit's ``VolumeIndex``, the gate's engine):
    ``Driver``, ``Options`` (type, device, o's bind flags) and ``RealDevice``; None when there is none."""

    def find(self, container: Container, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Context:
    """What a container check may need besides the container. ``None`` means not known."""

    settings: AuditConfig = field(default_factory=AuditConfig)
    cgroup_version: int | None = None
    apparmor: bool | None = None
    selinux: bool | None = None
    # The rootful Docker daemon's no-new-privileges default (None: no rootful dockerd to ask).
    daemon_no_new_privileges: bool | None = None
    # Container ID -> names of the processes running in it.
    processes: Mapping[str, Sequence[str]] | None = None
    # Image ID -> image, for containers started by image ID (what is that image called?).
    images: Mapping[str, Image] | None = None
    # The SBOM index ``bulkhead sbom`` keeps: {"directory": ..., "images": {image ID: entry}}.
    image_sboms: Mapping[str, Any] | None = None
    # The other containers, for namespaces joined through one (``--network container:X``).
    containers: ContainerLookup | None = None
    # Named volumes, for what a local volume binds (``-o o=bind -o device=/etc``).
    volumes: VolumeLookup | None = None

    def need(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise FactUnavailable(f"not known here: {name.replace('_', ' ')}")
        return value


HostJudge = Callable[[HostState, AuditConfig], Findings]
ContainerJudge = Callable[[Container, Context], Reasons]
ImageJudge = Callable[[Image, Context], Reasons]
Precondition = Callable[[Context], None]


@dataclass(frozen=True)
class HostCheck:
    """A control judged on the host's facts: ``function(state, settings) -> findings``."""

    function: HostJudge


def _refuse_unknown_needs(function: Callable[..., Any], needs: Iterable[str]) -> None:
    unknown = set(needs) - {entry.name for entry in fields(Context)}
    if unknown:
        raise ValueError(f"{function.__name__}: unknown context fields {sorted(unknown)}")


@dataclass(frozen=True)
class ContainerCheck:
    """A control judged container by container: ``function(container, context) -> reasons``.

    ``needs`` names the Context fields it reads; ``precondition`` raises NotApplicable for the whole
    host (no AppArmor on this kernel) before any container is looked at.
    """

    function: ContainerJudge
    needs: Iterable[str] = ()
    precondition: Precondition | None = None

    def __post_init__(self) -> None:
        _refuse_unknown_needs(self.function, self.needs)


@dataclass(frozen=True)
class ImageCheck:
    """A control judged image by image: ``function(image, context) -> reasons``.

    ``needs`` and ``precondition`` as for a container check (the precondition sees the settings:
    no scanner reports configured is not applicable on every host).
    """

    function: ImageJudge
    needs: Iterable[str] = ()
    precondition: Precondition | None = None

    def __post_init__(self) -> None:
        _refuse_unknown_needs(self.function, self.needs)


@dataclass(frozen=True)
class Check:
    """A registered control: ``judge`` for a host; ``container`` (or ``image``) too for a per-container
    (per-image) control."""

    control_id: str
    judge: HostJudge
    container: ContainerJudge | None = None
    needs: frozenset[str] = frozenset()
    precondition: Precondition | None = None
    image: ImageJudge | None = None


REGISTRY: dict[str, Check] = {}


def register(checks: Mapping[str, HostCheck | ContainerCheck | ImageCheck]) -> None:
    """Register a module's ``CHECKS`` table; a control with two checks is a programming error."""
    for control_id, entry in checks.items():
        if control_id in REGISTRY:
            raise ValueError(f"control {control_id} has two checks")
        if isinstance(entry, HostCheck):
            REGISTRY[control_id] = Check(control_id, entry.function)
        elif isinstance(entry, ImageCheck):
            needs = frozenset(entry.needs)
            judge = _on_every_image_in_use(entry.function, needs, entry.precondition)
            REGISTRY[control_id] = Check(control_id, judge, None, needs, entry.precondition, entry.function)
        else:
            needs = frozenset(entry.needs)
            judge = _on_every_running_container(entry.function, needs, entry.precondition)
            REGISTRY[control_id] = Check(control_id, judge, entry.function, needs, entry.precondition)


def _on_every_running_container(
    function: ContainerJudge, needs: frozenset[str], precondition: Precondition | None
) -> HostJudge:
    def judge(state: HostState, settings: AuditConfig) -> Findings:
        context = context_from_facts(state, settings, needs)
        if precondition is not None:
            precondition(context)
        gone = gone_containers(state, settings)
        try:
            running = running_containers(state)
        except NotApplicable:
            if not gone:
                raise
            running = []
        findings = [
            f"{describe(container)}: {reason}"
            for container in running
            for reason in reasons(function(container, context))
        ]
        return findings + _judge_gone(function, context, gone)

    return judge


def _on_every_image_in_use(function: ImageJudge, needs: frozenset[str], precondition: Precondition | None) -> HostJudge:
    def judge(state: HostState, settings: AuditConfig) -> Findings:
        used = images_in_use(state)  # first: an unreachable host is an error, never not applicable
        context = context_from_facts(state, settings, needs)
        if precondition is not None:
            precondition(context)
        return [
            f"image {image_name(image)}: {reason} (used by {users_of(containers)})"
            for image, containers in used.values()
            for reason in reasons(function(image, context))
        ]

    return judge


def _judge_gone(function: ContainerJudge, context: Context, gone: list[tuple[Container, str]]) -> Findings:
    """Containers no longer running that the events recorder kept: same function, their life span in the finding.

    A control that needs what only a running container shows (its processes, 5.6) cannot judge a
    gone one: FactUnavailable and NotApplicable skip that container, never the control."""
    findings = []
    for container, span in gone:
        try:
            found = reasons(function(container, context))
        except (FactUnavailable, NotApplicable):
            continue
        findings += [f"{describe(container)} ({span}): {reason}" for reason in found]
    return findings


def reasons(found: Reasons) -> Findings:
    if found is None:
        return []
    if isinstance(found, str):
        return [found]
    return [reason for reason in found if reason]


def context_from_facts(state: HostState, settings: AuditConfig, needs: Iterable[str]) -> Context:
    """A Context holding the fields in ``needs``, read from the host's facts (errors propagate)."""
    from bulkhead.checks.daemon import daemon_no_new_privileges  # daemon imports this module

    values: dict[str, Any] = {}
    for name in needs:
        if name in ("cgroup_version", "apparmor", "selinux"):
            values[name] = state.fact("kernel_security")[name]
        elif name == "daemon_no_new_privileges":
            values[name] = daemon_no_new_privileges(state)
        elif name == "processes":
            values[name] = state.fact("container_processes")
        elif name == "images":
            values[name] = {image["Id"]: image for image in state.fact("images")}
        elif name == "image_sboms":
            values[name] = state.fact("image_sboms")
        elif name == "containers":
            values[name] = ContainerIndex(state.fact("containers"))
        elif name == "volumes":
            values[name] = VolumeIndex(lambda: state.fact("volumes"))
    return replace(Context(settings=settings), **values)


@dataclass
class ContainerVerdict:
    """One container judged against container controls: findings per control, and what was not judged."""

    findings: dict[str, Findings] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    undetermined: dict[str, str] = field(default_factory=dict)


def judge_container(
    container: Container, context: Context, control_ids: Iterable[str] | None = None
) -> ContainerVerdict:
    """Judge one container (running, gone, or not yet created) against container controls.

    Each control gives findings (possibly none), or is not applicable, or undetermined when the
    context lacks what it needs: a caller that must fail closed treats undetermined as a refusal.
    """
    verdict = ContainerVerdict()
    wanted = container_controls() if control_ids is None else list(control_ids)
    for control_id in wanted:
        check = REGISTRY[control_id]
        if check.container is None:
            raise KeyError(f"control {control_id} is not a container control")
        try:
            if check.precondition is not None:
                check.precondition(context)
            verdict.findings[control_id] = reasons(check.container(container, context))
        except NotApplicable as reason:
            verdict.not_applicable[control_id] = str(reason)
        except FactUnavailable as reason:
            verdict.undetermined[control_id] = str(reason)
    return verdict


def image_controls() -> list[str]:
    """The IDs of every control that judges one image at a time."""
    return [control_id for control_id, check in REGISTRY.items() if check.image is not None]


def container_controls() -> list[str]:
    """The IDs of every control that judges one container at a time."""
    return [control_id for control_id, check in REGISTRY.items() if check.container is not None]
