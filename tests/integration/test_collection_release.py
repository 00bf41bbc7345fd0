"""The collection as a Galaxy user gets it: the tarball `ansible-galaxy collection build` makes, accepted by
Galaxy's importer, installed offline into an empty collections path, and its playbooks run by FQCN from there.

Nothing here sees the repository's copy of the collection: Ansible runs from a temporary directory with a
configuration of its own, and ANSIBLE_COLLECTIONS_PATH is the temporary install path plus the `ansible`
bundle's collections in the venv (where ansible.posix, the one dependency, and community.docker, for the
docker connection to the target, come from: Galaxy is not reachable here).

- Galaxy's importer (galaxy-importer, its ansible-test step off; from the cached tool venv, see
  scripts/tool_venv.py) accepts the tarball: exit 0, no error, and no warning but two known ones.
- `ansible-galaxy collection install -p TMP TARBALL` works without --no-deps (ansible.posix is satisfied by
  the installed bundle).
- Every collection playbook passes --syntax-check; `bulkhead.hardening.harden --list-tasks` reaches every role.
- A real `ansible-playbook bulkhead.hardening.harden --check --diff` against a systemd container with a
  running Docker engine (bulkhead-test/engine:bookworm, docker connection) predicts changes, fails nothing
  and writes nothing; `bulkhead.hardening.audit` from the installed copy then audits the same container and
  writes its reports relative to the directory it runs in.
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

import ansible
import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening"
BIN = Path(sys.executable).parent
BUNDLED = Path(ansible.__file__).resolve().parents[1]  # site-packages: the `ansible` bundle's ansible_collections/
TARGET = "bulkhead-galaxy-target"
IMAGE = "bulkhead-test/engine:bookworm"
SHARED = ROOT / "molecule" / "shared"  # the molecule scenarios' prepare tasks
PLAYBOOKS = sorted(path.stem for path in (COLLECTION / "playbooks").glob("*.yml"))
# The only warnings the importer may print. Galaxy lints with ansible-lint in a collections path holding
# this collection alone, so modules of its declared dependencies (the rootless role's ansible.posix.sysctl)
# are unresolved there; and it notes the sanity ignore file (validate-modules:missing-gplv3-license: the
# collection is Apache-2.0; the events recorder's shebang is the system python3 on purpose).
DEPENDENCIES = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["dependencies"]
KNOWN_WARNINGS = re.compile(
    r"WARNING: (roles/\S+: syntax-check\[unknown-module\]: couldn't resolve module/action "
    rf"'(?:{'|'.join(re.escape(name) for name in DEPENDENCIES)})\.\w+'"
    r"|Ignore files skip ansible-test sanity tests, found ignore-[\d.]+\.txt )"
)


def tool_venv(name: str) -> Path:
    """The cached venv of a tool (scripts/tool_venv.py)."""
    spec = importlib.util.spec_from_file_location("tool_venv", ROOT / "scripts" / "tool_venv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tool_venv(name)


def run(command: list, environment: dict | None = None, timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, env=environment, **kwargs
    )


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, COLLECTION], cwd=out)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("bulkhead-hardening-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def user(tmp_path_factory, tarball) -> dict:
    """A user's directory with the collection installed from the tarball: {'cwd', 'env', 'install'}."""
    home = tmp_path_factory.mktemp("user")
    collections = home / "collections"
    (home / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\ninterpreter_python = auto_silent\n")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANSIBLE_", "PYTEST_")) and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    environment |= {
        "ANSIBLE_CONFIG": str(home / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}{os.pathsep}{BUNDLED}",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}{os.pathsep}{environment.get('PATH', '/usr/bin:/bin')}",
    }
    install = run([BIN / "ansible-galaxy", "collection", "install", "-p", collections, tarball], environment, cwd=home)
    return {"cwd": home, "env": environment, "install": install, "collections": collections}


def test_galaxy_importer_accepts_the_tarball(tarball, tmp_path):
    venv = tool_venv("galaxy-tools")
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment |= {
        "GALAXY_IMPORTER_CONFIG": str(config),
        # its ansible-doc and ansible-lint
        "PATH": f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '/usr/bin:/bin')}",
    }
    environment.pop("PYTHONPATH", None)
    imported = run([venv / "bin" / "python", "-m", "galaxy_importer.main", tarball], environment, cwd=tmp_path)
    output = imported.stdout + imported.stderr
    assert imported.returncode == 0, output
    assert "Importer processing completed successfully" in output
    assert "No role readme found" not in output and "ERROR" not in output, output
    unexpected = [line for line in output.splitlines() if "WARNING" in line and not KNOWN_WARNINGS.match(line)]
    assert unexpected == [], output
    assert "Getting doc strings via ansible-doc" in output and "ansible-doc not found" not in output


def test_the_tarball_installs_offline_without_no_deps(user, tarball):
    install = user["install"]
    assert install.returncode == 0, install.stdout + install.stderr
    assert "bulkhead.hardening:0.1.0 was installed successfully" in install.stdout
    assert "'ansible.posix:" in install.stdout and "is already installed" in install.stdout
    with tarfile.open(tarball) as archive:
        manifest = json.loads(archive.extractfile("MANIFEST.json").read())
    assert manifest["collection_info"]["dependencies"] == {"ansible.posix": ">=1.5.0"}
    listed = run(
        [BIN / "ansible-galaxy", "collection", "list", "bulkhead.hardening", "--format", "json"],
        user["env"],
        cwd=user["cwd"],
    )
    paths = [path for path, found in json.loads(listed.stdout).items() if "bulkhead.hardening" in found]
    assert paths == [str(user["collections"] / "ansible_collections")], "Ansible sees another copy of the collection"


