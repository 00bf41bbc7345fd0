"""The host facts container checks need (``Context``), for the gate: the policy's, else detected."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bulkhead.checks import Context
from bulkhead.config import AuditConfig

DAEMON_JSON = Path("/etc/docker/daemon.json")


def detect(root: Path = Path("/")) -> dict[str, Any]:
    """AppArmor, SELinux, the cgroup version and dockerd's no-new-privileges default, read from files."""
    facts: dict[str, Any] = {}
    apparmor = root / "sys/module/apparmor/parameters/enabled"
    facts["apparmor"] = apparmor.exists() and apparmor.read_text().strip().upper().startswith("Y")
    facts["selinux"] = (root / "sys/fs/selinux/enforce").exists()
    facts["cgroup_version"] = 2 if (root / "sys/fs/cgroup/cgroup.controllers").exists() else 1
    try:
        daemon = json.loads((root / DAEMON_JSON.relative_to("/")).read_text())
        facts["daemon_no_new_privileges"] = bool(daemon.get("no-new-privileges", False))
    except FileNotFoundError:
        facts["daemon_no_new_privileges"] = False
    except (OSError, ValueError, AttributeError):
        pass  # unreadable: left unknown, so 5.25 is undetermined (and refused when enforced)
    return facts


def gate_context(policy_context: Mapping[str, Any], approved_registries: tuple[str, ...], detected: Mapping[str, Any]):
    values = {**detected, **policy_context}
    return Context(
        settings=AuditConfig(values={"approved_registries": list(approved_registries)}, source="gate policy"),
        cgroup_version=values.get("cgroup_version"),
        apparmor=values.get("apparmor"),
        selinux=values.get("selinux"),
        daemon_no_new_privileges=values.get("daemon_no_new_privileges"),
    )
