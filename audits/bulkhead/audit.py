"""Running an audit: the CLI's options become a pytest session over the suites, with our plugins only.

Exit codes: 0 compliant (no failed control at or above ``--fail-on``), 1 findings at or above the
threshold, 2 errors (a control could not be determined: engine unreachable, fact unreadable) or
bad input. Errors win over findings: an incomplete audit is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bulkhead.catalogue import SEVERITIES, Catalogue, load_catalogue
from bulkhead.history import HistoryError
from bulkhead.report.files import write_atomically
from bulkhead.report.terminal import Progress, print_summary
from bulkhead.results import Outcome, ResultBook

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


def resolve_hosts(args: argparse.Namespace) -> str:
    """The testinfra host specs to audit; ``--limit`` narrows ansible:// specs to matching hosts."""
    _ansible_on_path()
    hosts = args.hosts or ("ansible://all" if args.inventory else "local://")
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
        raise BadInput(f"--inventory {args.inventory}: {error}") from error
    if not specs:
        raise BadInput(f"--limit {args.limit}: no host of {hosts} matches")
    return ",".join(specs)


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


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    arguments = [
        str(SUITES_DIR),
        f"--rootdir={SUITES_DIR}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--tb=no",
        "-rN",
        "--assert=plain",  # checks state findings with checks.fail(); no assertion rewriting needed
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
    if args.parallel and args.parallel > 1:
        arguments += ["-p", "xdist.plugin", f"--numprocesses={args.parallel}", "--dist=loadgroup"]
    return arguments


def run_audit(args: argparse.Namespace) -> int:
    try:
        arguments = pytest_arguments(args)
    except BadInput as error:
        print(f"bulkhead: {error}", file=sys.stderr)
        return EXIT_ERROR
    for option in ("waivers", "config", "inventory"):
        path = getattr(args, option)
        if path and not Path(path).is_file():
            print(f"bulkhead: --{option} {path}: no such file", file=sys.stderr)
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
    interactive = sys.stderr.isatty() and not args.no_progress
    session = Progress(sys.stderr if interactive else None)
    captured = io.StringIO()
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # xdist workers inherit it too
    try:
        with contextlib.redirect_stdout(captured):
            code = pytest.main(arguments, plugins=[session])
    finally:
        if autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    if session.book is None or code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        sys.stderr.write(captured.getvalue())
        print("bulkhead: the audit did not run (see the messages above)", file=sys.stderr)
        return EXIT_ERROR
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or not session.book.hosts:
        print("bulkhead: no control was audited", file=sys.stderr)
        return EXIT_ERROR
    catalogue = session.catalogue or load_catalogue()
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
