"""Every remediation remediates (issue 18): for every control with a remediation variable, some
molecule scenario makes the control fail on purpose before its role runs and shows it passing after
(molecule/shared/remediated.yml), so that replacing the remediation with a no-op turns a test red."""

from collections.abc import Iterator
from pathlib import Path

import yaml

from bulkhead.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "molecule"
SHARED_TASKS = "shared/remediated.yml"

CATALOGUE = load_catalogue()

# Remediable controls no scenario can show failing first, each with the reason.
CANNOT_FAIL_FIRST = {
    "2.6": "aufs: this kernel has no aufs file system, and a storage driver is not something a prepare step can switch",
    "BH-1.9": "kernel parameters in effect: /proc/sys is read-only in an instance (the check: not applicable), "
    "and the parameters are not namespaced, so applying them on the machine would change the kernel every test shares",
}


# Remediable controls shown failing first, then passing, outside molecule (no instance can run them),
# as the integration test that shows it.
SHOWN_BY_INTEGRATION_TESTS = {
    # A molecule instance cannot load audit rules into the kernel; this machine's auditd can.
    "BH-1.1": "tests/integration/test_container_host.py::test_rules_not_loaded_fail_the_audit_before_the_role",
}


def _tasks(node: object) -> Iterator[dict]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if any(key.endswith(("include_tasks", "import_tasks")) for key in node):
            yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always"):
            yield from _tasks(node.get(key))


def shown_remediated() -> dict[str, list[str]]:
    """Control ID -> the scenarios (or integration test) that show it failing before and passing after hardening."""
    shown: dict[str, list[str]] = {control_id: [test] for control_id, test in SHOWN_BY_INTEGRATION_TESTS.items()}
    for path in sorted(MOLECULE.glob("*/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            included = next(value for key, value in task.items() if key.endswith(("include_tasks", "import_tasks")))
            if str(included).endswith(SHARED_TASKS):
                for control_id in task.get("vars", {}).get("molecule_remediated_controls", []):
                    shown.setdefault(str(control_id), []).append(path.parent.name)
    return shown


def test_every_remediable_control_fails_first_in_some_scenario():
    shown = shown_remediated()
    missing = [
        control.id
        for control in CATALOGUE
        if not control.is_audit_only and control.id not in shown and control.id not in CANNOT_FAIL_FIRST
    ]
    assert not missing, f"remediable controls no molecule scenario shows failing first, then passing: {missing}"


def test_scenarios_list_only_remediable_controls_of_the_catalogue():
    problems = []
    for control_id, scenarios in shown_remediated().items():
        if control_id not in CATALOGUE:
            problems.append(f"{control_id} ({', '.join(scenarios)}): not in the catalogue")
        elif CATALOGUE[control_id].is_audit_only:
            problems.append(f"{control_id} ({', '.join(scenarios)}): audit only, no role remediates it")
        elif control_id in CANNOT_FAIL_FIRST:
            problems.append(f"{control_id} ({', '.join(scenarios)}): listed as impossible to fail first")
    assert not problems, problems


def test_exemptions_name_remediable_controls():
    assert all(control_id in CATALOGUE and not CATALOGUE[control_id].is_audit_only for control_id in CANNOT_FAIL_FIRST)


def test_integration_proofs_exist():
    for test in SHOWN_BY_INTEGRATION_TESTS.values():
        path, function = test.split("::")
        assert f"def {function}(" in (ROOT / path).read_text(), test
