"""CIS Docker Benchmark section 4 and BH-4.10: the images running containers use.

4.1 judges each container; the others judge each image in use once, naming the containers that use
it, from one inspect of all images.
"""

from __future__ import annotations

from bulkhead.checks.containers import (
    Container,
    Image,
    image_age_days,
    image_name,
    images_in_use,
    is_root_user,
    users_of,
)
from bulkhead.checks.registry import ContainerCheck, Context, Findings, HostCheck, Reasons
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState, NotApplicable

# 4.8 lists this many setuid/setgid files of an image, then counts the rest.
SETUID_FILES_SHOWN = 6


def container_user(container: Container, context: Context) -> Reasons:
    """Config.User as inspect shows it: the image's USER when --user was not given (the engine
    copies it; the gate fills it from the image), so empty means that neither names a user."""
    user = str(container["Config"].get("User") or "")
    if not user:
        return "runs as root (no USER in its image or --user)"
    return f"runs as root (user {user!r})" if is_root_user(user) else None


def content_trust(state: HostState, settings: AuditConfig) -> Findings:
    if not any(engine["kind"] == "docker" for engine in state.fact("engines")):
        raise NotApplicable("no Docker engine on this host (Podman verifies images through policy.json)")
    places = state.fact("content_trust")
    if any(value == "1" for value in places.values()):
        return []
    found = ", ".join(f"{place}={value}" for place, value in places.items()) or "nowhere"
    return [f"DOCKER_CONTENT_TRUST=1 is not set for the host's users (set: {found})"]


def _has_healthcheck(image: Image) -> bool:
    test = (image.get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def images_have_a_healthcheck(state: HostState, settings: AuditConfig) -> Findings:
    return [
        f"image {image_name(image)}: no HEALTHCHECK (used by {users_of(containers)})"
        for image, containers in images_in_use(state).values()
        if not _has_healthcheck(image)
    ]


def _setuid_finding(image: Image, files: list[str]) -> str:
    shown = ", ".join(files[:SETUID_FILES_SHOWN])
    if len(files) > SETUID_FILES_SHOWN:
        shown += f" and {len(files) - SETUID_FILES_SHOWN} more"
    return f"image {image_name(image)}: {len(files)} setuid/setgid files: {shown}"


def no_setuid_files(state: HostState, settings: AuditConfig) -> Findings:
    scans = state.fact("image_setuid_files")
    findings, uninspectable = [], []
    for image, _containers in images_in_use(state).values():
        scan = scans.get(image["Id"])
        if scan is None or not scan.get("inspectable"):
            reason = scan.get("reason") if scan else "not scanned"
            uninspectable.append(f"{image_name(image)} ({reason})")
        elif scan["files"]:
            findings.append(_setuid_finding(image, scan["files"]))
    # A finding in one image outweighs images that could not be scanned: the control fails.
    if uninspectable and not findings:
        raise NotApplicable("image layers not inspectable here: " + "; ".join(uninspectable))
    return findings


def image_age(state: HostState, settings: AuditConfig) -> Findings:
    limit = settings.get("max_image_age_days")
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
    return findings


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "4.1": ContainerCheck(container_user),
    "4.5": HostCheck(content_trust),
    "4.6": HostCheck(images_have_a_healthcheck),
    "4.8": HostCheck(no_setuid_files),
    "BH-4.10": HostCheck(image_age),
}
