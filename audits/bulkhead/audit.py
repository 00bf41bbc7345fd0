"""Running an audit: the CLI's options become a pytest session over the suites, with our plugins only.

Exit codes: 0 compliant (no failed control at or above ``--fail-on``), 1 findings at or above the
threshold, 2 errors (a control could not be determined: engine unreachable, fact unreadable) or
bad input. Errors win over findings: an incomplete audit is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bulkhead.catalogue import SEVERITIES, Catalogue, load_catalogue
from bulkhead.config import ConfigError, load_config
from bulkhead.fleet import FleetCollection, StartedCollection, fleet_hosts, start_collection
from bulkhead.history import HistoryError
from bulkhead.reasons import short_reason
from bulkhead.report.files import write_atomically
from bulkhead.report.terminal import Progress, print_summary
from bulkhead.results import Outcome, ResultBook
from bulkhead.waivers import WaiverError, load_waivers

SUITES_DIR = Path(__file__).parent / "suites"

EXIT_COMPLIANT = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

FORMATS = ("junit", "json", "html")
_SUFFIX = {"junit": "xml", "json": "json", "html": "html"}


class BadInput(Exception):
    """An option or file the audit cannot work with (exit code 2 before anything runs)."""


def _csv(value: str | None) -> list[str]:
    return [entry.strip() for entry in (value or "").split(",") if entry.strip()]


def _ansible_on_path() -> None:
    """ansible-inventory (testinfra's ansible backend and --limit use it) lives beside our Python
    in a virtualenv that may not be activated."""
    if shutil.which("ansible-inventory") is None:
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def one_line(text: str) -> str:
    """A multi-line message (a YAML error with its caret) as one line of at most 300 characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip().strip("^")]
    return short_reason(" ".join(lines))


_INSTALL_ANSIBLE = "pip install 'bulkhead-audit[ansible]'"


def _backend_available(backend: str) -> str | None:
    """Why a testinfra backend cannot be used here, or None."""
    if backend == "ansible" and (importlib.util.find_spec("ansible") is None or not shutil.which("ansible-inventory")):
        return f"ansible:// needs Ansible ({_INSTALL_ANSIBLE})"
    if backend == "paramiko" and importlib.util.find_spec("paramiko") is None:
        return "a host spec without a backend uses paramiko, which is not installed: write ssh://HOST"
    return None


def check_hosts(hosts: str, connection: str | None) -> None:
    """Each spec names a backend testinfra knows and can use here (before pytest, which would crash on it)."""
    from testinfra.backend import BACKENDS

    known = ", ".join(f"{name}://" for name in sorted(BACKENDS))
    if connection and connection not in BACKENDS:
        raise BadInput(f"--connection {connection}: unknown backend; choose from {', '.join(sorted(BACKENDS))}")
    specs = _csv(hosts)
    if not specs:
        raise BadInput("--hosts: no host given")
    for spec in specs:
        backend = spec.partition("://")[0] if "://" in spec else connection or "paramiko"
        if backend not in BACKENDS:
            raise BadInput(f"--hosts {spec}: unknown backend {backend!r}; use one of {known}")
        missing = _backend_available(backend)
        if missing:
            raise BadInput(f"--hosts {spec}: {missing}")


def _inventory_hosts(inventory: str) -> None:
    """A malformed inventory is bad input here, in one line (ansible-inventory only warns about it)."""
    if importlib.util.find_spec("ansible") is None or not shutil.which("ansible-inventory"):
        raise BadInput(f"--inventory {inventory}: reading an inventory needs Ansible ({_INSTALL_ANSIBLE})")
    listed = subprocess.run(
        ["ansible-inventory", "--inventory", inventory, "--list"],
        capture_output=True,
        text=True,
        env=os.environ | {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "ANSIBLE_NOCOLOR": "1"},
        check=False,
    )
    if listed.returncode != 0:
        lines = [line.strip() for line in listed.stderr.splitlines() if line.strip()]
        first = next((line for line in lines if "Failed to parse" in line), lines[0] if lines else "")
        origin = next((line.removeprefix("Origin: ") for line in lines if line.startswith("Origin: ")), "")
        first = first.removeprefix("[WARNING]: ").removeprefix("[ERROR]: ")
        where = f" ({origin})" if origin else ""
        raise BadInput(short_reason(f"--inventory {inventory}: not an inventory: {first}{where}"))
    try:
        json.loads(listed.stdout)
    except ValueError as error:
        raise BadInput(f"--inventory {inventory}: ansible-inventory printed no inventory: {error}") from None


