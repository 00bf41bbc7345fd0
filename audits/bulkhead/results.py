"""Outcomes of controls per host, and how several test outcomes fold into one control result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


# When several tests verify one control on one host, the control takes the first outcome in this
# order that any of its tests had: one finding makes it fail, and it passes only if no test failed
# or could not decide.
_PRECEDENCE = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)


@dataclass
class ControlResult:
    control_id: str
    host: str
    outcomes: list[Outcome] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    duration: float = 0.0
    findings: list[str] = field(default_factory=list)  # the reasons that came from failures
    waived: list[str] = field(default_factory=list)  # "finding (waived: justification, until DATE)"
    notes: list[str] = field(default_factory=list)  # e.g. an expired waiver that no longer waives

    def add(self, outcome: Outcome, reason: str | None, duration: float) -> None:
        self.outcomes.append(outcome)
        self.duration += duration
        if reason and reason not in self.reasons:
            self.reasons.append(reason)
        if outcome is Outcome.FAIL and reason and reason not in self.findings:
            self.findings.append(reason)

    def waive(self, finding: str, note: str) -> None:
        """Waive one finding; when none is left the control's failures become WAIVED."""
        if finding not in self.findings:
            return
        self.findings.remove(finding)
        if finding in self.reasons:
            self.reasons.remove(finding)
        self.waived.append(f"{finding} (waived: {note})")
        if not self.findings:
            self.outcomes = [Outcome.WAIVED if outcome is Outcome.FAIL else outcome for outcome in self.outcomes]
            if not self.reasons:
                self.reasons = list(self.waived)

    @property
    def details(self) -> list[str]:
        """Every line a report shows: reasons, then waived findings and notes not already listed."""
        lines = list(self.reasons)
        lines += [line for line in self.waived + self.notes if line not in lines]
        return lines

    @property
    def outcome(self) -> Outcome:
        for candidate in _PRECEDENCE:
            if candidate in self.outcomes:
                return candidate
        return Outcome.NOT_APPLICABLE

    @property
    def summary(self) -> str:
        """One line for a report: the first reason, and how many more there are."""
        if not self.reasons:
            return ""
        extra = len(self.reasons) - 1
        return self.reasons[0] + (f" (and {extra} more)" if extra else "")


class ResultBook:
    """Control results keyed by host, then control ID, in the order they were first seen."""

    def __init__(self) -> None:
        self.hosts: dict[str, dict[str, ControlResult]] = {}

    def record(self, host: str, control_id: str, outcome: Outcome, reason: str | None, duration: float) -> None:
        by_control = self.hosts.setdefault(host, {})
        result = by_control.setdefault(control_id, ControlResult(control_id, host))
        result.add(outcome, reason, duration)

    def all_results(self) -> list[ControlResult]:
        return [result for by_control in self.hosts.values() for result in by_control.values()]

    def counts(self) -> dict[Outcome, int]:
        counts = dict.fromkeys(Outcome, 0)
        for result in self.all_results():
            counts[result.outcome] += 1
        return counts
