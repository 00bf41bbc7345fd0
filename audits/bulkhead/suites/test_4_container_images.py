"""CIS Docker Benchmark section 4: the images running containers use, from one inspect of all images."""

import pytest

from bulkhead.checks.containers import image_age_days, image_name, images_in_use, users_of
from bulkhead.verdict import fail, fail_for_each, judge, not_applicable


@pytest.mark.control("4.1")
def test_container_user(state, audit_config):
    judge(state, audit_config, "4.1")


@pytest.mark.control("4.5")
def test_content_trust(state):
    docker_engines = [engine for engine in state.fact("engines") if engine["kind"] == "docker"]
    if not docker_engines:
        not_applicable("no Docker engine on this host (Podman verifies images through policy.json)")
    places = state.fact("content_trust")
    enabled = [place for place, value in places.items() if value == "1"]
    if not enabled:
        found = ", ".join(f"{place}={value}" for place, value in places.items()) or "nowhere"
        fail(f"DOCKER_CONTENT_TRUST=1 is not set for the host's users (set: {found})")


@pytest.mark.control("4.6")
def test_images_have_a_healthcheck(state):
    findings = []
    for image, containers in images_in_use(state).values():
        test = (image.get("Healthcheck") or {}).get("Test") or []
        if not test or test[0] == "NONE":
            findings.append(f"image {image_name(image)}: no HEALTHCHECK (used by {users_of(containers)})")
    fail_for_each(findings)


@pytest.mark.control("4.8")
def test_no_setuid_files(state):
    scans = state.fact("image_setuid_files")
    findings, uninspectable = [], []
    for image, _containers in images_in_use(state).values():
        scan = scans.get(image["Id"])
        if scan is None or not scan.get("inspectable"):
            reason = scan.get("reason") if scan else "not scanned"
            uninspectable.append(f"{image_name(image)} ({reason})")
            continue
        files = scan["files"]
        if files:
            shown = ", ".join(files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
            findings.append(f"image {image_name(image)}: {len(files)} setuid/setgid files: {shown}")
    fail_for_each(findings)
    if uninspectable:
        not_applicable("image layers not inspectable here: " + "; ".join(uninspectable))


@pytest.mark.control("BH-4.10")
def test_image_age(state, audit_config):
    limit = audit_config.get("max_image_age_days")
    findings = []
    for image, containers in images_in_use(state).values():
        age = image_age_days(image)
        if age is None:
            findings.append(f"image {image_name(image)}: build date unknown ({image.get('Created')!r})")
        elif age > limit:
            findings.append(
                f"image {image_name(image)}: built {age} days ago, over the {limit}-day limit "
                f"(used by {users_of(containers)})"
            )
    fail_for_each(findings)
