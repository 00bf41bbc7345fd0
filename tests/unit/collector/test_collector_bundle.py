"""How the collector travels: one `python3 -c` line carrying the whole package, run from memory.

The bundle must run where bulkhead is not installed, on Python 3.7+, with the standard library only,
and leave nothing behind on the target.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulkhead import state

FACTS = {
    "audit_loaded_rules",
    "audit_rules_files",
    "audit_status",
    "container_id_maps",
    "container_processes",
    "containers",
    "containers_conf",
    "containers_policy",
    "containers_registries_conf",
    "content_trust",
    "daemon_json",
    "docker_engines",
    "docker_file_stats",
    "docker_group",
    "docker_info",
    "docker_networks",
    "docker_user_chain",
    "dockerd_processes",
    "engine_paths",
    "engine_versions",
    "engine_seconds",
    "engines",
    "events_recorder",
    "volumes",
    "gate_policy",
    "image_setuid_files",
    "images",
    "integrity_baseline",
    "image_sboms",
    "journald_config",
    "kernel",
    "kernel_security",
    "mounts",
    "networks",
    "os_release",
    "rsyslog_config",
    "recorded_containers",
    "subordinate_ids",
    "sudo_config",
    "sysctl_configured",
    "sysctl_live",
}
# Without an engine (or when every engine fails) these are not reported: engines' failure covers them.
ENGINE_ONLY = {"engine_versions", "engine_seconds"}
MODULES = sorted(path for path in state.COLLECTOR_DIR.glob("*.py"))
# The oldest Python a target may have, where this machine has one (pyenv's, or the system's).
# (pyenv's shims are no use here: they pick the version from the directory the test runs in)
OLD_PYTHONS = [
    str(path)
    for path in [Path("/usr/bin/python3.7"), *sorted(Path.home().glob(".pyenv/versions/3.7.*/bin/python3.7"))]
    if os.access(path, os.X_OK)
][:1]


def run_bundle(python, cwd, labels=()):
    """The bootstrap command as the target runs it, in an interpreter that cannot import bulkhead."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return subprocess.run(
        [python, "-I", "-S", "-c", state.bootstrap_command(), *labels],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


def assert_facts(completed):
    assert completed.returncode == 0, completed.stderr
    facts = json.loads(completed.stdout)
    assert FACTS - ENGINE_ONLY <= set(facts) <= FACTS
    assert all(set(entry) in ({"value"}, {"error"}) for entry in facts.values()), facts


def test_the_bundle_runs_in_a_clean_interpreter_and_prints_every_fact(tmp_path):
    clean = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import bulkhead"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert "No module named 'bulkhead'" in clean.stderr  # the bundle cannot lean on an installed bulkhead
    assert_facts(run_bundle(sys.executable, tmp_path))
    assert list(tmp_path.iterdir()) == []  # no file written where it ran (no temporary file, no __pycache__)


def test_the_bundle_takes_the_label_names_whose_values_it_reports(tmp_path):
    """`python3 -c PROGRAM app,zone`: the settings' application and zone labels (BH-8.3, BH-8.4)."""
    completed = run_bundle(sys.executable, tmp_path, ["app,zone"])
    assert_facts(completed)
    for container in json.loads(completed.stdout)["containers"].get("value") or []:
        assert set(container["Config"]["LabelValues"]) <= {"app", "zone"}
    for container in json.loads(run_bundle(sys.executable, tmp_path).stdout)["containers"].get("value") or []:
        assert "LabelValues" not in container["Config"]


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python 3.7 on this machine")
def test_the_bundle_runs_on_python_3_7(tmp_path):
    assert_facts(run_bundle(OLD_PYTHONS[0], tmp_path))


def test_the_command_is_one_short_line_the_same_for_the_same_collector():
    command = state.bootstrap_command()
    assert command.isascii() and "\n" not in command
    assert len(command) < 40_000  # about 22 KB; a single argument may be 128 KiB on Linux
    state.bootstrap_command.cache_clear()
    assert state.bootstrap_command() == command


def test_the_bundle_carries_every_module_of_the_package_under_its_target_name():
    modules = state.collector_modules()
    assert set(modules) == {
        "bulkhead_collector" + ("" if path.stem == "__init__" else "." + path.stem) for path in MODULES
    }
    assert {"bulkhead_collector.collect", "bulkhead_collector.proc"} <= set(modules)
    assert modules["bulkhead_collector"][0] is True and modules["bulkhead_collector.proc"][0] is False


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_collector_modules_use_the_standard_library_and_python_3_7_syntax(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 7))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # between the package's modules only relative imports: the package is renamed on the target
            assert node.level == 1 or node.module == "__future__", f"{path.name}: from {node.module} import ..."
            names = [node.module] if node.level == 0 else []
        else:
            continue
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name} imports {name}"
