"""pytest plugin behind every audit suite: the ``control(id)`` marker, per-host state, reports.

Each audit test of the suites verifies one control on every host: it asks the ``fleet`` fixture to
judge the control, and the fleet judges each host's state with the control's check (``verdict``),
so that an audit of 100 hosts runs as many tests as an audit of one. Each host's outcome is its
own: a finding is a FAIL for that host, a NotApplicable its NOT_APPLICABLE, and anything else that
stops its check, above all a fact that could not be read or a state that could not be collected,
its ERROR; no host's outcome changes another's.

A test of one host (the ``state`` fixture, which testinfra parametrizes by host) is also an audit
test: its outcome becomes the control's outcome on that host (a failed assert is a FAIL, a skip
NOT_APPLICABLE, anything else an ERROR). Outcomes travel in ``report.user_properties``. Every host is
judged in this one session; the hosts' states are collected concurrently beforehand (``bulkhead.fleet``).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest

from bulkhead.catalogue import Catalogue, load_catalogue
from bulkhead.checks.image_assurance import image_inventory
from bulkhead.config import AuditConfig, ConfigError, load_config
from bulkhead.facts import HostState
from bulkhead.fleet import (
    DEFAULT_HOST_TIMEOUT,
    DEFAULT_PARALLEL,
    FleetCollection,
    StartedCollection,
    fleet_hosts,
    start_collection,
)
from bulkhead.reasons import short_reason
from bulkhead.report.container_list import container_list
from bulkhead.report.files import write_atomically
from bulkhead.results import Outcome, ResultBook
from bulkhead.short_reports import ShortReports
from bulkhead.state import collect, host_summary
from bulkhead.verdict import classify_error, verdict
from bulkhead.waivers import Waiver, WaiverError, apply_waivers, load_waivers

_CONTROL = "bulkhead.control"
_HOST = "bulkhead.host"
_OUTCOME = "bulkhead.outcome"
_REASON = "bulkhead.reason"
_VERDICTS = "bulkhead.verdicts"  # a fleet test's [(host, outcome, reason, seconds), ...]

_catalogue_key = pytest.StashKey[Catalogue]()
_book_key = pytest.StashKey[ResultBook]()
_facts_key = pytest.StashKey[dict[str, dict[str, Any]]]()
_config_key = pytest.StashKey[AuditConfig]()
_waivers_key = pytest.StashKey[list[Waiver]]()
_notes_key = pytest.StashKey[list[str]]()
_started_key = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bulkhead", "Bulkhead compliance reports")
    group.addoption("--bulkhead-junit", metavar="PATH", help="write a JUnit compliance report to PATH")
    group.addoption("--bulkhead-json", metavar="PATH", help="write a JSON compliance report to PATH")
    group.addoption("--bulkhead-controls", metavar="IDS", help="audit only these control IDs (comma-separated)")
    group.addoption("--bulkhead-config", metavar="PATH", help="audit settings (YAML), see bulkhead/config.py")
    group.addoption("--bulkhead-html", metavar="PATH", help="write a self-contained HTML compliance report to PATH")
    group.addoption("--bulkhead-sections", metavar="N,..", help="audit only the controls of these sections")
    group.addoption("--bulkhead-exclude-controls", metavar="IDS", help="do not audit these control IDs")
    group.addoption("--bulkhead-exclude-sections", metavar="N,..", help="do not audit these sections")
    group.addoption("--bulkhead-waivers", metavar="PATH", help="waivers (YAML), see bulkhead/waivers.py")
    group.addoption(
        "--bulkhead-parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"collect the state of at most N hosts at once (default {DEFAULT_PARALLEL})",
    )
    group.addoption(
        "--bulkhead-host-timeout",
        type=float,
        default=DEFAULT_HOST_TIMEOUT,
        metavar="SECONDS",
        help="a host's state collection that takes longer is an error for that host "
        f"(default {DEFAULT_HOST_TIMEOUT:g})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the catalogue control this audit test verifies")
    config.stash[_catalogue_key] = load_catalogue()
    config.stash[_book_key] = ResultBook()
    config.stash[_facts_key] = {}
    config.stash[_states_key] = {}
    try:
        path = config.getoption("bulkhead_config")
        config.stash[_config_key] = load_config(Path(path) if path else None)
    except ConfigError as error:
        raise pytest.UsageError(f"--bulkhead-config: {error}") from error
    try:
        path = config.getoption("bulkhead_waivers")
        config.stash[_waivers_key] = load_waivers(Path(path), config.stash[_catalogue_key]) if path else []
    except WaiverError as error:
        raise pytest.UsageError(f"--bulkhead-waivers: {error}") from error
    config.stash[_notes_key] = []
    config.stash[_started_key] = time.monotonic()
    config.pluginmanager.register(_Recorder(config), "bulkhead-recorder")
    config.pluginmanager.register(ShortReports(), "bulkhead-short-reports")


def control_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("control")
    return str(marker.args[0]) if marker and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    catalogue = config.stash[_catalogue_key]
    for item in items:
        control_id = control_of(item)
        if control_id is None:
            raise pytest.UsageError(f"{item.nodeid}: audit test without a @pytest.mark.control(ID) marker")
        if control_id not in catalogue:
            raise pytest.UsageError(f"{item.nodeid}: control {control_id!r} is not in the catalogue")
    selected_ids = selected_controls(config, catalogue)
    deselected = [item for item in items if control_of(item) not in selected_ids]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if control_of(item) in selected_ids]


def _listed(config: pytest.Config, option: str) -> set[str]:
    value = config.getoption(option) or ""
    return {entry.strip() for entry in value.split(",") if entry.strip()}


def selected_controls(config: pytest.Config, catalogue: Catalogue) -> set[str]:
    """The control IDs to audit after --bulkhead-controls/-sections and their exclusions."""
    known_ids = {control.id for control in catalogue}
    known_sections = set(catalogue.sections())
    for option, known, what in (
        ("bulkhead_controls", known_ids, "control(s)"),
        ("bulkhead_exclude_controls", known_ids, "control(s)"),
        ("bulkhead_sections", known_sections, "section(s)"),
        ("bulkhead_exclude_sections", known_sections, "section(s)"),
    ):
        unknown = sorted(_listed(config, option) - known)
        if unknown:
            flag = "--" + option.replace("_", "-")
            raise pytest.UsageError(f"{flag}: unknown {what} {', '.join(unknown)}")
    selected = set(known_ids)
    if _listed(config, "bulkhead_controls") or _listed(config, "bulkhead_sections"):
        sections = _listed(config, "bulkhead_sections")
        selected = _listed(config, "bulkhead_controls") | {c.id for c in catalogue if c.section in sections}
    excluded_sections = _listed(config, "bulkhead_exclude_sections")
    selected -= _listed(config, "bulkhead_exclude_controls")
    selected -= {control.id for control in catalogue if control.section in excluded_sections}
    return selected


def host_name(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    testinfra_host = callspec.params.get("_testinfra_host") if callspec else None
    if testinfra_host is None:
        return "local"
    return testinfra_host.backend.get_hostname()


# Per run (in the config's stash), never per process: an audit run again in the same process
# (a scheduler, a test) must collect the hosts' state again.
_states_key = pytest.StashKey[dict[str, HostState]]()
_collection_key = pytest.StashKey[FleetCollection]()


def _keep(config: pytest.Config, host_state: HostState) -> None:
    """The host's state for its tests, and its summary for the reports."""
    config.stash[_states_key][host_state.host] = host_state
    summary = host_summary(host_state)
    if summary.get("collection_error"):
        summary["collection_error"] = short_reason(summary["collection_error"])
    listed = container_list(host_state, config.stash[_config_key])
    if listed is not None:
        summary["container_list"] = listed
    summary["images_in_use"] = image_inventory(host_state, config.stash[_config_key])
    config.stash[_facts_key][host_state.host] = summary