def resolve_hosts(args: argparse.Namespace) -> str:
    """The testinfra host specs to audit; ``--limit`` narrows ansible:// specs to matching hosts.

    Bad specs and inventories are BadInput here, in the user's flag names."""
    _ansible_on_path()
    hosts = args.hosts or ("ansible://all" if args.inventory else "local://")
    check_hosts(hosts, args.connection)
    if args.inventory:
        if not Path(args.inventory).is_file():
            raise BadInput(f"--inventory {args.inventory}: no such file")
        _inventory_hosts(args.inventory)
        from testinfra.utils.ansible_runner import AnsibleRunner

        runner = AnsibleRunner.get_runner(args.inventory)  # testinfra reuses it in this process
        for spec in _csv(hosts):
            if spec.startswith("ansible://"):
                pattern = spec.removeprefix("ansible://").partition("?")[0] or "all"
                try:
                    found = runner.get_hosts(pattern)
                except Exception as error:  # testinfra raises on an inventory with no host at all
                    if "No inventory was parsed" in str(error):
                        raise BadInput(f"--inventory {args.inventory}: no host in it (is it empty?)") from None
                    raise BadInput(one_line(f"--inventory {args.inventory}: {error}")) from None
                if not found:
                    raise BadInput(f"--inventory {args.inventory}: no host matches {spec} (is the inventory empty?)")
    elif any(spec.startswith("ansible://") for spec in _csv(hosts)):
        # testinfra would fall back on Ansible's default inventory (/etc/ansible/hosts)
        raise BadInput(f"--hosts {hosts}: ansible:// hosts need --inventory")
    if not args.limit:
        return hosts
    if not args.inventory:
        raise BadInput("--limit needs --inventory (it selects hosts of an Ansible inventory)")
    from testinfra.utils.ansible_runner import AnsibleRunner

    try:
        runner = AnsibleRunner(args.inventory)
        # Ansible's host pattern lists: "web*,db-1" or "web*:db-1" (testinfra matches one at a time)
        allowed = {name for pattern in args.limit.replace(":", ",").split(",") for name in runner.get_hosts(pattern)}
        specs = []
        for spec in _csv(hosts):
            if spec.startswith("ansible://"):
                pattern, _, query = spec.removeprefix("ansible://").partition("?")
                suffix = f"?{query}" if query else ""
                specs += [f"ansible://{name}{suffix}" for name in runner.get_hosts(pattern or "all") if name in allowed]
            else:
                specs.append(spec)
    except Exception as error:  # ansible-inventory failures: a bad inventory file or pattern
        raise BadInput(one_line(f"--inventory {args.inventory}: {error}")) from None
    if not specs:
        raise BadInput(f"--limit {args.limit}: no host of {hosts} matches")
    return ",".join(specs)


_SELECTION = (
    ("controls", "control(s)"),
    ("exclude_controls", "control(s)"),
    ("sections", "section(s)"),
    ("exclude_sections", "section(s)"),
)


def check_selection(args: argparse.Namespace, catalogue: Catalogue) -> None:
    """Unknown control IDs or sections are bad input, named by the flag the user typed."""
    known = {"control(s)": {control.id for control in catalogue}, "section(s)": set(catalogue.sections())}
    for option, what in _SELECTION:
        unknown = sorted(set(_csv(getattr(args, option, None))) - known[what])
        if unknown:
            listing = "`bulkhead controls` lists them"
            if what == "section(s)":
                listing = f"known: {', '.join(sorted(known[what]))}"
            raise BadInput(f"--{option.replace('_', '-')}: unknown {what} {', '.join(unknown)} ({listing})")


def check_files(args: argparse.Namespace, catalogue: Catalogue) -> None:
    """The settings and waivers files parse (the plugin loads them again)."""
    for option in ("waivers", "config", "inventory"):
        path = getattr(args, option, None)
        if path and not Path(path).is_file():
            raise BadInput(f"--{option} {path}: no such file")
    try:
        if args.config:
            load_config(Path(args.config))
    except ConfigError as error:
        raise BadInput(one_line(f"--config {error}")) from None
    try:
        if args.waivers:
            load_waivers(Path(args.waivers), catalogue)
    except WaiverError as error:
        raise BadInput(one_line(f"--waivers {error}")) from None


