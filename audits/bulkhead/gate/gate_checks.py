"""Checks the registry does not hold: exec sessions (CIS 5.22, 5.23), and the image controls' lookup.

Exec sessions leave nothing for an audit to inspect afterwards, so 5.22 and 5.23 are judged here
only. The image controls (BH-4.11 approved registries, BH-4.12 digest pinning) are the registry's
own container checks, judged on the request like every other container control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bulkhead.checks import REGISTRY, Context
from bulkhead.checks.containers import is_root_user
from bulkhead.checks.registry import ContainerJudge, Reasons
from bulkhead.facts import FactUnavailable

EXEC_CONTROLS = ("5.22", "5.23")
IMAGE_CONTROLS = ("BH-4.11", "BH-4.12")


def exec_privileged(exec_request: dict[str, Any], context: Context) -> Reasons:
    return "execs a command --privileged" if exec_request.get("Privileged") else None


def exec_as_root(exec_request: dict[str, Any], context: Context) -> Reasons:
    user = str(exec_request.get("User") or "")
    if not user:
        raise FactUnavailable("the exec gives no --user: it runs as the container's user, which the gate cannot see")
    return f"execs a command as {user}" if is_root_user(user) else None


EXEC_CHECKS: dict[str, Callable[[dict[str, Any], Context], Reasons]] = {
    "5.22": exec_privileged,
    "5.23": exec_as_root,
}


def image_check(control_id: str) -> ContainerJudge:
    """The registry's container check for an image control."""
    return REGISTRY[control_id].container
