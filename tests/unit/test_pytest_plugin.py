"""How test outcomes become control outcomes, and what the reports carry."""

import importlib
import json

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

HEADER = """
import pytest
from bulkhead.facts import FactUnavailable, NotApplicable
"""

CASES = {
    "passes": ("pass", "pass", []),
    "finding": (
        "pytest.fail('container web runs privileged', pytrace=False)",
        "fail",
        ["container web runs privileged"],
    ),
    "findings": (
        "pytest.fail('container a runs privileged\\ncontainer b runs privileged', pytrace=False)",
        "fail",
        ["container a runs privileged", "container b runs privileged"],
    ),
    "assertion": ("assert 1 == 2, 'icc is enabled'", "fail", ["icc is enabled"]),
    "skip": (
        "raise NotApplicable('no rootless engine on this host')",
        "not_applicable",
        ["no rootless engine on this host"],
    ),
    "unreadable": (
        "raise FactUnavailable('daemon.json: permission denied')",
        "error",
        ["cannot determine: daemon.json: permission denied"],
    ),
    "crash": ("{}['missing']", "error", ["check crashed: KeyError: 'missing'"]),
}


@pytest.fixture(autouse=True)
def audit_conftest(pytester):
    pytester.makeconftest('pytest_plugins = ["bulkhead.pytest_plugin"]')


def run_audit(pytester, body):
    pytester.makepyfile(test_audit=HEADER + f"\n@pytest.mark.control('2.2')\ndef test_check():\n    {body}\n")
    result = pytester.runpytest("--bulkhead-json=report.json", "--bulkhead-junit=report.xml", "-p", "no:cacheprovider")
    report = json.loads((pytester.path / "report.json").read_text())
    return result, report


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_test_outcome_maps_to_a_control_outcome(pytester, case):
    body, outcome, reasons = CASES[case]
    _result, report = run_audit(pytester, body)
    control = report["hosts"]["local"]["controls"][0]
    assert (control["id"], control["outcome"], control["reasons"]) == ("2.2", outcome, reasons)


@pytest.mark.parametrize(
    ("case", "element", "message"),
    [
        ("finding", Failure, "container web runs privileged"),
        ("findings", Failure, "container a runs privileged (and 1 more)"),
        ("unreadable", Error, "cannot determine: daemon.json: permission denied"),
        ("skip", Skipped, "no rootless engine on this host"),
    ],
)
def test_junit_report_parses_and_carries_properties_and_one_line_reason(pytester, case, element, message):
    run_audit(pytester, CASES[case][0])
    suites = list(JUnitXml.fromfile(str(pytester.path / "report.xml")))
    assert [suite.name for suite in suites] == ["local"]
    (testcase,) = list(suites[0])
    assert testcase.name.startswith("2.2 ")
    assert testcase.classname == "bulkhead.local.section_2"
    # control metadata is the testcase's system-out (the JUnit schema has no testcase properties)
    properties = dict(line.split(": ", 1) for line in testcase.system_out.splitlines())
    assert properties["control.id"] == "2.2"
    assert properties["control.severity"] == "medium"
    assert properties["control.section"] == "2"
    assert "cis_docker: 2.2" in properties["control.references"]
    (result,) = testcase.result
    assert isinstance(result, element)
    assert result.message == (f"not applicable: {message}" if element is Skipped else message)


def test_a_passing_control_has_no_result_element(pytester):
    run_audit(pytester, "pass")
    (testcase,) = list(next(iter(JUnitXml.fromfile(str(pytester.path / "report.xml")))))
    assert testcase.is_passed


def test_a_test_without_control_marker_is_a_usage_error(pytester):
    pytester.makepyfile(test_audit=HEADER + "\ndef test_check():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*audit test without a @pytest.mark.control(ID) marker*"])


def test_a_marker_for_an_unknown_control_is_a_usage_error(pytester):
    pytester.makepyfile(test_audit=HEADER + "\n@pytest.mark.control('9.99')\ndef test_check():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*control '9.99' is not in the catalogue*"])


def test_each_run_collects_the_hosts_state_again(pytester, monkeypatch):
    """A second audit in the same process (a scheduler, a test) must not reuse the first's state."""
    from bulkhead.facts import HostState

    # The module pytester's runs will import (other in-process runs may have left a stale one
    # as an attribute of the package).
    pytest_plugin = importlib.import_module("bulkhead.pytest_plugin")

    calls = []

    def fake_collect(host, name):
        calls.append(name)
        return HostState(name, {})

    monkeypatch.setattr(pytest_plugin, "collect", fake_collect)
    pytester.makepyfile(test_audit=HEADER + "\n@pytest.mark.control('2.2')\ndef test_check(state):\n    pass\n")
    for _ in range(2):
        result = pytester.runpytest("--hosts=local://", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
    assert calls == ["local", "local"]
