"""bulkhead.gate.policy: modes, the capability allow list, exceptions, and refusing malformed files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bulkhead.cli import main
from bulkhead.gate.commands import main_serve
from bulkhead.gate.policy import Exception_, PolicyError, load_policy

GOOD = """\
default: audit
controls:
  "5.4": enforce
  "5.26": off
  BH-4.11: enforce
allowed_capabilities: [NET_BIND_SERVICE, cap_chown]
approved_registries: [registry.example.com]
context:
  daemon_no_new_privileges: true
exceptions:
  - control: "5.4"
    container: debug-*
    justification: >-
      Vendor debug tool
      (OPS-7)
    expires: 2027-03-31
  - control: "5.3"
    label: team=net
    justification: Routing appliance
    expires: "2026-12-31"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate-policy.yml"
    path.write_text(text)
    return path


def test_a_valid_policy(tmp_path):
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.mode("5.4") == "enforce"
    assert policy.mode("5.26") == "off"  # a bare `off` is YAML's false
    assert policy.mode("5.9") == "audit"
    assert policy.mode("5.23") == "off"  # off unless named
    assert policy.allowed_capabilities == {"NET_BIND_SERVICE", "CHOWN"}
    assert policy.approved_registries == ("registry.example.com",)
    assert policy.context == {"daemon_no_new_privileges": True}
    first, second = policy.exceptions
    assert first == Exception_("5.4", "Vendor debug tool (OPS-7)", date(2027, 3, 31), 1, container="debug-*")
    assert second.expires == date(2026, 12, 31) and second.label == "team=net"
    assert policy.exceptions_for("5.3") == [second]


def test_an_empty_file_is_the_default_policy(tmp_path):
    policy = load_policy(write(tmp_path, ""))
    assert policy.default == "audit" and not policy.controls and not policy.exceptions


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("default: block\n", "default: mode 'block' is not one of enforce, audit, off"),
        ("controls:\n  '9.99': enforce\n", "controls.9.99: control '9.99' is not in the catalogue"),
        ("controls:\n  '5.4': yes\n", "controls.5.4: mode True is not one of"),
        ("controls: [5.4]\n", "controls: expected a mapping"),
        ("mode: enforce\n", "unknown key(s) mode"),
        ("allowed_capabilities: NET_RAW\n", "allowed_capabilities: expected a list"),
        ("context:\n  apparmor: maybe\n", "context.apparmor: expected bool"),
        ("context:\n  kernel: 6\n", "context.kernel: unknown"),
        ("exceptions:\n  - control: '5.4'\n    expires: 2027-01-01\n", "exceptions[1]: missing field 'justification'"),
        (
            "exceptions:\n  - {control: '5.4', justification: x, expires: 2027-13-01}\n",
            "exceptions[1].expires: '2027-13-01' is not a date",
        ),
        (
            "exceptions:\n  - {control: '5.99', justification: x, expires: 2027-01-01}\n",
            "exceptions[1].control: control '5.99' is not in the catalogue",
        ),
        (
            "exceptions:\n  - {control: '5.4', justification: x, expires: 2027-01-01, group: web}\n",
            "exceptions[1]: unknown field(s) group",
        ),
        ("exceptions:\n  - {control: '5.4', justification: x, expires: 2027-01-01, container: 7}\n", "container"),
        ("- just a list\n", "expected a mapping at the top level"),
        ("default: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_policies_name_the_file_and_the_key(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert problem in str(raised.value)


def test_check_policy_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, "controls:\n  '9.99': enforce\n")
    assert main(["gate", "check-policy", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "9.99" in captured.err and str(path) in captured.err
    assert main(["gate", "check-policy", str(tmp_path / "missing.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_check_policy_accepts_a_valid_file(tmp_path, capsys):
    assert main(["gate", "check-policy", str(write(tmp_path, GOOD))]) == 0
    assert "valid: default audit, 2 enforce, 0 audit, 1 off, 2 exception(s)" in capsys.readouterr().out


def test_the_gate_script_checks_a_policy_alone(tmp_path, capsys):
    """bulkhead-gate --check-policy (what the role and the unit run) validates as check-policy does, then exits."""
    bad = write(tmp_path, "controls:\n  '5.4': enforc\n")
    assert main_serve(["--policy", str(bad), "--check-policy"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and f"{bad}: controls.5.4: mode 'enforc'" in captured.err
    assert main_serve(["--policy", str(write(tmp_path, GOOD)), "--check-policy"]) == 0
    assert "valid: default audit, 2 enforce" in capsys.readouterr().out


def test_the_example_policy_is_valid():
    example = Path(__file__).resolve().parents[3] / "audits" / "bulkhead" / "gate" / "files" / "gate-policy.example.yml"
    policy = load_policy(example)
    assert policy.mode("5.4") == "enforce"


def test_exception_scope_matching():
    by_name = Exception_("5.4", "x", date(2027, 1, 1), 1, container="debug-*", host="web-*")
    assert by_name.covers("debug-1", "busybox", {}, "web-1")
    assert not by_name.covers("debug-1", "busybox", {}, "db-1")
    assert not by_name.covers("web", "busybox", {}, "web-1")
    by_label = Exception_("5.4", "x", date(2027, 1, 1), 2, label="team")
    assert by_label.covers("a", "b", {"team": "ops"}, "h") and not by_label.covers("a", "b", {}, "h")
    by_value = Exception_("5.4", "x", date(2027, 1, 1), 3, label="team=ops")
    assert by_value.covers("a", "b", {"team": "ops"}, "h") and not by_value.covers("a", "b", {"team": "dev"}, "h")
    by_image = Exception_("5.4", "x", date(2027, 1, 1), 4, image="registry.example.com/*")
    assert by_image.covers("a", "registry.example.com/tool:1", {}, "h") and not by_image.covers("a", "busybox", {}, "h")
    assert by_value.label_text() == "exception #3 (5.4, label team=ops)"


SCHEMA = Path(__file__).resolve().parents[3] / "audits" / "bulkhead" / "gate" / "files" / "gate-policy.schema.json"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        (GOOD, True),
        ("", True),
        ("default: block\n", False),
        ("mode: enforce\n", False),
        ("controls:\n  '5.4': yes\n", False),
        ("context:\n  kernel: 6\n", False),
        ("exceptions:\n  - {control: '5.4', expires: 2027-01-01}\n", False),
        ("exceptions:\n  - {control: '5.4', justification: x, expires: 2027-01-01, group: web}\n", False),
        ("exceptions:\n  - {control: BH-4.18, cve: CVE-2024-1, justification: x, expires: 2027-01-01}\n", True),
        ("images:\n  scan_reports_dir: /srv/scans\n  vulnerability_threshold: critical\n", True),
        ("images:\n  vulnerability_threshold: severe\n", False),
        ("images:\n  sbom_dir: relative\n", False),
        ("images:\n  registry: x\n", False),
    ],
)
def test_the_json_schema_agrees_with_the_validator_on_shape(tmp_path, text, valid):
    import json

    import yaml

    jsonschema = pytest.importorskip("jsonschema")  # comes with the test extras (ansible-lint, molecule)

    from bulkhead.gate.policy import _Loader

    document = yaml.load(text, Loader=_Loader)
    errors = list(jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(document))
    assert (not errors) is valid
    path = write(tmp_path, text)
    if valid:
        load_policy(path)
    else:
        with pytest.raises(PolicyError):
            load_policy(path)
