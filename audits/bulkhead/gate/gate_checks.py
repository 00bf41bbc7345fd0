"""Checks the registry does not hold (yet): exec sessions (CIS 5.22, 5.23), and image controls.

Exec sessions leave nothing for an audit to inspect afterwards, so 5.22 and 5.23 are judged here
only. BH-4.11 and BH-4.12 are being moved into the check registry as container checks; until they
are registered there, the gate judges them with these functions, built on the same helpers and
reason text as the audit suite (``suites/test_4_images_approved.py``). Once the registry has a
container check for either ID, ``image_check`` returns that one and these stop being used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bulkhead.checks import REGISTRY, Context
from bulkhead.checks.containers import ROOT_USERS
from bulkhead.checks.images import approved, approved_registries, is_image_id, pinned_by_digest
from bulkhead.checks.registry import ContainerCheck, Reasons
from bulkhead.facts import FactUnavailable

EXEC_CONTROLS = ("5.22", "5.23")
IMAGE_CONTROLS = ("BH-4.11", "BH-4.12")


def exec_privileged(exec_request: dict[str, Any], context: Context) -> Reasons:
    return "execs a command --privileged" if exec_request.get("Privileged") else None


def exec_as_root(exec_request: dict[str, Any], context: Context) -> Reasons:
    user = str(exec_request.get("User") or "")
    if not user:
        raise FactUnavailable("the exec gives no --user: it runs as the container's user, which the gate cannot see")
    name = user.split(":", 1)[0]
    # uid 0 however written ("0", "00", "root", "root:1000"): runc reads a number as a uid.
    is_root = user in ROOT_USERS or name == "root" or (name.isdigit() and int(name) == 0)
    return f"execs a command as {user}" if is_root else None


EXEC_CHECKS: dict[str, Callable[[dict[str, Any], Context], Reasons]] = {
    "5.22": exec_privileged,
    "5.23": exec_as_root,
}


def approved_registry_interim(container: dict[str, Any], context: Context) -> Reasons:
    reference = str(container["Config"].get("Image") or "")
    if not reference or is_image_id(reference):
        raise FactUnavailable("the image is named by ID: its registry is not known to the gate")
    registries = approved_registries(context.settings)
    if approved([reference], registries):
        return None
    allowed = ", ".join(registries) or "none configured (audit setting approved_registries)"
    return f"runs {reference}, not from an approved registry (approved: {allowed})"


def pinned_by_digest_interim(container: dict[str, Any], context: Context) -> Reasons:
    reference = str(container["Config"].get("Image") or container.get("Image") or "")
    return None if pinned_by_digest(reference) else f"runs {reference}, not pinned by digest"


_INTERIM: dict[str, ContainerCheck] = {
    "BH-4.11": approved_registry_interim,
    "BH-4.12": pinned_by_digest_interim,
}


def image_check(control_id: str) -> ContainerCheck:
    """The registry's container check for an image control once registered, else the interim one."""
    registered = REGISTRY.get(control_id)
    if registered is not None and registered.container is not None:
        return registered.container
    return _INTERIM[control_id]
