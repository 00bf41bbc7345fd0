"""CIS Docker Benchmark section 4: the images running containers use."""

from __future__ import annotations

from bulkhead.checks.containers import ROOT_USERS, Container
from bulkhead.checks.registry import ContainerCheck, Context, Reasons


def container_user(container: Container, context: Context) -> Reasons:
    user = container["Config"].get("User") or ""
    return "runs as root (no USER in its image or --user)" if user in ROOT_USERS else None


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "4.1": ContainerCheck(container_user),
}
