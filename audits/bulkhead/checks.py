"""What audit tests call to state a finding in one line instead of a stack of asserts."""

from __future__ import annotations

from collections.abc import Iterable

import pytest


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
