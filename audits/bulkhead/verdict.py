"""The bridge from a check's findings to a control outcome, for the audit suites.

Findings make the control FAIL (one line each), ``NotApplicable`` makes it NOT_APPLICABLE, and
anything else that stops a check, above all a fact that could not be read, is an ERROR.

``verdict`` judges one control on one host without pytest: the suites judge every host of a fleet
in one test per control (``pytest_plugin.Fleet``), so that the number of tests does not grow with
the number of hosts. ``judge`` is the same decision as a pytest outcome, for a test of one host.
"""

from __future__ import annotations

from bulkhead.checks import REGISTRY
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.reasons import short_reason
from bulkhead.results import Outcome


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def classify_error(error: BaseException) -> tuple[Outcome, str]:
    """The outcome and reason of a check that raised ``error`` (pytest's own outcomes aside)."""
    if isinstance(error, NotApplicable):
        return Outcome.NOT_APPLICABLE, str(error)
    if isinstance(error, AssertionError):
        return Outcome.FAIL, _one_line(str(error)) or "assertion failed"
    # An error's text can be a whole backend dump (an ssh failure carries the collector command):
    # one short line that keeps the cause, for every report.
    if isinstance(error, FactUnavailable):
        return Outcome.ERROR, short_reason(f"cannot determine: {error}")
    return Outcome.ERROR, short_reason(f"check crashed: {type(error).__name__}: {error}")


def verdict(state: HostState, settings: AuditConfig, control_id: str) -> tuple[Outcome, str | None]:
    """``control_id`` on this host: its outcome, and its findings (one per line) or reason."""
    try:
        findings = [finding for finding in REGISTRY[control_id].judge(state, settings) if finding]
    except Exception as error:  # a check that cannot decide is this host's error, never a pass
        return classify_error(error)
    if findings:
        return Outcome.FAIL, "\n".join(findings)
    return Outcome.PASS, None


def judge(state: HostState, settings: AuditConfig, control_id: str) -> None:
    """Judge ``control_id`` on this host with its registered check (NotApplicable passes through)."""
    import pytest

    findings = [finding for finding in REGISTRY[control_id].judge(state, settings) if finding]
    if findings:
        pytest.fail("\n".join(findings), pytrace=False)
