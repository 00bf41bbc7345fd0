"""A fleet is judged in one test per control, and each host's verdicts are its own.

`bulkhead audit` of five hosts whose states are this machine's real facts (the collector run here)
and variants of them: one unreachable, one timed out, one with a third of its facts unreadable, one
with no fact at all. Every host's per-control outcomes, reasons and JUnit results are the same as
when that host is audited alone: one host's error or failure never changes another's verdict; and
the audit runs as many pytest tests for five hosts as for one.
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bulkhead.state import bootstrap_command

pytestmark = pytest.mark.integration

# The audit, with each host's state handed over from a file instead of collected (the states are
# the point here, not the transport), and the number of pytest tests it ran written to a file.
HARNESS = """
import json, sys
import bulkhead.pytest_plugin as plugin
import bulkhead.state
from bulkhead.cli import main
from bulkhead.facts import HostState
from bulkhead.report import terminal

states = json.load(open(sys.argv[1]))
collect = lambda host, name, timeout=None: HostState(name, states[name]["facts"], 0.0, states[name]["error"])
plugin.collect = bulkhead.state.collect = collect
original = terminal.Progress.pytest_collection_finish


def counted(self, session):
    open(sys.argv[2], "w").write(str(len(session.items)))
    original(self, session)


terminal.Progress.pytest_collection_finish = counted
sys.exit(main(sys.argv[3:]))
"""


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> Path:
    collected = subprocess.run(["python3", "-c", bootstrap_command()], capture_output=True, text=True, check=True)
    facts = json.loads(collected.stdout)
    broken = {name: ({"error": "permission denied"} if index % 3 == 0 else entry) for index, (name, entry) in
              enumerate(sorted(facts.items()))}  # fmt: skip
    documents = {
        "real": {"facts": facts, "error": None},
        "unreachable": {"facts": {}, "error": "cannot reach unreachable: ssh: connect to host: Connection refused"},
        "slow": {"facts": {}, "error": "state collection on slow timed out after 5 s"},
        "broken": {"facts": broken, "error": None},
        "empty": {"facts": {}, "error": None},
    }
    path = tmp_path_factory.mktemp("fleet-judging") / "states.json"
    path.write_text(json.dumps(documents))
    return path


def audit(states: Path, directory: Path, hosts: list[str]) -> tuple[int, dict, ET.Element]:
    directory.mkdir()
    argv = [sys.executable, "-c", HARNESS, str(states), str(directory / "tests"), "audit", "--no-progress",
            f"--hosts={','.join(f'docker://{name}' for name in hosts)}", f"--json={directory / 'r.json'}",
            f"--junit={directory / 'r.xml'}"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert "the audit did not run" not in done.stderr, done.stderr
    tests = int((directory / "tests").read_text())
    return tests, json.loads((directory / "r.json").read_text()), ET.parse(directory / "r.xml").getroot()


def verdicts(document: dict, host: str) -> list[tuple]:
    return [(c["id"], c["outcome"], c["reasons"], c["waived"], c["notes"]) for c in document["hosts"][host]["controls"]]


def junit_cases(root: ET.Element, host: str) -> list[tuple]:
    (suite,) = [suite for suite in root.iter("testsuite") if suite.get("name") == host]
    cases = []
    for case in suite.iter("testcase"):
        assert case.get("classname").startswith(f"bulkhead.{host}.section_")
        results = [(child.tag, child.get("type"), child.get("message"), child.text) for child in case
                   if child.tag in ("failure", "error", "skipped")]  # fmt: skip
        cases.append((case.get("classname"), case.get("name"), results))
    return cases


def test_each_hosts_verdicts_are_the_same_alone_and_in_a_fleet(states, tmp_path):
    hosts = ["real", "unreachable", "slow", "broken", "empty"]
    fleet_tests, fleet, fleet_junit = audit(states, tmp_path / "fleet", hosts)
    assert list(fleet["hosts"]) == sorted(hosts)
    for host in hosts:
        alone_tests, alone, alone_junit = audit(states, tmp_path / host, [host])
        assert fleet_tests == alone_tests  # the number of tests does not grow with the hosts
        assert verdicts(fleet, host) == verdicts(alone, host), host
        assert junit_cases(fleet_junit, host) == junit_cases(alone_junit, host), host
        assert fleet["hosts"][host]["facts"] == alone["hosts"][host]["facts"]
    for host, cause in (("unreachable", "Connection refused"), ("slow", "timed out after 5 s")):
        for _id, outcome, reasons, _waived, _notes in verdicts(fleet, host):
            assert outcome == "error" and len(reasons) == 1 and cause in reasons[0], (host, reasons)
    assert {outcome for _id, outcome, *_rest in verdicts(fleet, "real")} >= {"pass", "fail"}
    assert fleet_tests == len(fleet["hosts"]["real"]["controls"])
