"""Audit suites: each test verifies one catalogue control on every audited host, from each host's state."""

import pytest

from bulkhead.pytest_plugin import host_facts, result_book

pytest_plugins = ["bulkhead.pytest_plugin"]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Before the reports are written: note what the admission gate enforces (bulkhead.gate.audit_notes)."""
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller has every host's facts
    facts = host_facts(session.config)
    if not any(summary.get("authorization_plugins") for summary in facts.values()):
        return  # no engine with an authorization plugin: no note (and no import of the gate's modules)
    from bulkhead.gate.audit_notes import add_admission_notes

    add_admission_notes(result_book(session.config), facts)
