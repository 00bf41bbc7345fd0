"""Every role refuses wrong types and unknown values for its variables before any task runs.

Each role is included for real (``include_role`` in check mode on localhost) with a wrong value for
every variable whose type can be wrong (bool, int, list, dict) and an unknown value for every variable
with choices. Ansible's own role validation (meta/argument_specs.yml) must stop the role at its first
task, naming every bad variable, and the play must report nothing changed.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles"
ROLE_NAMES = sorted(path.parents[1].name for path in ROLES.glob("*/meta/argument_specs.yml"))
# The venv's, beside this Python (make puts it first on PATH; a bare pytest run may not).
_BESIDE = Path(sys.executable).with_name("ansible-playbook")
ANSIBLE_PLAYBOOK = str(_BESIDE) if _BESIDE.exists() else (shutil.which("ansible-playbook") or "ansible-playbook")
VALIDATION_TASK = "Validating arguments against arg spec 'main'"

# A value Ansible cannot convert to the declared type (strings and paths take anything).
WRONG_TYPE: dict[str, Any] = {
    "bool": "maybe",
    "int": "many",
    "list": {"not": "a list"},
    "dict": ["not", "a", "dict"],
}


def bad_values(role: str) -> dict[str, Any]:
    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    bad: dict[str, Any] = {}
    for name, option in spec.get("options", {}).items():
        if "choices" in option:
            bad[name] = "bulkhead-no-such-choice"
        elif option.get("type", "str") in WRONG_TYPE:
            bad[name] = WRONG_TYPE[option.get("type", "str")]
    return bad


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One ansible-playbook run: each role included with all its bad values; the failure recorded."""
    directory = tmp_path_factory.mktemp("argspecs")
    results = directory / "results.json"
    tasks = []
    for role in ROLE_NAMES:
        tasks.append(
            {
                "name": f"Include {role} with bad values",
                "block": [
                    {"ansible.builtin.include_role": {"name": f"bulkhead.hardening.{role}"}, "vars": bad_values(role)}
                ],
                "rescue": [
                    {
                        "ansible.builtin.set_fact": {
                            "refusals": "{{ refusals | combine({refused_role: {'task': ansible_failed_task.name,"
                            " 'msg': ansible_failed_result.msg}}) }}"
                        },
                        "vars": {"refused_role": role},
                    }
                ],
            }
        )
    tasks.append(
        {
            "ansible.builtin.copy": {"content": "{{ refusals | to_json }}", "dest": str(results), "mode": "0600"},
            "check_mode": False,
        }
    )
    playbook = directory / "play.yml"
    playbook.write_text(
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars": {"refusals": {}}, "tasks": tasks}])
    )
    environment = os.environ | {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    completed = subprocess.run(
        [
            *(ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "--check", str(playbook)),
            *("-e", f"ansible_python_interpreter={sys.executable}"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    recap = completed.stdout.split("PLAY RECAP", 1)[1]
    # Only the results file (written outside check mode) may change.
    assert "changed=1 " in recap, recap
    return json.loads(results.read_text())


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_bad_variable_values_stop_the_role_at_validation_naming_each_variable(outcomes, role):
    assert role in outcomes, f"{role} ran with bad values and was not refused"
    refusal = outcomes[role]
    assert refusal["task"].startswith(VALIDATION_TASK), refusal
    bad = bad_values(role)
    assert bad, f"{role} has no variable a wrong value could be tested with"
    missing = [name for name in bad if f"'{name}'" not in refusal["msg"] and f" {name} " not in refusal["msg"]]
    assert not missing, f"{role}: the refusal does not name {missing}: {refusal['msg']}"
