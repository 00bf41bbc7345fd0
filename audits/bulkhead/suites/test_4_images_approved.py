"""Our own section 4 controls for Docker: approved registries, digest pinning, the integrity baseline."""

import pytest

from bulkhead.checks.images import (
    approved,
    approved_registries,
    origin_references,
    pinned_by_digest,
    rootful_docker_images_by_name,
    running_container_images,
)
from bulkhead.verdict import fail, fail_for_each


@pytest.mark.control("BH-4.11")
def test_running_images_come_from_approved_registries(state, audit_config):
    registries = approved_registries(audit_config)
    findings = []
    for container in running_container_images(state):
        names = origin_references(container)
        if not approved(names, registries):
            shown = ", ".join(names) or container.get("image_id", "?")
            allowed = ", ".join(registries) or "none configured (audit setting approved_registries)"
            findings.append(
                f"container {container['name']} runs {shown}, not from an approved registry (approved: {allowed})"
            )
    fail_for_each(findings)


@pytest.mark.control("BH-4.12")
def test_running_images_are_pinned_by_digest(state):
    fail_for_each(
        f"container {container['name']} runs {container['reference'] or container['image_id']}, not pinned by digest"
        for container in running_container_images(state)
        if not pinned_by_digest(container.get("reference", ""))
    )


@pytest.mark.control("BH-4.16")
def test_engine_files_match_the_baseline(state):
    baseline = state.fact("integrity_baseline")
    recorded = baseline["recorded"]["files"]
    current = baseline["current"]["files"]
    if not recorded:
        fail(f"the baseline {baseline['path']} records no file")
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
    fail_for_each(findings)


@pytest.mark.control("BH-4.16")
def test_approved_images_match_the_baseline(state):
    baseline = state.fact("integrity_baseline")
    recorded = baseline["recorded"].get("images") or {}
    current = rootful_docker_images_by_name(state)
    findings = []
    for reference, entry in sorted(recorded.items()):
        now = current.get(reference)
        if now is None:
            findings.append(f"image {reference} from the baseline is gone")
        elif now.get("Id") != entry.get("id"):
            findings.append(f"image {reference} is now {now.get('Id')}, baseline {entry.get('id')}")
        elif sorted(now.get("RepoDigests") or []) != sorted(entry.get("repo_digests") or []):
            findings.append(f"image {reference} has other repo digests than in the baseline")
    fail_for_each(findings)