def report_paths(args: argparse.Namespace) -> dict[str, str]:
    paths = {name: getattr(args, name) for name in FORMATS if getattr(args, name)}
    if args.reports:
        formats = _csv(args.formats) or list(FORMATS)
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown:
            raise BadInput(f"--formats: unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
        for name in formats:
            paths.setdefault(name, str(Path(args.reports) / f"audit.{_SUFFIX[name]}"))
    return paths


UNUSED_PYTEST_PLUGINS = (
    "logging",
    "warnings",
    "faulthandler",
    "unraisableexception",
    "threadexception",
    "stepwise",
    "doctest",
    "junitxml",
    "pastebin",
    "legacypath",
    "tmpdir",
    "monkeypatch",
    "recwarn",
    "setuponly",
    "setupplan",
    "nose",
    "debugging",
    "freeze_support",
    "python_path",
    "unittest",
    "subtests",
    "assertion",
    "capture",
)


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    arguments = [
        str(SUITES_DIR),
        f"--rootdir={SUITES_DIR}",
        # No ambient configuration: not a pytest.ini, pyproject.toml or conftest.py of the current
        # directory or of any directory above the installed package (PYTEST_ADDOPTS and
        # PYTEST_PLUGINS are taken out of the environment in run_audit).
        f"--config-file={os.devnull}",
        f"--confcutdir={SUITES_DIR}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--tb=no",
        "-rN",
        f"--hosts={resolve_hosts(args)}",
    ]
    if args.inventory:
        arguments.append(f"--ansible-inventory={args.inventory}")
    if args.connection:
        arguments.append(f"--connection={args.connection}")
    if args.sudo:
        arguments.append("--sudo")
    for name, path in report_paths(args).items():
        arguments.append(f"--bulkhead-{name}={path}")
    for option in ("config", "controls", "sections", "exclude_controls", "exclude_sections", "waivers"):
        value = getattr(args, option)
        if value:
            arguments.append(f"--bulkhead-{option.replace('_', '-')}={value}")
    # Plugins are named rather than auto-loaded from every installed package: faster start-up, and
    # an unrelated pytest plugin in the environment cannot change how an audit runs.
    arguments += ["-p", "testinfra.plugin"]
    # pytest's plugins that an audit does not use, each of which costs hook calls for every test
    # (logging and warnings capture, crash dumps): a fleet audit runs thousands of tests.
    for unused in UNUSED_PYTEST_PLUGINS:
        arguments += ["-p", f"no:{unused}"]
    # One process judges every host: the hosts' state is collected beforehand, `parallel` at a time
    # (threads, see bulkhead.fleet); an xdist worker per host cost more than it shared (issue 13).
    arguments.append(f"--bulkhead-parallel={args.parallel}")
    arguments.append(f"--bulkhead-host-timeout={args.host_timeout:g}")
    if args.ssh_config:
        arguments.append(f"--ssh-config={args.ssh_config}")
    return arguments


# Environment variables through which pytest configuration would reach an audit from outside.
AMBIENT_PYTEST = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


@contextlib.contextmanager
def _isolated_pytest():
    """No plugin autoloading and no PYTEST_ADDOPTS/PYTEST_PLUGINS while the audit runs; the
    caller's environment is restored afterwards."""
    saved = {name: os.environ.get(name) for name in (*AMBIENT_PYTEST, "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    for name in AMBIENT_PYTEST:
        os.environ.pop(name, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pytest_complaint(output: str) -> str:
    """The line of pytest's output that says why the session did not run."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for prefix in ("ERROR: ", "E   ", "INTERNALERROR> "):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return short_reason(found[-1].removeprefix(prefix))
    return short_reason(lines[-1]) if lines else "no output"


def start_fleet_collection(args: argparse.Namespace, arguments: list[str]) -> FleetCollection:
    """Start collecting the audited hosts' state (the hosts pytest_arguments resolved) now, before
    pytest is imported: the targets run their collector, and the network is waited for, while this
    process starts its pytest session (bulkhead.fleet.StartedCollection)."""
    from bulkhead import state

    labels = load_config(Path(args.config) if args.config else None).label_names()
    hosts = next(argument for argument in arguments if argument.startswith("--hosts=")).removeprefix("--hosts=")
    made = fleet_hosts(
        hosts.split(","),
        connection=args.connection,
        ssh_config=args.ssh_config,
        sudo=args.sudo,
        ansible_inventory=args.inventory,
    )
    # The label values the settings ask for (see pytest_plugin._collector), through the state module
    # at call time: what a test harness puts in its place is what collects.
    if labels:
        return start_collection(
            made,
            lambda host, name, timeout: state.collect(host, name, timeout, labels=labels),
            parallel=args.parallel,
            timeout=args.host_timeout,
        )
    return start_collection(
        made,
        lambda host, name, timeout: state.collect(host, name, timeout),
        parallel=args.parallel,
        timeout=args.host_timeout,
    )


def run_audit(args: argparse.Namespace) -> int:
    try:
        catalogue = load_catalogue()
        check_selection(args, catalogue)
        check_files(args, catalogue)
        arguments = pytest_arguments(args)
    except BadInput as error:
        print(f"bulkhead: {error}", file=sys.stderr)
        return EXIT_ERROR
    keep = getattr(args, "keep", None)
    if keep is not None and (keep < 1 or not args.history):
        reason = "keep at least one run" if args.history else "it needs --history"
        print(f"bulkhead: --keep {keep}: {reason}", file=sys.stderr)
        return EXIT_ERROR
    if getattr(args, "history", None):
        from bulkhead.history import History

        try:
            History(args.history).prepare()  # an unusable history fails before the audit, not after
        except (OSError, HistoryError) as error:
            print(f"bulkhead: --history {args.history}: {error}", file=sys.stderr)
            return EXIT_ERROR
    started = datetime.now(UTC)
    started_clock = time.monotonic()
    collection = StartedCollection(start_fleet_collection(args, arguments))
    import pytest  # after the collection started: its import is a large part of an audit's start-up

    interactive = sys.stderr.isatty() and not args.no_progress
    session = Progress(sys.stderr if interactive else None)
    captured = io.StringIO()
    with _isolated_pytest(), contextlib.redirect_stdout(captured):
        code = pytest.main(arguments, plugins=[session, collection])
    if session.book is None or code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        if args.verbose:
            sys.stderr.write(captured.getvalue())
        print(f"bulkhead: the audit did not run: {_pytest_complaint(captured.getvalue())}", file=sys.stderr)
        return EXIT_ERROR
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or not session.book.hosts:
        print("bulkhead: no control was audited", file=sys.stderr)
        return EXIT_ERROR
    catalogue = session.catalogue or catalogue
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print_summary(session.book, catalogue, colour=colour, verbose=args.verbose)
    for note in session.notes:
        print(f"warning: {note}")
    for name, path in report_paths(args).items():
        print(f"{name} report: {path}")
    code = exit_code(session.book, catalogue, args.fail_on)
    if getattr(args, "history", None):
        seconds = round(time.monotonic() - started_clock, 3)
        if not _record_history(args, session, catalogue, started, seconds, code):
            return EXIT_ERROR
    return code


def _record_history(
    args: argparse.Namespace, session: Progress, catalogue: Catalogue, started: datetime, seconds: float, code: int
) -> bool:
    """The run into ``--history``; an --html page is rewritten with the history's trend."""
    from bulkhead.history import DEFAULT_KEEP
    from bulkhead.report.history_run import record_run

    assert session.book is not None
    try:
        entry, html_text = record_run(
            args.history, args.keep or DEFAULT_KEEP, started, session.book, catalogue, session.facts, seconds, code
        )
        html_path = report_paths(args).get("html")
        if html_path:
            write_atomically(Path(html_path), html_text)
    except (OSError, HistoryError) as error:
        print(f"bulkhead: --history {args.history}: the run could not be recorded: {error}", file=sys.stderr)
        return False
    print(f"history: {entry.path}")
    return True


def exit_code(book: ResultBook, catalogue: Catalogue, fail_on: str) -> int:
    results = book.all_results()
    if any(result.outcome is Outcome.ERROR for result in results):
        return EXIT_ERROR
    threshold = SEVERITIES.index(fail_on)
    if any(
        result.outcome is Outcome.FAIL and SEVERITIES.index(catalogue[result.control_id].severity) >= threshold
        for result in results
    ):
        return EXIT_FINDINGS
    return EXIT_COMPLIANT
