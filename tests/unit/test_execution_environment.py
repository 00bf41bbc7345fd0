"""execution-environment/ agrees with the rest of the repository: the ansible-core of constraints.txt, the
collections galaxy.yml depends on, the package with its constraints. (tests/integration/
test_execution_environment.py runs `ansible-builder create` on it.)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EE_DIR = ROOT / "execution-environment"
EE = yaml.safe_load((EE_DIR / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((ROOT / "collections/ansible_collections/bulkhead/hardening/galaxy.yml").read_text())
CONSTRAINTS = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)


def test_ee_is_ansible_builder_v3_with_the_three_dependency_files():
    assert EE["version"] == 3
    assert EE["images"]["base_image"]["name"]
    dependencies = EE["dependencies"]
    assert (dependencies["galaxy"], dependencies["python"], dependencies["system"]) == (
        "requirements.yml", "requirements.txt", "bindep.txt",
    )  # fmt: skip
    for name in ("requirements.yml", "requirements.txt", "bindep.txt"):
        assert (EE_DIR / name).is_file()


def test_ee_ansible_core_is_the_one_tests_pass_with():
    assert EE["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={CONSTRAINTS['ansible-core']}"


def test_ee_collections_are_galaxy_yml_dependencies_and_the_tarball():
    collections = yaml.safe_load((EE_DIR / "requirements.yml").read_text())["collections"]
    named = {entry["name"]: entry.get("version") for entry in collections if entry.get("type", "galaxy") == "galaxy"}
    assert named == GALAXY["dependencies"]
    (tarball,) = [entry for entry in collections if entry.get("type") == "file"]
    copied = [entry for entry in EE["additional_build_files"] if entry["src"].endswith(".tar.gz")]
    assert [f"{entry['dest']}/{Path(entry['src']).name}" for entry in copied] == [tarball["name"]]


def test_ee_python_requirements_are_the_package_with_the_constraints():
    lines = [
        line.split("#", 1)[0].strip()
        for line in (EE_DIR / "requirements.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert "bulkhead-audit[ansible]" in lines
    (constraints,) = [line.split()[1] for line in lines if line.startswith("-c ")]
    (wheels,) = [line.split()[1] for line in lines if line.startswith("--find-links ")]
    # the build copies _build/bulkhead/ to /opt/bulkhead/ in the stages that run pip
    steps = EE["additional_build_steps"]
    for stage in ("prepend_builder", "prepend_final"):
        assert "COPY _build/bulkhead/ /opt/bulkhead/" in steps[stage]
    copied = {f"/opt/{entry['dest']}/{Path(entry['src']).name}" for entry in EE["additional_build_files"]}
    assert constraints in copied and constraints == "/opt/bulkhead/constraints.txt"
    assert any(entry["src"] == "../constraints.txt" for entry in EE["additional_build_files"])
    assert wheels == "/opt/bulkhead/wheels"
    assert {"src": "artifacts/wheels", "dest": "bulkhead/wheels"} in EE["additional_build_files"]


def test_ee_system_requirements_parse_as_bindep_lines():
    for line in (EE_DIR / "bindep.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[a-z0-9.+-]+( \[[a-z0-9:! ]+\])?", line), line
