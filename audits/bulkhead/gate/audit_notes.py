"""What the audit's report says about the admission gate (CIS 2.12 and the controls it enforces).

Pure functions of a host's report facts (``authorization_plugins`` and ``gate_policy``, see
``bulkhead.state.host_summary``): 2.12 names the engine's authorization plugins and, for
bulkhead-gate, its policy and mode; every control the gate judges in ``enforce`` mode gets a note
that it is enforced at admission. The checks stay as they are: a note never changes an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkhead.gate.decide import gated_controls
from bulkhead.gate.policy import OFF_UNLESS_NAMED
from bulkhead.results import ResultBook

PLUGIN = "bulkhead-gate"
AUTHORIZATION_CONTROL = "2.12"


def enforced_controls(policy: Mapping[str, Any]) -> list[str]:
    """The controls the gate refuses at admission under ``policy`` (the collector's gate_policy fact)."""
    default, controls = policy.get("default", "audit"), policy.get("controls") or {}
    enforced = []
    for control in gated_controls():
        mode = controls.get(control, "off" if control in OFF_UNLESS_NAMED else default)
        if mode == "enforce":
            enforced.append(control)
    return sorted(enforced)


def admission_notes(summary: Mapping[str, Any]) -> dict[str, list[str]]:
    """{control ID: notes} for one host, from its report facts."""
    plugins = summary.get("authorization_plugins") or []
    policy = summary.get("gate_policy")
    if not plugins:
        return {}
    gate_on = PLUGIN in plugins and isinstance(policy, Mapping)
    described = []
    for plugin in plugins:
        if plugin == PLUGIN and gate_on:
            enforced = enforced_controls(policy)
            text = (
                f"{plugin} (policy {policy.get('path')}: default {policy.get('default')}, "
                f"{len(enforced)} control(s) in enforce mode, {policy.get('exceptions', 0)} exception(s)"
            )
            if policy.get("break_glass"):
                text += "; BREAK-GLASS ON: the gate admits everything"
            described.append(text + ")")
        else:
            described.append(plugin)
    notes = {AUTHORIZATION_CONTROL: ["authorization plugin(s): " + ", ".join(described)]}
    if gate_on and not policy.get("break_glass"):
        note = f"enforced at admission by {PLUGIN} (policy {policy.get('path')})"
        for control in enforced_controls(policy):
            notes.setdefault(control, []).append(note)
    return notes


def add_admission_notes(book: ResultBook, host_facts: Mapping[str, Mapping[str, Any]]) -> None:
    """Add each host's gate notes to the results of the controls it has (other controls are left alone)."""
    for host, by_control in book.hosts.items():
        for control, notes in admission_notes(host_facts.get(host) or {}).items():
            result = by_control.get(control)
            if result is not None:
                result.notes += [note for note in notes if note not in result.notes]
