"""Our own section 4 controls for Docker: approved registries, digest pinning, the integrity baseline.

BH-4.11 and BH-4.12 judge one container each, so that an admission gate can refuse ``docker run`` of
an unapproved or unpinned image with the same function the audit uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bulkhead.checks.containers import Container, Image, describe, running_containers
from bulkhead.checks.images import (
    approved,
    approved_registries,
    image_names,
    named_reference,
    pinned_by_digest,
    rootful_docker_images_by_name,
)
from bulkhead.checks.registry import (
    Check,
    ContainerCheck,
    Context,
    Findings,
    Reasons,
    _register,
    host_check,
    reasons,
)
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState


@dataclass(frozen=True)
class ImageContext(Context):
    """A Context that also knows the engines' images (ID -> image), for containers started by image ID."""

    images: Mapping[str, Image] | None = None


def _named_container_check(control_id: str) -> Callable[[ContainerCheck], ContainerCheck]:
    """Register a container check whose host form writes ``container NAME runs ...`` (no colon).

    That is the text these controls have always reported (and what waivers and dashboards match),
    so their host form is written here rather than by ``registry.container_check``. It reads the
    images before the containers, as the audit always did: unreadable images are an error even
    where no container runs.
    """

    def register(function: ContainerCheck) -> ContainerCheck:
        def judge(state: HostState, settings: AuditConfig) -> Findings:
            images = {image["Id"]: image for image in state.fact("images")}
            context = ImageContext(settings=settings, images=images)
            return [
                f"{describe(container)} {reason}"
                for container in running_containers(state)
                for reason in reasons(function(container, context))
            ]

        _register(Check(control_id, judge, function))
        return function

    return register


def _image_of(container: Container, context: Context) -> Image | None:
    images = getattr(context, "images", None)
    if images is None:
        raise FactUnavailable(f"the images of container {container['Name']}'s engine are not known")
    return images.get(container["Image"])


def origin_references(container: Container, context: Context) -> list[str]:
    """What a container's image is called: the reference it was started with, or (started by ID) the image's names."""
    reference = container["Config"].get("Image", "")
    if named_reference(reference):
        return [reference]
    return image_names(_image_of(container, context))


@_named_container_check("BH-4.11")
def approved_registry(container: Container, context: Context) -> Reasons:
    registries = approved_registries(context.settings)
    names = origin_references(container, context)
    if approved(names, registries):
        return None
    shown = ", ".join(names) or container["Image"]
    allowed = ", ".join(registries) or "none configured (audit setting approved_registries)"
    return f"runs {shown}, not from an approved registry (approved: {allowed})"


@_named_container_check("BH-4.12")
def pinned_reference(container: Container, context: Context) -> Reasons:
    reference = container["Config"].get("Image", "")
    if pinned_by_digest(reference):
        return None
    return f"runs {reference or container['Image']}, not pinned by digest"


def _engine_file_findings(baseline: dict[str, Any]) -> Findings:
    recorded = baseline["recorded"]["files"]
    if not recorded:
        return [f"the baseline {baseline['path']} records no file"]
    current = baseline["current"]["files"]
    findings = []
    for path, digest in sorted(recorded.items()):
        now = current.get(path)
        if now == digest:
            continue
        if digest is None:
            findings.append(f"{path} appeared since the baseline was recorded")
        elif now is None:
            findings.append(f"{path} was removed since the baseline was recorded")
        else:
            findings.append(f"{path} changed: sha256 {now[:12]}..., baseline {digest[:12]}...")
    return findings


def _approved_image_findings(baseline: dict[str, Any], current: Mapping[str, Image]) -> Findings:
    findings = []
    for reference, entry in sorted((baseline["recorded"].get("images") or {}).items()):
        now = current.get(reference)
        if now is None:
            findings.append(f"image {reference} from the baseline is gone")
        elif now.get("Id") != entry.get("id"):
            findings.append(f"image {reference} is now {now.get('Id')}, baseline {entry.get('id')}")
        elif sorted(now.get("RepoDigests") or []) != sorted(entry.get("repo_digests") or []):
            findings.append(f"image {reference} has other repo digests than in the baseline")
    return findings


@host_check("BH-4.16")
def integrity_baseline(state: HostState, settings: AuditConfig) -> Findings:
    baseline = state.fact("integrity_baseline")
    file_findings = _engine_file_findings(baseline)
    return file_findings + _approved_image_findings(baseline, rootful_docker_images_by_name(state))