def _testinfra_hosts(config: pytest.Config) -> list[tuple[str, Any]]:
    """The hosts of ``--hosts`` (and testinfra's other options) as testinfra makes them for its
    ``host`` fixture, in the same order; this machine without ``--hosts``."""
    option = config.option
    return fleet_hosts(
        option.hosts.split(",") if getattr(option, "hosts", None) else [None],
        connection=getattr(option, "connection", None),
        ssh_config=getattr(option, "ssh_config", None),
        ssh_identity_file=getattr(option, "ssh_identity_file", None),
        sudo=getattr(option, "sudo", False),
        sudo_user=getattr(option, "sudo_user", None),
        ansible_inventory=getattr(option, "ansible_inventory", None),
        force_ansible=getattr(option, "force_ansible", False),
    )


def _started_collection(config: pytest.Config) -> FleetCollection | None:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, StartedCollection):
            return plugin.collection
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Start collecting every audited host's state, concurrently, before any control is judged
    (unless ``bulkhead audit`` started it already, see StartedCollection).

    Judging starts at once: the first control waits for each host's state in turn (hosts are
    collected in the order they are judged), so the control node judges while it waits for slower
    hosts."""
    config = session.config
    started = _started_collection(config)
    fleet_tests = any(_FLEET_FIXTURE in getattr(item, "fixturenames", ()) for item in session.items)
    if started is not None:
        config.stash[_collection_key] = started
        if fleet_tests:
            config.stash[_fleet_key] = Fleet(config, started.names())
        return
    testinfra_hosts: dict[str, Any] = {}
    if fleet_tests:
        testinfra_hosts.update(_testinfra_hosts(config))
        config.stash[_fleet_key] = Fleet(config, list(testinfra_hosts))
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        testinfra_host = callspec.params.get("_testinfra_host") if callspec else None
        if testinfra_host is not None:
            testinfra_hosts.setdefault(testinfra_host.backend.get_hostname(), testinfra_host)
    if testinfra_hosts:
        config.stash[_collection_key] = start_collection(
            list(testinfra_hosts.items()),
            _collector(config.stash[_config_key]),
            parallel=config.getoption("bulkhead_parallel"),
            timeout=config.getoption("bulkhead_host_timeout"),
        )


def _collector(settings: AuditConfig) -> Any:
    """``collect``, asking for the values of the labels the settings name (application, zone) if any."""
    labels = settings.label_names()
    return functools.partial(collect, labels=labels) if labels else collect


def _host_state(config: pytest.Config, name: str, testinfra_host: Any = None) -> HostState:
    """The host's state, collected once per audit run (one round trip), kept for every control."""
    states = config.stash[_states_key]
    if name not in states:
        collection = config.stash.get(_collection_key, None)
        if collection is not None and name in collection:
            _keep(config, collection.state(name))
        else:  # not collected beforehand: a test outside an audit session
            timeout = config.getoption("bulkhead_host_timeout")
            _keep(config, _collector(config.stash[_config_key])(testinfra_host, name, timeout))
    return states[name]


