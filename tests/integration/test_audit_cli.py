"""`bulkhead audit` against real targets: this machine's engine, and targets that cannot answer."""

import json
import subprocess
import sys

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
    expected = "cannot determine: state collection on bulkhead-no-such-container failed"
    for control in controls:  # every control of the catalogue is an error there, none passes
        assert control["outcome"] == "error"
        assert control["reasons"][0].startswith(expected)


def test_an_unknown_control_is_bad_input(tmp_path):
    completed, _report = audit(tmp_path, "--hosts=local://", "--controls=9.99")
    assert completed.returncode == 2
    assert "unknown control(s) 9.99" in completed.stderr + completed.stdout
