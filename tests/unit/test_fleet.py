"""Many hosts' state collected at once: the bound on hosts in flight, per-host timeouts, all facts reported."""

import importlib
import json
import threading
import time

import pytest
import testinfra

from bulkhead import fleet
from bulkhead.facts import HostState
from bulkhead.fleet import HostTimeout, collect_fleet, prepare_backend
from bulkhead.state import collect


def test_at_most_parallel_hosts_are_in_flight_and_every_host_is_collected():
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def slow_collect(testinfra_host, name, timeout):
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return HostState(name, {"seen": {"value": testinfra_host}})

    hosts = [(f"host-{index}", index) for index in range(20)]
    states = collect_fleet(hosts, slow_collect, parallel=3, timeout=30)
    assert most == 3
    assert list(states) == [name for name, _ in hosts]
    assert [state.facts["seen"]["value"] for state in states.values()] == list(range(20))


def test_a_host_that_never_answers_is_an_error_for_it_alone(monkeypatch):
    """A backend that cannot be interrupted: the host is abandoned at its deadline, the others go on."""
    monkeypatch.setattr(fleet, "_ABANDON_GRACE", 0.05)
    never = threading.Event()
    done = []

    def collect_one(testinfra_host, name, timeout):
        if name == "hung":
            never.wait(30)
        return HostState(name, {})

    hosts = [("hung", None)] + [(f"host-{index}", None) for index in range(5)]
    states = collect_fleet(hosts, collect_one, parallel=1, timeout=0.2, on_done=lambda state: done.append(state.host))
    never.set()
    assert states["hung"].collection_error == "state collection on hung timed out after 0.2 s"
    assert all(states[f"host-{index}"].collection_error is None for index in range(5))
    assert sorted(done) == sorted(name for name, _ in hosts)


def test_a_collect_that_crashes_or_times_out_is_that_hosts_error():
    def collect_one(testinfra_host, name, timeout):
        if name == "crash":
            raise OSError("no such file")
        if name == "slow":
            raise HostTimeout("timed out")
        return HostState(name, {})

    states = collect_fleet([("crash", None), ("slow", None), ("fine", None)], collect_one, parallel=2, timeout=5)
    assert states["crash"].collection_error == "cannot reach crash: no such file"
    assert states["slow"].collection_error == "state collection on slow timed out after 5 s"
    assert states["fine"].collection_error is None


def test_a_local_command_past_its_deadline_is_killed():
    backend = testinfra.backend.get_backend("local://")  # not testinfra's cached host: others use it
    prepare_backend(backend, 0.3)
    with pytest.raises(HostTimeout):
        backend.run_local("sleep 30; echo %s", "never")
    assert backend.run_local("echo %s", "quoted value").stdout == "quoted value\n"


def test_a_target_whose_python_hangs_times_out(tmp_path, monkeypatch):
    """The collector's command is killed at the deadline; the state says so, in the reports' words."""
    (tmp_path / "python3").write_text("#!/bin/sh\nexec sleep 30\n")
    (tmp_path / "python3").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    host = testinfra.host.Host(testinfra.backend.get_backend("local://"))
    state = collect(host, "local", 0.5)
    assert state.collection_error == "state collection on local timed out after 0.5 s"


