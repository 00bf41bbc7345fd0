"""collector/gate.py: the gate policy's modes, read with the standard library only, agree with the gate's own reader."""

from pathlib import Path

import pytest
import yaml

from bulkhead.collector.gate import gate_policy, parse_policy
from bulkhead.gate.policy import load_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "audits" / "bulkhead" / "gate" / "files" / "gate-policy.example.yml"

# What the role writes (to_nice_yaml), hand-written block and flow styles, JSON, YAML's off as false.
POLICIES = [
    EXAMPLE.read_text(),
    "# managed\ndefault: enforce\ncontrols:\n  '5.4': enforce\n  BH-4.11: audit\n  '5.6': 'off'\nexceptions:\n"
    "  - control: '5.4'\n    container: debug\n    justification: x\n    expires: '2027-01-01'\n",
    'default: audit\ncontrols: {"5.4": enforce, "5.9": off}  # flow\napproved_registries: [docker.io]\n',
    '{"default": "off", "controls": {"5.31": "enforce"}, "exceptions": []}\n',
    'controls:\n  "5.25": enforce   # no-new-privileges\n  "5.26": off\n',
    "---\ndefault: audit\n",
]


@pytest.mark.parametrize("text", POLICIES)
def test_the_modes_match_the_gates_own_reader(tmp_path, text):
    path = tmp_path / "gate-policy.yml"
    path.write_text(text)
    policy = load_policy(path)
    parsed = parse_policy(text)
    assert parsed["default"] == policy.default
    assert parsed["controls"] == dict(policy.controls)
    assert parsed["exceptions"] == len(policy.exceptions)
    assert yaml.safe_load(text) is not None  # the cases are real YAML


def test_no_policy_is_none_and_the_break_glass_file_is_reported(tmp_path):
    assert gate_policy(str(tmp_path / "missing.yml")) is None
    path = tmp_path / "gate-policy.yml"
    path.write_text("default: enforce\n")
    (tmp_path / "gate.disabled").write_text("")
    fact = gate_policy(str(path), str(tmp_path / "gate.disabled"))
    assert fact == {"default": "enforce", "controls": {}, "exceptions": 0, "path": str(path), "break_glass": True}
