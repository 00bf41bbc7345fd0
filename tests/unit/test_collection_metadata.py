"""The collection as Galaxy and its users see it: galaxy.yml declares the collections it uses and no others,
it carries the repository's LICENSE, its tarball leaves out what tools and tests write, and its playbooks are
the one source of the repository's playbooks/.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening"
GALAXY = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
SPEC = importlib.util.spec_from_file_location("render_docs", ROOT / "scripts" / "render_docs.py")
render_docs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(render_docs)
PYTHON_COLLECTION_IMPORT = re.compile(r"ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.")
OWN = {"ansible.builtin", "ansible.legacy", "bulkhead.hardening"}


def collections_used() -> set[str]:
    """Every collection the roles, playbooks and plugins name (modules, filters, lookups, imports)."""
    used: set[str] = set()
    for role_dir in render_docs.roles():
        used.update(render_docs.collections_used(role_dir))
    for playbook in (COLLECTION / "playbooks").glob("*.yml"):
        for play in yaml.safe_load(playbook.read_text()) or []:
            for task in render_docs.walk_tasks(
                [play, *play.get("tasks", []), *play.get("pre_tasks", []), *play.get("post_tasks", [])]
            ):
                used.update(".".join(key.split(".")[:2]) for key in task if render_docs.FQCN_KEY.match(str(key)))
        used.update(render_docs.FQCN_IN_JINJA.findall(playbook.read_text()))
        used.update(
            ".".join(str(role.get("role", "")).split(".")[:2])
            for play in yaml.safe_load(playbook.read_text()) or []
            for role in play.get("roles", [])
            if isinstance(role, dict) and str(role.get("role", "")).count(".") == 2
        )
    for source in (COLLECTION / "plugins").rglob("*.py"):
        used.update(".".join(match) for match in PYTHON_COLLECTION_IMPORT.findall(source.read_text()))
    return used - OWN


def test_galaxy_yml_depends_on_exactly_the_collections_the_content_uses():
    assert collections_used() == {"ansible.posix"}  # the rootless role's ansible.posix.sysctl
    assert set(GALAXY["dependencies"]) == collections_used()


def test_the_collection_carries_the_repository_license():
    assert (COLLECTION / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert GALAXY["license"] == ["Apache-2.0"]
    assert "Apache License" in (COLLECTION / "LICENSE").read_text()


def test_metadata_urls_are_a_reserved_placeholder_or_left_out():
    """Galaxy's importer requires `repository`; there is no public one yet, so it is a name under .invalid
    (RFC 2606: it can never resolve) rather than a plausible-looking address that is not true."""
    assert re.fullmatch(r"https://[a-z.-]+\.invalid/\S+", GALAXY["repository"])
    assert not {"homepage", "issues", "documentation"} & set(GALAXY)


JUNK = [
    ".venv/bin/python",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/0.1/cache",
    ".mypy_cache/3.11/x.json",
    ".cache/pip/x",
    ".mutation/run",
    "mutants/plugins/modules/subid.py",
    "tests/output/.tmp/sanity/x.json",
    "tests/unit/plugins/modules/__pycache__/test_subid.cpython-311.pyc",
    "plugins/modules/__pycache__/subid.cpython-311.pyc",
    "plugins/module_utils/subid.pyc",
    "roles/docker_engine/.ruff_cache/x",
    "roles/podman/files/.pytest_cache/x",
    "bulkhead-hardening-0.0.1.tar.gz",
    ".vscode/settings.json",
    ".idea/workspace.xml",
    "reports/audit.json",
    "roles/podman/tasks/main.yml.orig",
    "roles/podman/tasks/main.yml~",
    ".coverage",
    "htmlcov/index.html",
]


@pytest.fixture(scope="module")
def tarball_names(tmp_path_factory) -> set[str]:
    """The files of a tarball built from a copy of the collection with what tools and tests leave behind."""
    work = tmp_path_factory.mktemp("build")
    copy = work / "ansible_collections" / "bulkhead" / "hardening"
    shutil.copytree(COLLECTION, copy, ignore=shutil.ignore_patterns("__pycache__", "output"))
    for name in JUNK:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text("junk\n")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "build",
            "--output-path",
            str(work),
            str(copy),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=work,
    )
    (tarball,) = work.glob("bulkhead-hardening-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = {member.name for member in archive.getmembers() if member.isfile()}
        files = json.loads(archive.extractfile("FILES.json").read())
    listed = {entry["name"] for entry in files["files"] if entry["ftype"] == "file"}
    assert listed | {"FILES.json", "MANIFEST.json"} == names
    return names


@pytest.mark.parametrize("junk", JUNK)
def test_the_tarball_leaves_out_caches_tools_output_and_unit_tests(tarball_names, junk):
    assert junk not in tarball_names
    assert not [name for name in tarball_names if name.startswith("tests/unit/")]


def test_the_tarball_carries_license_docs_playbooks_and_sanity_ignores(tarball_names):
    expected = {"LICENSE", "README.md", "CHANGELOG.md", "meta/runtime.yml", "MANIFEST.json"}
    expected |= {"tests/sanity/ignore-2.19.txt"}
    expected |= {f"roles/{role_dir.name}/README.md" for role_dir in render_docs.roles()}
    expected |= {f"playbooks/{path.name}" for path in (COLLECTION / "playbooks").glob("*.yml")}
    assert expected - tarball_names == set()


REPO_ONLY_PLAYBOOKS = {"demo_target.yml"}  # `make demo` prepares its disposable target with it


def test_the_repository_playbooks_import_the_collection_playbooks():
    """One source: each collection playbook is in playbooks/ as a single import of its FQCN."""
    collection = sorted(path.name for path in (COLLECTION / "playbooks").glob("*.yml"))
    assert {"harden.yml", "audit.yml"} <= set(collection)
    repository = sorted(path.name for path in (ROOT / "playbooks").glob("*.yml"))
    assert sorted(set(repository) - REPO_ONLY_PLAYBOOKS) == collection
    for name in collection:
        (entry,) = yaml.safe_load((ROOT / "playbooks" / name).read_text())
        assert entry["ansible.builtin.import_playbook"] == f"bulkhead.hardening.{name.removesuffix('.yml')}"
        assert set(entry) == {"name", "ansible.builtin.import_playbook"}, f"playbooks/{name} adds to the import"