def inventory(directory: Path) -> Path:
    hosts = {
        "all": {
            "children": {
                "docker_hosts": {
                    "hosts": {
                        TARGET: {
                            "ansible_connection": "community.docker.docker",
                            "ansible_python_interpreter": "/usr/bin/python3",
                        }
                    },
                    # a container shares this machine's kernel: write sysctl.d, do not apply it
                    "vars": {"container_host_sysctl_apply": False},
                },
                "bulkhead_audit_targets": {"children": {"docker_hosts": None}},
            }
        }
    }
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(hosts))
    return path


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_installed_playbooks_pass_syntax_check_by_fqcn(user, playbook):
    checked = run(
        [BIN / "ansible-playbook", "-i", inventory(user["cwd"]), f"bulkhead.hardening.{playbook}", "--syntax-check"],
        user["env"],
        cwd=user["cwd"],
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_installed_harden_lists_every_role(user):
    listed = run(
        [BIN / "ansible-playbook", "-i", inventory(user["cwd"]), "bulkhead.hardening.harden", "--list-tasks"],
        user["env"],
        cwd=user["cwd"],
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for role in ("docker_engine", "container_host", "podman", "integrity_baseline"):
        assert f"bulkhead.hardening.{role} : " in listed.stdout, f"harden does not run {role}"


# systemd as PID 1 and a nested Docker engine without --privileged (scripts/start-target.sh, ENVIRONMENT.md).
@pytest.fixture(scope="module")
def target(docker_engine, tmp_path_factory):
    """A systemd container with Debian's Docker engine running (the demo target), removed afterwards."""
    started = run(["bash", ROOT / "scripts" / "start-target.sh", TARGET, IMAGE], timeout=180)
    assert started.returncode == 0, started.stderr
    try:
        prepare = tmp_path_factory.mktemp("prepare") / "prepare.yml"
        prepare.write_text(
            yaml.safe_dump(
                [
                    {
                        "name": "Make the target a running Docker host",
                        "hosts": "all",
                        "gather_facts": False,
                        "tasks": [
                            {"name": "Unmask /proc", "ansible.builtin.import_tasks": str(SHARED / "unmask_proc.yml")},
                            {
                                "name": "Start the engine",
                                "ansible.builtin.import_tasks": str(SHARED / "start_engine.yml"),
                                "vars": {"bulkhead_test_workload": False},
                            },
                        ],
                    }
                ]
            )
        )
        environment = os.environ | {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
        prepared = run([BIN / "ansible-playbook", "-i", inventory(prepare.parent), prepare], environment, cwd=ROOT)
        assert prepared.returncode == 0, prepared.stdout + prepared.stderr
        yield TARGET
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", TARGET], capture_output=True, check=False, timeout=120)


def fingerprint(container: str) -> str:
    """Checksums of the files the harden play would write first, as the target has them."""
    paths = "/etc/docker/daemon.json /etc/audit/rules.d/* /etc/sudoers.d/* /etc/containers/policy.json /etc/sysctl.d/*"
    command = f"sha256sum {paths} 2>/dev/null; true"
    return subprocess.run(
        ["docker", "exec", container, "sh", "-c", command], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_installed_harden_check_run_predicts_changes_and_writes_nothing(user, target):
    before = fingerprint(target)
    checked = run(
        [BIN / "ansible-playbook", "-i", inventory(user["cwd"]), "bulkhead.hardening.harden", "--check", "--diff"],
        user["env"],
        cwd=user["cwd"],
    )
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output[-6000:]
    recap = [line for line in checked.stdout.splitlines() if line.startswith(TARGET) and "ok=" in line]
    assert recap and "failed=0" in recap[-1] and "unreachable=0" in recap[-1], recap
    assert int(recap[-1].split("changed=")[1].split()[0]) > 0, "check mode predicted no change on an unhardened host"
    assert fingerprint(target) == before, "check mode wrote to the target"


def test_installed_audit_playbook_writes_reports_relative_to_where_it_runs(user, target):
    environment = dict(user["env"])
    # the audit the play runs is this tree's bulkhead package, whatever the venv's install points at
    environment["PYTHONPATH"] = str(ROOT / "audits")
    audited = run(
        [
            BIN / "ansible-playbook",
            "-i",
            inventory(user["cwd"]),
            "bulkhead.hardening.audit",
            "-e",
            "bulkhead_audit_controls=2.2,BH-1.5",
            "-e",
            "bulkhead_audit_reports_dir=reports/fleet",
            "-e",
            "bulkhead_audit_fail_on=critical",
        ],
        environment,
        cwd=user["cwd"],
    )
    output = audited.stdout + audited.stderr
    report = user["cwd"] / "reports" / "fleet" / "hosts" / f"{TARGET}.json"
    assert report.is_file(), output[-6000:]
    controls = {control["id"] for control in json.loads(report.read_text())["hosts"][TARGET]["controls"]}
    assert controls == {"2.2", "BH-1.5"}
    assert audited.returncode == 0, output[-6000:]
