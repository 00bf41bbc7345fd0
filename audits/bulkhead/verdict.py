"""The bridge from a check's findings to a pytest outcome, for the audit suites.

A finding (``fail`` or a check's findings) makes the control FAIL, ``NotApplicable`` (or
``not_applicable``) makes it NOT_APPLICABLE, and
anything else that stops a test, above all a fact that could not be read, is an ERROR (see
``pytest_plugin.classify``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState


def judge(state: HostState, settings: AuditConfig, control_id: str) -> None:
    """Judge ``control_id`` on this host with its registered check (NotApplicable passes through)."""
    fail_for_each(REGISTRY[control_id].judge(state, settings))


def fail(reason: str) -> None:
    """The control fails on this host for ``reason`` (one line, names the offending object)."""
    pytest.fail(reason, pytrace=False)


def fail_for_each(findings: Iterable[str]) -> None:
    """Fail listing every finding (``container web runs privileged``), or pass when there is none."""
    listed = [finding for finding in findings if finding]
    if listed:
        pytest.fail("\n".join(listed), pytrace=False)


def not_applicable(reason: str) -> None:
    pytest.skip(f"not applicable: {reason}")
