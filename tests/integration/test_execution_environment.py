"""`ansible-builder create` on execution-environment/ (through scripts/ee_context.py, as `make ee-context`
does) writes a build context that holds and uses what the EE is meant to contain. No image is built: these
machines cannot pull the base image. What the image build would do with the context is checked as far as
it can be here: its galaxy stage's collection install runs offline from the context's _build directory (its
WORKDIR), and pip reads the requirements file's option lines and finds the package in the copied wheels.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from bulkhead import __version__

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_DIR = ROOT / "execution-environment"
GALAXY = yaml.safe_load((ROOT / "collections/ansible_collections/bulkhead/hardening/galaxy.yml").read_text())
CONSTRAINTS = (ROOT / "constraints.txt").read_text()
CLEAN = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def tool_venv(name: str) -> Path:
    spec = importlib.util.spec_from_file_location("tool_venv", ROOT / "scripts" / "tool_venv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tool_venv(name)


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ee")
    created = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ee_context.py"), str(out)],
        capture_output=True, text=True, timeout=900, cwd=out, env=CLEAN | {"PYTHONPATH": str(ROOT / "audits")},
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    assert Path(created.stdout.strip()) == out / "context"
    return out / "context"


def test_the_containerfile_builds_our_ee(context):
    containerfile = (context / "Containerfile").read_text()
    ansible_core = re.search(r"^ansible-core==\S+$", CONSTRAINTS, re.MULTILINE).group(0)
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert re.search(
        rf'^ARG ANSIBLE_INSTALL_REFS="{re.escape(ansible_core)} ansible-runner==\S+"$', containerfile, re.M
    )
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "--user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    # the wheel and constraints reach both stages that run pip; the image checks both halves run
    assert containerfile.count("COPY _build/bulkhead/ /opt/bulkhead/") == 2
    assert "RUN bulkhead --version && ansible-doc -t role bulkhead.hardening.docker_engine" in containerfile


def test_the_build_files_are_ours(context):
    build = context / "_build"
    for name in ("requirements.yml", "requirements.txt", "bindep.txt"):
        assert (build / name).read_bytes() == (EE_DIR / name).read_bytes(), name
    assert (build / "bulkhead" / "constraints.txt").read_text() == CONSTRAINTS
    for script in ("assemble", "introspect.py", "install-from-bindep", "check_galaxy", "entrypoint"):
        assert (build / "scripts" / script).is_file()
    with tarfile.open(build / "bulkhead" / "bulkhead-hardening.tar.gz") as archive:
        info = json.loads(archive.extractfile("MANIFEST.json").read())["collection_info"]
        names = archive.getnames()
    assert (info["namespace"], info["name"], info["version"]) == ("bulkhead", "hardening", GALAXY["version"])
    assert "playbooks/harden.yml" in names and "playbooks/audit.yml" in names
    (wheel,) = (build / "bulkhead" / "wheels").iterdir()
    assert wheel.name == f"bulkhead_audit-{__version__}-py3-none-any.whl"


def test_the_galaxy_stage_installs_the_collection_from_the_context(context, tmp_path):
    """The galaxy stage runs `ansible-galaxy collection install -r requirements.yml` in /build, a copy of
    _build: the same here, offline (ansible.posix is satisfied by the venv's `ansible` bundle)."""
    environment = CLEAN | {"ANSIBLE_CONFIG": str(tmp_path / "none.cfg"), "ANSIBLE_NOCOLOR": "1"}
    installed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
         "-p", str(tmp_path / "collections")],
        capture_output=True, text=True, timeout=300, cwd=context / "_build", env=environment,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"bulkhead.hardening:{GALAXY['version']} was installed successfully" in installed.stdout
    assert (tmp_path / "collections/ansible_collections/bulkhead/hardening/playbooks/harden.yml").is_file()


def test_pip_reads_the_requirements_and_finds_the_wheel(context, tmp_path):
    """requirements.txt as the builder and final stages read it, /opt/bulkhead being the context's copy."""
    build = context / "_build"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text((build / "requirements.txt").read_text().replace("/opt/bulkhead", str(build / "bulkhead")))
    pip = tool_venv("galaxy-tools") / "bin" / "pip"
    resolved = subprocess.run(
        [str(pip), "install", "--dry-run", "--no-index", "--no-deps", "--ignore-installed", "--quiet",
         "--report", str(tmp_path / "report.json"), "-r", str(requirements)],
        capture_output=True, text=True, timeout=300, env=CLEAN,
    )  # fmt: skip
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    (install,) = json.loads((tmp_path / "report.json").read_text())["install"]
    assert install["metadata"]["name"] == "bulkhead-audit" and install["metadata"]["version"] == __version__
    assert install["requested_extras"] == ["ansible"]
