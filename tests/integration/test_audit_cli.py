"""`bulkhead audit` against real targets: this machine's engine, and targets that cannot answer."""

import json
import os
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from junitparser import JUnitXml

pytestmark = pytest.mark.integration


def audit(tmp_path, *args):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulkhead.cli",
            "audit",
            f"--json={tmp_path}/r.json",
            f"--junit={tmp_path}/r.xml",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads((tmp_path / "r.json").read_text()) if (tmp_path / "r.json").exists() else None
    return completed, report


def icc_enabled_here() -> bool:
    # The machine's engine runs with Docker's defaults (icc on) unless someone hardened it.
    inspect = subprocess.run(
        [
            "docker",
            "network",
            "inspect",
            "bridge",
            "--format",
            '{{index .Options "com.docker.network.bridge.enable_icc"}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return inspect.stdout.strip() != "false"


def test_an_engine_with_icc_enabled_fails_2_2(tmp_path, docker_engine):
    if not icc_enabled_here():
        pytest.skip("this machine's engine already has icc disabled")
    completed, report = audit(tmp_path, "--hosts=local://", "--controls=2.2")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    (control,) = report["hosts"]["local"]["controls"]
    assert control["outcome"] == "fail"
    assert control["reasons"] == ["inter-container communication is enabled: icc is True (default)"]
    suites = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    assert suites[0].name == "local" and suites[0].failures == 1


def test_an_unreachable_target_is_an_error_never_a_pass(tmp_path):
    completed, report = audit(tmp_path, "--hosts=docker://bulkhead-no-such-container")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    controls = report["hosts"]["bulkhead-no-such-container"]["controls"]
    assert controls, "no control was reported"
    for control in controls:  # every control, whatever the catalogue holds
        assert control["outcome"] == "error", control
        expected = "cannot determine: state collection on bulkhead-no-such-container failed"
        assert control["reasons"][0].startswith(expected)


def test_an_unknown_control_is_bad_input(tmp_path):
    completed, _report = audit(tmp_path, "--hosts=local://", "--controls=9.99")
    assert completed.returncode == 2
    assert "unknown control(s) 9.99" in completed.stderr + completed.stdout


def test_an_unreachable_ssh_host_gives_small_reports_with_the_cause_first(tmp_path):
    """Every control of an unreachable host is an error whose one line names the host and the cause;
    before, each carried the whole base64 collector command (16 MB of JUnit for one host)."""
    completed, report = audit(tmp_path, "--hosts=ssh://root@127.0.0.1:1", f"--html={tmp_path}/r.html")
    assert completed.returncode == 2, completed.stderr
    controls = report["hosts"]["127.0.0.1"]["controls"]
    assert len(controls) > 100  # the whole catalogue
    for control in controls:
        assert control["outcome"] == "error"
        (reason,) = control["reasons"]
        assert reason.startswith("cannot determine: cannot reach 127.0.0.1: "), reason
        assert reason.endswith("Connection refused"), reason
        assert len(reason) <= 300
    assert report["hosts"]["127.0.0.1"]["facts"]["collection_error"].endswith("Connection refused")
    sizes = {name: (tmp_path / name).stat().st_size for name in ("r.xml", "r.json", "r.html")}
    sizes["terminal"] = len(completed.stdout.encode())
    assert max(sizes.values()) < 200_000, sizes
    errors = list(ElementTree.parse(tmp_path / "r.xml").iter("error"))
    assert len(errors) == len(controls)
    assert all("Connection refused" in error.get("message") for error in errors)
    first_lines = [line for line in completed.stdout.splitlines() if "->" in line]
    assert first_lines and all(line.endswith("Connection refused") for line in first_lines)


def test_the_audit_ignores_ambient_pytest_configuration(tmp_path):
    """PYTEST_ADDOPTS, PYTEST_PLUGINS, and a pytest.ini or conftest.py where the audit runs change nothing."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -x --maxfail=1 -p no:terminal --bogus-option\n")
    (tmp_path / "conftest.py").write_text("def pytest_configure(config):\n    raise SystemExit('hostile conftest')\n")
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '--bogus-option'\n")
    environment = os.environ | {
        "PYTEST_ADDOPTS": "-x --maxfail=1 -p no:terminal",
        "PYTEST_PLUGINS": "no_such_plugin_module",
    }
    command = [sys.executable, "-m", "bulkhead", "audit", "--hosts=ssh://root@127.0.0.1:1", "--controls=2.2,2.3,5.4"]
    completed = subprocess.run(
        [*command, "--json=r.json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=environment,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    # -x / --maxfail=1 would have stopped after the first error: all three controls ran
    assert sorted(control["id"] for control in report["hosts"]["127.0.0.1"]["controls"]) == ["2.2", "2.3", "5.4"]
    assert "summary" in completed.stdout  # the terminal plugin was not disabled