_FLEET_FIXTURE = "fleet"
Verdict = tuple[str, str, str, float]  # host, outcome, reason (lines), seconds


class Fleet:
    """Every audited host, for the suites' tests: ``judge(control_id)`` judges each host in turn."""

    def __init__(self, config: pytest.Config, hosts: list[str]) -> None:
        self.config = config
        self.hosts = hosts
        self.verdicts: list[Verdict] | None = None  # the running test's, until its report takes them

    def judge(self, control_id: str) -> None:
        """Judge ``control_id`` on every host; the test fails if it fails or errs on any host."""
        settings = self.config.stash[_config_key]
        verdicts: list[Verdict] = []
        self.verdicts = verdicts
        for name in self.hosts:
            state = _host_state(self.config, name)
            started = time.perf_counter()
            outcome, reason = verdict(state, settings, control_id)
            verdicts.append((name, outcome.value, reason or "", time.perf_counter() - started))
        outcomes = {outcome for _host, outcome, _reason, _seconds in verdicts}
        if outcomes & {Outcome.FAIL.value, Outcome.ERROR.value}:
            bad = [f"{host}: {outcome}" for host, outcome, *_rest in verdicts if outcome in ("fail", "error")]
            pytest.fail(f"{control_id}: " + ", ".join(bad), pytrace=False)
        if outcomes == {Outcome.NOT_APPLICABLE.value}:
            pytest.skip(f"{control_id}: not applicable on any host")

    def take(self) -> list[Verdict] | None:
        verdicts, self.verdicts = self.verdicts, None
        return verdicts


_fleet_key = pytest.StashKey[Fleet]()


@pytest.fixture(scope="session")
def fleet(pytestconfig: pytest.Config) -> Fleet:
    """Every audited host (``--hosts``); the suites' tests judge their control on all of them."""
    return pytestconfig.stash[_fleet_key]


# Module scope: one fixture set-up per suite module and host, not per test.
# pytestconfig, not request: pytest makes a new fixture definition for `request` in every test.
@pytest.fixture(scope="module")
def state(host: Any, pytestconfig: pytest.Config) -> HostState:
    """The host's state, for a test of one host (testinfra parametrizes it by host)."""
    return _host_state(pytestconfig, host.backend.get_hostname(), host)


@pytest.fixture(scope="session")
def audit_config(pytestconfig: pytest.Config) -> AuditConfig:
    """Fleet-specific settings from ``--bulkhead-config`` (approved registries, allowlists, ...)."""
    return pytestconfig.stash[_config_key]


def classify(excinfo: pytest.ExceptionInfo[BaseException] | None) -> tuple[Outcome, str | None]:
    if excinfo is None:
        return Outcome.PASS, None
    error = excinfo.value
    if isinstance(error, pytest.skip.Exception):
        return Outcome.NOT_APPLICABLE, error.msg.removeprefix("Skipped: ").removeprefix("not applicable: ")
    if isinstance(error, pytest.fail.Exception):
        return Outcome.FAIL, error.msg
    return classify_error(error)


