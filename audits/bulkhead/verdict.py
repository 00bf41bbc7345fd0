"""The bridge from a check's findings to a pytest outcome, for the audit suites.

Findings make the control FAIL (one line each), ``NotApplicable`` makes it NOT_APPLICABLE, and
anything else that stops a test, above all a fact that could not be read, is an ERROR (see
``pytest_plugin.classify``).
"""

from __future__ import annotations

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState


def judge(state: HostState, settings: AuditConfig, control_id: str) -> None:
    """Judge ``control_id`` on this host with its registered check (NotApplicable passes through)."""
    findings = [finding for finding in REGISTRY[control_id].judge(state, settings) if finding]
    if findings:
        pytest.fail("\n".join(findings), pytrace=False)
