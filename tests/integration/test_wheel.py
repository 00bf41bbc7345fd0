"""The wheel as a user gets it: built from the sources, installed with its runtime dependencies only
into a clean venv outside the repository, and run from another directory.

The wheel and its venv are cached per hash of what goes into them (sources, pyproject.toml,
constraints.txt), so a run with unchanged sources only runs the commands (a build and install
from scratch takes about 20 s here).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "audits" / "bulkhead"
CACHE = Path(os.environ.get("BULKHEAD_WHEEL_CACHE", "/tmp/bulkhead-wheel-test"))
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "constraints.txt")


def _source_files() -> list[Path]:
    files = [ROOT / name for name in SOURCES]
    files += sorted(path for path in PACKAGE.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    return files


def _digest() -> str:
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# Nothing of the calling environment may make the clean venv see another copy of the package.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(command, **kwargs):
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env=CLEAN_ENV, **kwargs
    )
    assert completed.returncode == 0, f"{command}: {completed.stdout}{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, venv): the wheel built from a copy of the sources, and a venv with it and its runtime deps."""
    home = CACHE / _digest()
    wheel_dir, venv = home / "wheel", home / "venv"
    if not (home / "ready").exists():
        shutil.rmtree(home, ignore_errors=True)
        source = tmp_path_factory.mktemp("source")
        for path in _source_files():  # a copy: the build writes nothing into the repository
            target = source / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheel_dir), str(source)])
        _run([sys.executable, "-m", "venv", str(venv)])
        (wheel,) = wheel_dir.glob("*.whl")
        # runtime dependencies only (no extras), at the versions CI uses
        _run([venv / "bin" / "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheel])
        (home / "ready").touch()
    (wheel,) = wheel_dir.glob("*.whl")
    return wheel, venv


def test_the_wheel_carries_the_catalogue_suites_template_collector_and_license(installed):
    wheel, _venv = installed
    assert wheel.name.startswith("bulkhead_audit-")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        path.relative_to(PACKAGE.parent).as_posix()
        for pattern in ("controls/*.yml", "suites/*.py", "report/templates/*", "collector/**/*")
        for path in PACKAGE.glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert any(name.startswith("bulkhead/collector/") for name in expected)
    assert sorted(set(expected) - names) == []
    dist_info = wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "Name: bulkhead-audit" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in runtime if any(name in line for name in ("ansible", "docker", "molecule"))], runtime


def test_the_installed_command_runs_from_another_directory(installed, tmp_path):
    _wheel, venv = installed
    environment = dict(CLEAN_ENV)
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/sbin:/usr/bin:/sbin:/bin"
    bulkhead = str(venv / "bin" / "bulkhead")

    def run(*command):
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=120)

    version = run(bulkhead, "--version")
    assert version.returncode == 0 and version.stdout.startswith("bulkhead "), version.stderr
    assert run(str(venv / "bin" / "python"), "-m", "bulkhead", "--version").stdout == version.stdout
    # the lean install has neither Ansible nor the docker SDK
    lean = run(
        str(venv / "bin" / "python"),
        "-c",
        "import importlib.util as u; print(u.find_spec('ansible'), u.find_spec('docker'))",
    )
    assert lean.stdout.split() == ["None", "None"]
    controls = run(bulkhead, "controls")
    assert controls.returncode == 0 and "2.2" in controls.stdout
    audit = run(bulkhead, "audit", "--hosts", "local://", "--controls", "2.2", "--json", "out.json")
    assert audit.returncode in (0, 1, 2), audit.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    (control,) = report["hosts"]["local"]["controls"]
    assert control["id"] == "2.2"
    assert "collection_error" not in report["hosts"]["local"]["facts"], report["hosts"]["local"]["facts"]
    assert not any(reason.startswith("check crashed") for reason in control["reasons"]), control
    # an ansible:// target without Ansible installed: one line saying which extra to install
    missing = run(bulkhead, "audit", "--hosts", "ansible://all")
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("(pip install 'bulkhead-audit[ansible]')"), missing.stderr