def _fleet_verdicts(item: pytest.Item, call: pytest.CallInfo[None]) -> list[Verdict] | None:
    """A fleet test's verdicts for its report, or None when this phase says nothing about them."""
    fleet_of_run = item.config.stash.get(_fleet_key, None)
    verdicts = fleet_of_run.take() if fleet_of_run is not None and call.when == "call" else None
    if verdicts is not None and len(verdicts) == len(fleet_of_run.hosts):
        return verdicts
    if call.excinfo is None:
        return None  # setup and teardown that went fine say nothing about the control
    # The test stopped before every host was judged (its set-up failed, or it crashed between
    # hosts): an error for each host without a verdict, never a pass.
    result, reason = classify(call.excinfo)
    if result is Outcome.NOT_APPLICABLE and call.when == "teardown":
        return None
    if result is not Outcome.ERROR:
        result, reason = Outcome.ERROR, short_reason(f"check crashed: {reason}")
    hosts = fleet_of_run.hosts if fleet_of_run is not None else []
    judged = {host for host, *_rest in verdicts or []}
    return list(verdicts or []) + [(host, result.value, reason or "", 0.0) for host in hosts if host not in judged]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    control_id = control_of(item)
    if control_id is None:
        return
    if _FLEET_FIXTURE in item.fixturenames:
        verdicts = _fleet_verdicts(item, call)
        if verdicts is not None:
            report.user_properties.extend([(_CONTROL, control_id), (_VERDICTS, verdicts)])
        return
    if call.when != "call" and call.excinfo is None:
        return  # setup and teardown that went fine say nothing about the control
    result, reason = classify(call.excinfo)
    if call.when == "teardown" and result is Outcome.NOT_APPLICABLE:
        return
    host = host_name(item)
    report.user_properties.extend(
        [
            (_CONTROL, control_id),
            (_HOST, host),
            (_OUTCOME, result.value),
            (_REASON, reason or ""),
        ]
    )


class _Recorder:
    """Folds test reports into control results and writes the reports at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if _CONTROL not in properties:
            return
        book = self.config.stash[_book_key]
        verdicts = properties.get(_VERDICTS)
        if verdicts is None:
            verdicts = [(properties[_HOST], properties[_OUTCOME], properties[_REASON], report.duration)]
        for host, outcome, reason, seconds in verdicts:
            for line in (reason or "").splitlines() or [""]:
                book.record(host, properties[_CONTROL], Outcome(outcome), line.strip() or None, seconds)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        book = self.config.stash[_book_key]
        catalogue = self.config.stash[_catalogue_key]
        waivers = self.config.stash[_waivers_key]
        if waivers:
            self.config.stash[_notes_key] = apply_waivers(book, waivers, host_groups(self.config, list(book.hosts)))
        seconds = round(time.monotonic() - self.config.stash[_started_key], 3)
        facts = self.config.stash[_facts_key]
        junit_path = self.config.getoption("bulkhead_junit")
        json_path = self.config.getoption("bulkhead_json")
        html_path = self.config.getoption("bulkhead_html")
        # Each report's module is imported when that report is asked for (ElementTree alone is a
        # tenth of an audit's start-up).
        if junit_path:
            from bulkhead.report.junit import junit_report

            write_atomically(Path(junit_path), junit_report(book, catalogue))
        if json_path:
            from bulkhead.report.jsondoc import json_report

            write_atomically(Path(json_path), json_report(book, catalogue, facts, seconds))
        if html_path:
            from bulkhead.report.html import html_report

            write_atomically(Path(html_path), html_report(book, catalogue, facts, seconds))


def result_book(config: pytest.Config) -> ResultBook:
    return config.stash[_book_key]


def catalogue_of(config: pytest.Config) -> Catalogue:
    return config.stash[_catalogue_key]


def host_facts(config: pytest.Config) -> dict[str, dict[str, Any]]:
    """Per host, the facts the reports show (engines, counts, container names)."""
    return config.stash[_facts_key]


def waiver_notes(config: pytest.Config) -> list[str]:
    """One line per expired waiver that would have matched a finding."""
    return config.stash[_notes_key]


def host_groups(config: pytest.Config, hosts: list[str]) -> dict[str, set[str]]:
    """Ansible inventory groups of each audited host, for waivers that name a group."""
    inventory = config.getoption("ansible_inventory", None)
    if not inventory or not any(waiver.group for waiver in config.stash[_waivers_key]):
        return {}
    from testinfra.utils.ansible_runner import AnsibleRunner

    runner = AnsibleRunner(inventory)
    groups: dict[str, set[str]] = {host: set() for host in hosts}
    for group in {waiver.group for waiver in config.stash[_waivers_key] if waiver.group}:
        for member in runner.get_hosts(group):
            groups.setdefault(member, set()).add(group)
    return groups
