"""bulkhead.gate.audit_notes: 2.12 names the plugin and the gate's mode; enforced controls get a note."""

from bulkhead.gate.audit_notes import add_admission_notes, admission_notes, enforced_controls
from bulkhead.results import Outcome, ResultBook

POLICY = {
    "path": "/etc/bulkhead/gate-policy.yml",
    "default": "audit",
    "exceptions": 1,
    "break_glass": False,
    "controls": {"5.4": "enforce", "5.22": "enforce", "BH-4.11": "enforce", "5.10": "audit", "2.2": "enforce"},
}
NOTE = "enforced at admission by bulkhead-gate (policy /etc/bulkhead/gate-policy.yml)"


def test_only_controls_the_gate_judges_in_enforce_mode_are_enforced():
    assert enforced_controls(POLICY) == ["5.22", "5.4", "BH-4.11"]  # 2.2 is no admission control
    everything = enforced_controls({"default": "enforce", "controls": {"5.9": "off"}})
    assert "5.4" in everything and "5.9" not in everything
    assert "5.6" not in everything and "5.23" not in everything  # sshd: runtime only; exec as root: off unless named


def test_2_12_names_the_plugin_and_the_gates_mode():
    notes = admission_notes({"authorization_plugins": ["bulkhead-gate"], "gate_policy": POLICY})
    assert notes["2.12"] == [
        "authorization plugin(s): bulkhead-gate (policy /etc/bulkhead/gate-policy.yml: default audit, "
        "3 control(s) in enforce mode, 1 exception(s))"
    ]
    assert notes["5.4"] == [NOTE] and "5.10" not in notes


def test_another_plugin_is_named_and_nothing_is_said_enforced():
    notes = admission_notes({"authorization_plugins": ["opa-docker-authz"], "gate_policy": POLICY})
    assert notes == {"2.12": ["authorization plugin(s): opa-docker-authz"]}
    assert admission_notes({"authorization_plugins": [], "gate_policy": POLICY}) == {}


def test_break_glass_is_said_and_nothing_is_enforced():
    notes = admission_notes(
        {"authorization_plugins": ["bulkhead-gate"], "gate_policy": {**POLICY, "break_glass": True}}
    )
    assert list(notes) == ["2.12"] and "BREAK-GLASS ON" in notes["2.12"][0]


def test_notes_reach_the_results_of_the_controls_the_host_has():
    book = ResultBook()
    book.record("web", "5.4", Outcome.FAIL, "container old runs --privileged", 0.0)
    book.record("web", "2.12", Outcome.PASS, None, 0.0)
    book.record("db", "5.4", Outcome.PASS, None, 0.0)
    add_admission_notes(book, {"web": {"authorization_plugins": ["bulkhead-gate"], "gate_policy": POLICY}})
    add_admission_notes(book, {"web": {"authorization_plugins": ["bulkhead-gate"], "gate_policy": POLICY}})
    assert book.hosts["web"]["5.4"].notes == [NOTE]
    assert book.hosts["web"]["5.4"].outcome is Outcome.FAIL  # a note never changes an outcome
    assert book.hosts["web"]["2.12"].notes[0].startswith("authorization plugin(s): bulkhead-gate")
    assert book.hosts["db"]["5.4"].notes == []
