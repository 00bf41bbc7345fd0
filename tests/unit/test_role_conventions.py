"""Every role of the collection is built the same way.

- ``tasks/validate.yml`` checks the role's input; ``tasks/main.yml`` imports it first, tagged
  ``always`` (so that ``--tags`` never skips it), and its failure messages name the variable.
- ``meta/argument_specs.yml`` documents every variable.
- Tags: a control tag (``cis_X.Y``, ``bh_X.Y``), the role's name, ``always``/``never``, or a topic
  tag that starts with the role's name and an underscore (``container_host_auditd``).

The checks are functions of the parsed files, so that the tests below also prove that they catch
what they are meant to catch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks" / "main.yml").is_file())
CONTROL_TAG = re.compile(r"^(cis|bh)_\d+(\.\d+)+$")
SPECIAL_TAGS = {"always", "never"}
IMPORTS = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks", "import_tasks", "include_tasks")
CHECKS = ("ansible.builtin.assert", "ansible.builtin.fail", "assert", "fail")


def walk(tasks: list[dict] | None) -> Iterator[dict]:
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key))


def task_tags(task: dict) -> list[str]:
    """The task's own tags and those an include applies to the tasks it includes."""
    tags = task.get("tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    for action in IMPORTS:
        arguments = task.get(action)
        if isinstance(arguments, dict):
            applied = (arguments.get("apply") or {}).get("tags") or []
            tags += [applied] if isinstance(applied, str) else applied
    return [str(tag) for tag in tags]


def bad_tags(role: str, tasks: list[dict] | None) -> list[str]:
    """Tags that are neither a control tag, the role's name, always/never, nor '<role>_<topic>'."""
    problems = []
    for task in walk(tasks):
        for tag in task_tags(task):
            if CONTROL_TAG.match(tag) or tag in SPECIAL_TAGS or tag == role or tag.startswith(role + "_"):
                continue
            problems.append(f"task {task.get('name', '?')!r}: tag {tag!r} must start with {role + '_'!r}")
    return problems


def imported_file(task: dict) -> str | None:
    for action in IMPORTS:
        arguments = task.get(action)
        if isinstance(arguments, str):
            return arguments
        if isinstance(arguments, dict):
            return arguments.get("file")
    return None


def validate_problems(main: list[dict] | None) -> list[str]:
    """What is wrong with how main.yml runs validate.yml: not first, or skippable with --tags."""
    tasks = list(main or [])
    if not tasks or imported_file(tasks[0]) != "validate.yml":
        return ["the first task of tasks/main.yml must import validate.yml"]
    if "always" not in task_tags(tasks[0]):
        return ["the import of validate.yml must be tagged always (a --tags run must not skip the input check)"]
    return []


def unnamed_variable_checks(role: str, validate: list[dict] | None) -> list[str]:
    """Checks in validate.yml whose failure message names no variable of the role (or the fleet's)."""
    names = re.compile(rf"\b({re.escape(role)}_\w+|bulkhead_\w+)|\{{\{{\s*item\.variable\s*\}}\}}")
    problems = []
    for task in walk(validate):
        for action in CHECKS:
            arguments = task.get(action)
            if not isinstance(arguments, dict):
                continue
            message = str(arguments.get("fail_msg") or arguments.get("msg") or "")
            if not names.search(message):
                problems.append(f"task {task.get('name', '?')!r}: its failure message names no {role}_* variable")
    return problems


def load(path: Path) -> list[dict] | None:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def test_the_collection_has_roles():
    assert {"container_host", "docker_engine", "integrity_baseline", "podman", "rootless"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("required", ["tasks/validate.yml", "meta/argument_specs.yml"])
def test_every_role_has(role, required):
    assert (ROLES_DIR / role / required).is_file(), f"role {role} lacks {required}"


@pytest.mark.parametrize("role", ROLES)
def test_validate_runs_first_and_always(role):
    assert validate_problems(load(ROLES_DIR / role / "tasks" / "main.yml")) == []


@pytest.mark.parametrize("role", ROLES)
def test_validate_failures_name_the_variable(role):
    assert unnamed_variable_checks(role, load(ROLES_DIR / role / "tasks" / "validate.yml")) == []


@pytest.mark.parametrize("role", ROLES)
def test_topic_tags_carry_the_role_prefix(role):
    problems = []
    for path in sorted((ROLES_DIR / role).glob("tasks/*.yml")) + sorted((ROLES_DIR / role).glob("handlers/*.yml")):
        problems += [f"{path.relative_to(ROOT)}: {problem}" for problem in bad_tags(role, load(path))]
    assert problems == []


# The checks themselves, on small task lists: each must catch what it is there for.


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([{"name": "t", "tags": ["cis_1.1.3", "bh_1.7", "always", "never", "r", "r_topic"]}], []),
        ([{"name": "t", "tags": "auditd"}], ["task 't': tag 'auditd' must start with 'r_'"]),
        ([{"name": "t", "tags": ["rtopic"]}], ["task 't': tag 'rtopic' must start with 'r_'"]),
        ([{"name": "b", "block": [{"name": "inner", "tags": ["x"]}]}], ["task 'inner': tag 'x' must start with 'r_'"]),
        (
            [{"name": "i", "ansible.builtin.include_tasks": {"file": "f.yml", "apply": {"tags": ["y"]}}}],
            ["task 'i': tag 'y' must start with 'r_'"],
        ),
        ([{"name": "t", "tags": ["cis_2"]}], ["task 't': tag 'cis_2' must start with 'r_'"]),
    ],
    ids=["allowed", "bare-topic", "no-underscore", "inside-a-block", "applied-by-include", "malformed-control"],
)
def test_bad_tags_catches(tasks, expected):
    assert bad_tags("r", tasks) == expected


@pytest.mark.parametrize(
    ("main", "expected"),
    [
        ([{"ansible.builtin.import_tasks": "validate.yml", "tags": ["r", "always"]}, {"name": "x"}], []),
        ([{"name": "x"}, {"ansible.builtin.import_tasks": "validate.yml", "tags": ["always"]}], ["first"]),
        ([{"ansible.builtin.import_tasks": "preflight.yml", "tags": ["always"]}], ["first"]),
        ([{"ansible.builtin.import_tasks": "validate.yml", "tags": ["r"]}], ["always"]),
        (None, ["first"]),
    ],
    ids=["first-and-always", "not-first", "another-name", "skippable", "no-main"],
)
def test_validate_problems_catches(main, expected):
    problems = validate_problems(main)
    assert len(problems) == len(expected)
    assert all(word in problem for word, problem in zip(expected, problems, strict=True))


@pytest.mark.parametrize(
    ("validate", "expected"),
    [
        ([{"name": "a", "ansible.builtin.assert": {"that": "x", "fail_msg": "r_users must list users"}}], 0),
        ([{"name": "a", "ansible.builtin.assert": {"that": "x", "fail_msg": "r: {{ item.variable }} is bad"}}], 0),
        ([{"name": "a", "ansible.builtin.assert": {"that": "x", "fail_msg": "bulkhead_approved_registries: bad"}}], 0),
        ([{"name": "a", "ansible.builtin.assert": {"that": "x", "fail_msg": "the input is bad"}}], 1),
        ([{"name": "a", "ansible.builtin.assert": {"that": "x"}}], 1),
        ([{"name": "f", "ansible.builtin.fail": {"msg": "something is wrong"}}], 1),
    ],
    ids=["named", "named-by-loop", "fleet-variable", "unnamed", "no-message", "fail-unnamed"],
)
def test_unnamed_variable_checks_catches(validate, expected):
    assert len(unnamed_variable_checks("r", validate)) == expected
