"""The catalogue is the single source of truth: audits, role tasks, variables and docs agree with it."""

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from bulkhead.catalogue import load_catalogue
from bulkhead.checks import REGISTRY
from bulkhead.report.controls_table import controls_markdown

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "audits" / "bulkhead" / "suites"
ROLES = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles"
README = ROOT / "README.md"
CONTROL_TAG = re.compile(r"^(cis_\d+(\.\d+)+|bh_\d+(\.\d+)+)$")

CATALOGUE = load_catalogue()


def _load_suite(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bulkhead_suite_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def audit_markers() -> dict[str, list[str]]:
    """Control ID -> the audit tests marked with it: on the test, or on one of its parameters."""
    found: dict[str, list[str]] = {}
    for path in sorted(SUITES.glob("test_*.py")):
        for name, function in vars(_load_suite(path)).items():
            if not name.startswith("test_"):
                continue
            for mark in getattr(function, "pytestmark", []):
                marks = [mark] if mark.name == "control" else []
                if mark.name == "parametrize":
                    marks = [inner for param in mark.args[1] for inner in getattr(param, "marks", ())]
                for control in (inner for inner in marks if inner.name == "control"):
                    found.setdefault(str(control.args[0]), []).append(f"{path.name}::{name}")
    return found


def role_variables() -> set[str]:
    names: set[str] = set()
    for spec in ROLES.glob("*/meta/argument_specs.yml"):
        for entry_point in yaml.safe_load(spec.read_text())["argument_specs"].values():
            names.update(entry_point.get("options", {}))
    return names


def role_tasks() -> Iterator[tuple[Path, dict]]:
    def walk(tasks, path):
        for task in tasks or []:
            yield path, task
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key), path)

    for path in sorted(ROLES.glob("*/tasks/*.yml")) + sorted(ROLES.glob("*/handlers/*.yml")):
        yield from walk(yaml.safe_load(path.read_text()), path)


def test_every_control_has_an_audit_test():
    markers = audit_markers()
    missing = [control.id for control in CATALOGUE if control.id not in markers]
    assert not missing, f"controls without an audit test marked @pytest.mark.control(ID): {missing}"


def test_every_control_is_judged_by_one_registered_check():
    """One control, one function: the audit, the history and the gate all ask REGISTRY."""
    assert sorted(set(REGISTRY) ^ {control.id for control in CATALOGUE}) == []


def test_every_marked_audit_test_names_a_real_control():
    unknown = {control_id: tests for control_id, tests in audit_markers().items() if control_id not in CATALOGUE}
    assert not unknown, f"audit tests marked with controls that are not in the catalogue: {unknown}"


def test_every_remediation_variable_is_a_documented_role_variable():
    variables = role_variables()
    missing = {
        control.id: control.remediation
        for control in CATALOGUE
        if not control.is_audit_only and control.remediation not in variables
    }
    assert not missing, f"remediation variables missing from every role's meta/argument_specs.yml: {missing}"


def test_control_tags_and_task_names_come_from_the_catalogue():
    by_tag = {control.tag: control for control in CATALOGUE}
    problems = []
    for path, task in role_tasks():
        tags = task.get("tags") or []
        for tag in [tags] if isinstance(tags, str) else tags:
            if not CONTROL_TAG.match(str(tag)):
                continue
            control = by_tag.get(tag)
            name = task.get("name", "")
            if control is None:
                problems.append(f"{path.relative_to(ROOT)}: task {name!r} has tag {tag} for no catalogue control")
            elif not name.startswith(f"{control.id} | "):
                problems.append(
                    f"{path.relative_to(ROOT)}: task {name!r} (tag {tag}) must be named '{control.id} | ...'"
                )
    assert not problems, "\n".join(problems)


def test_every_remediated_control_has_a_tagged_task():
    tags_used = set()
    for _path, task in role_tasks():
        tags = task.get("tags") or []
        tags_used.update([tags] if isinstance(tags, str) else tags)
    missing = [control.id for control in CATALOGUE if not control.is_audit_only and control.tag not in tags_used]
    assert not missing, f"controls with a remediation variable but no task tagged with their ID: {missing}"


@pytest.mark.parametrize("marker", ["<!-- controls:begin -->", "<!-- controls:end -->"])
def test_readme_has_the_control_table_markers(marker):
    assert marker in README.read_text()


def test_readme_control_table_is_current():
    text = README.read_text()
    table = text.split("<!-- controls:begin -->", 1)[1].split("<!-- controls:end -->", 1)[0]
    assert table.strip() == controls_markdown().strip(), "README's control table is stale: run `make docs`"
