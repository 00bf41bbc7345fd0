"""What the unit tests of host checks share: a registered check's outcome, as the audit reports it."""

from __future__ import annotations

from typing import Any

from bulkhead.checks import REGISTRY
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable


def outcome(control_id: str, state: HostState, settings: dict[str, Any] | None = None) -> tuple[str, list[str]]:
    """The outcome the audit reports for a host check, and its reasons."""
    try:
        findings = REGISTRY[control_id].judge(state, AuditConfig(settings or {}))
    except NotApplicable as reason:
        return "not_applicable", [str(reason)]
    except FactUnavailable as reason:
        return "error", [str(reason)]
    return ("fail" if findings else "pass"), findings
