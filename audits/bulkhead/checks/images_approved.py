"""Our own section 4 controls for Docker: approved registries, digest pinning, the integrity baseline.

BH-4.11 and BH-4.12 judge one container each, so that an admission gate can refuse ``docker run`` of
an unapproved or unpinned image with the same function the audit uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkhead.checks.containers import Container, Image
from bulkhead.checks.images import (
    approved,
    approved_registries,
    image_names,
    named_reference,
    pinned_by_digest,
    rootful_docker_images_by_name,
)
from bulkhead.checks.registry import ContainerCheck, Context, Findings, HostCheck, Reasons
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState


def _image_of(container: Container, context: Context) -> Image | None:
    return context.need("images").get(container["Image"])


def origin_references(container: Container, context: Context) -> list[str]:
    """What a container's image is called: the reference it was started with, or (started by ID) the image's names."""
    reference = container["Config"].get("Image", "")
    if named_reference(reference):
        return [reference]
    return image_names(_image_of(container, context))


def approved_registry(container: Container, context: Context) -> Reasons:
    registries = approved_registries(context.settings)
    names = origin_references(container, context)
    if approved(names, registries):
        return None
    shown = ", ".join(names) or container["Image"]
    allowed = ", ".join(registries) or "none configured (audit setting approved_registries)"
    return f"runs {shown}, not from an approved registry (approved: {allowed})"


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


def integrity_baseline(state: HostState, settings: AuditConfig) -> Findings:
    baseline = state.fact("integrity_baseline")
    file_findings = _engine_file_findings(baseline)
    return file_findings + _approved_image_findings(baseline, rootful_docker_images_by_name(state))


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "BH-4.11": ContainerCheck(approved_registry, needs=["images"]),
    "BH-4.12": ContainerCheck(pinned_reference),
    "BH-4.16": HostCheck(integrity_baseline),
}