def test_ssh_targets_share_a_master_connection(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKHEAD_SSH_CONTROL_DIR", str(tmp_path / "control"))
    backend = testinfra.backend.get_backend("ssh://root@web-1")
    prepare_backend(backend, 5)
    command, arguments = backend._build_ssh_command("true")
    options = backend.quote(" ".join(command), *arguments)
    assert "ControlMaster=auto" in options and f"ControlPath={tmp_path}/control/%C" in options
    assert (tmp_path / "control").stat().st_mode & 0o777 == 0o700


@pytest.fixture
def audit_conftest(pytester):
    pytester.makeconftest('pytest_plugins = ["bulkhead.pytest_plugin"]')


def test_every_hosts_facts_reach_the_report_and_a_timed_out_host_is_an_error(pytester, monkeypatch, audit_conftest):
    pytest_plugin = importlib.import_module("bulkhead.pytest_plugin")
    hosts = [f"web-{index}" for index in range(12)]
    threads = set()

    def fake_collect(testinfra_host, name, timeout):
        threads.add(threading.get_ident())
        if name == "web-3":
            return fleet.timed_out(name, timeout)
        facts = {"containers": {"value": [{"Name": f"/{name}-app", "State": {"Running": True}}]}}
        return HostState(name, facts, 0.01)

    monkeypatch.setattr(pytest_plugin, "collect", fake_collect)
    pytester.makepyfile(
        test_audit="import pytest\n\n@pytest.mark.control('2.2')\n"
        "def test_check(state):\n    state.fact('containers')\n"
    )
    report = pytester.path / "r.json"
    result = pytester.runpytest(
        f"--hosts={','.join(f'docker://{name}' for name in hosts)}",
        "--bulkhead-parallel=4",
        "--bulkhead-host-timeout=7",
        f"--bulkhead-json={report}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=11, failed=1)
    document = json.loads(report.read_text())
    assert sorted(document["hosts"]) == sorted(hosts)
    assert threading.get_ident() not in threads  # collected by the fleet's threads, before any test ran
    for name in hosts:
        entry = document["hosts"][name]
        if name == "web-3":
            assert entry["controls"][0]["outcome"] == "error"
            reason = "state collection on web-3 timed out after 7 s"
            assert entry["controls"][0]["reasons"] == [f"cannot determine: {reason}"]
            assert entry["facts"]["collection_error"] == reason
        else:
            assert entry["controls"][0]["outcome"] == "pass"
            assert entry["facts"]["running_containers"] == 1


def test_one_test_per_control_judges_every_host_and_each_verdict_is_its_own(pytester, monkeypatch, audit_conftest):
    """A fleet test: one pytest test for the control, one outcome per host, none changing another's."""
    from bulkhead.results import Outcome

    pytest_plugin = importlib.import_module("bulkhead.pytest_plugin")
    verdicts = {
        "web-pass": (Outcome.PASS, None),
        "web-fail": (Outcome.FAIL, "container a runs privileged\ncontainer b runs privileged"),
        "web-na": (Outcome.NOT_APPLICABLE, "no container is running"),
    }

    def fake_collect(testinfra_host, name, timeout):
        if name == "web-down":
            return HostState(name, {}, 0.1, "cannot reach web-down: connection refused")
        return HostState(name, {"containers": {"value": []}}, 0.01)

    def fake_verdict(state, settings, control_id):
        if state.collection_error:
            return Outcome.ERROR, f"cannot determine: {state.collection_error}"
        return verdicts[state.host]

    monkeypatch.setattr(pytest_plugin, "collect", fake_collect)
    monkeypatch.setattr(pytest_plugin, "verdict", fake_verdict)
    pytester.makepyfile(
        test_audit="import pytest\n\n"
        "CONTROLS = [pytest.param(c, marks=pytest.mark.control(c)) for c in ('2.2', '5.4')]\n\n"
        "@pytest.mark.parametrize('control_id', CONTROLS)\n"
        "def test_controls(fleet, control_id):\n    fleet.judge(control_id)\n"
    )
    hosts = ["web-pass", "web-fail", "web-down", "web-na"]
    report = pytester.path / "r.json"
    targets = ",".join(f"docker://{name}" for name in hosts)
    result = pytester.runpytest(f"--hosts={targets}", f"--bulkhead-json={report}", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)  # two tests, whatever the number of hosts
    document = json.loads(report.read_text())
    assert list(document["hosts"]) == sorted(hosts)  # testinfra's order of hosts, as before
    for name in hosts:
        controls = document["hosts"][name]["controls"]
        assert [control["id"] for control in controls] == ["2.2", "5.4"]
        for control in controls:
            if name == "web-down":
                assert (control["outcome"], control["reasons"]) == (
                    "error",
                    ["cannot determine: cannot reach web-down: connection refused"],
                )
            else:
                outcome, reason = verdicts[name]
                assert control["outcome"] == outcome.value
                assert control["reasons"] == (reason.splitlines() if reason else [])


def test_a_fleet_test_that_stops_between_hosts_is_an_error_for_the_hosts_not_judged(
    pytester, monkeypatch, audit_conftest
):
    from bulkhead.results import Outcome

    pytest_plugin = importlib.import_module("bulkhead.pytest_plugin")
    monkeypatch.setattr(pytest_plugin, "collect", lambda testinfra_host, name, timeout: HostState(name, {}))

    def fake_verdict(state, settings, control_id):
        if state.host == "b":
            raise RuntimeError("the fleet itself broke")
        return Outcome.PASS, None

    monkeypatch.setattr(pytest_plugin, "verdict", fake_verdict)
    pytester.makepyfile(
        test_audit="import pytest\n\n@pytest.mark.control('2.2')\ndef test_check(fleet):\n    fleet.judge('2.2')\n"
    )
    report = pytester.path / "r.json"
    pytester.runpytest("--hosts=docker://a,docker://b,docker://c", f"--bulkhead-json={report}", "-pno:cacheprovider")
    hosts = json.loads(report.read_text())["hosts"]
    assert hosts["a"]["controls"][0]["outcome"] == "pass"
    for name in ("b", "c"):
        (control,) = hosts[name]["controls"]
        assert control["outcome"] == "error"
        assert control["reasons"] == ["check crashed: RuntimeError: the fleet itself broke"]


def test_every_suite_test_judges_the_whole_fleet():
    """A suite test that asked for one host's state would be repeated for every host (issue 13)."""
    import inspect
    from pathlib import Path

    from test_consistency import SUITES, _load_suite

    for path in sorted(Path(SUITES).glob("test_*.py")):
        for name, function in vars(_load_suite(path)).items():
            if name.startswith("test_") and callable(function):
                parameters = set(inspect.signature(function).parameters)
                assert "fleet" in parameters and not parameters & {"state", "host"}, f"{path.name}::{name}"
