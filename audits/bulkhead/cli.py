"""``bulkhead``: run audits, list the control catalogue, compare two audit reports.

Exit codes of ``bulkhead audit``: 0 compliant (no failed control at or above ``--fail-on``),
1 findings at or above the threshold, 2 errors (a control could not be determined: engine
unreachable, fact unreadable) or bad input. Errors win over findings: an incomplete audit is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pytest

from bulkhead import admin_access
from bulkhead.catalogue import SEVERITIES, Catalogue, CatalogueError, load_catalogue
from bulkhead.results import ControlResult, Outcome, ResultBook

SUITES_DIR = Path(__file__).parent / "suites"

EXIT_COMPLIANT = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

FORMATS = ("junit", "json", "html")
_SUFFIX = {"junit": "xml", "json": "json", "html": "html"}
_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED, Outcome.PASS, Outcome.NOT_APPLICABLE)
_COLOURS = {
    Outcome.FAIL: "\033[1;31m",
    Outcome.ERROR: "\033[1;35m",
    Outcome.WAIVED: "\033[33m",
    Outcome.PASS: "\033[32m",
    Outcome.NOT_APPLICABLE: "\033[2m",
}


class BadInput(Exception):
    """An option or file the audit cannot work with (exit code 2 before anything runs)."""


class _Session:
    """Registered as a pytest plugin: keeps the result book and draws progress on a terminal."""

    def __init__(self, progress: TextIO | None) -> None:
        self.book: ResultBook | None = None
        self.catalogue: Catalogue | None = None
        self.notes: list[str] = []
        self.progress = progress
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        if self.progress is not None:
            self.progress.write(f"\r  {self.total} checks to run; collecting the hosts' state...")
            self.progress.flush()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.progress is None or not (report.when == "call" or (report.when == "setup" and report.failed)):
            return
        self.done += 1
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        self.progress.write(
            "\r" + " " * 78 + f"\r  auditing [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} checks"
            f"  {time.monotonic() - self.started:5.1f} s"
        )
        self.progress.flush()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from bulkhead.pytest_plugin import catalogue_of, result_book, waiver_notes

        self.book = result_book(session.config)
        self.catalogue = catalogue_of(session.config)
        self.notes = waiver_notes(session.config)
        if self.progress is not None:
            self.progress.write("\r" + " " * 78 + "\r")
            self.progress.flush()


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


def _audit(args: argparse.Namespace) -> int:
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
    interactive = sys.stderr.isatty() and not args.no_progress
    session = _Session(sys.stderr if interactive else None)
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
    return exit_code(session.book, catalogue, args.fail_on)


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


def _paint(text: str, outcome: Outcome, colour: bool) -> str:
    return f"{_COLOURS[outcome]}{text}\033[0m" if colour else text


def _sorted(by_control: dict[str, ControlResult]) -> list[ControlResult]:
    return sorted(by_control.values(), key=lambda result: _ORDER.index(result.outcome))


def print_summary(
    book: ResultBook, catalogue: Catalogue | None = None, *, colour: bool = False, verbose: bool = False
) -> None:
    """Per host: every control (failures first) with its reason, then a table of counts."""
    catalogue = catalogue or load_catalogue()
    for host, by_control in book.hosts.items():
        print(f"\n{host}")
        for result in _sorted(by_control):
            control = catalogue[result.control_id]
            label = _paint(f"{result.outcome.value.upper():<15}", result.outcome, colour)
            print(f"  {label} {result.control_id:<8} {control.severity:<8} {control.title}")
            if result.outcome is Outcome.PASS:
                continue
            lines = result.details if verbose else ([result.summary] if result.summary else [])
            if not verbose and result.notes:
                lines += result.notes
            for line in lines:
                print(f"  {'':<15} {'':<8} -> {line}")
    print("\nsummary")
    header = f"  {'host':<40} " + " ".join(f"{outcome.value:>14}" for outcome in _ORDER)
    print(header)
    for host, by_control in book.hosts.items():
        counts = dict.fromkeys(_ORDER, 0)
        for result in by_control.values():
            counts[result.outcome] += 1
        print(f"  {host:<40} " + " ".join(f"{counts[outcome]:>14}" for outcome in _ORDER))
    if len(book.hosts) > 1:
        totals = book.counts()
        print(f"  {'total':<40} " + " ".join(f"{totals[outcome]:>14}" for outcome in _ORDER))


def _controls(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.format == "markdown":
        print(controls_markdown())
        return 0
    for control in catalogue:
        print(f"{control.id:<10} {control.severity:<9} {control.remediation:<32} {control.title}")
    return 0


def controls_markdown() -> str:
    lines = [
        "| ID | Title | Severity | Level | Remediation variable | References |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for control in load_catalogue():
        remediation = "audit only" if control.is_audit_only else f"`{control.remediation}`"
        lines.append(
            f"| {control.id} | {control.title} | {control.severity} | {control.level} | "
            f"{remediation} | {control.references_text()} |"
        )
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> int:
    before = _outcomes(Path(args.before))
    after = _outcomes(Path(args.after))
    order = {control.id: index for index, control in enumerate(load_catalogue())}
    current_host = None
    fixed = regressed = 0
    for host, control_id in sorted(before.keys() | after.keys(), key=lambda key: (key[0], order.get(key[1], 1e9))):
        if host != current_host:
            current_host = host
            print(f"{host}\n  {'control':<10} {'before':<15} {'after':<15} title")
        old, new = before.get((host, control_id), ("-", "")), after.get((host, control_id), ("-", ""))
        marker = ""
        if old[0] in ("fail", "error") and new[0] == "pass":
            marker, fixed = "  fixed", fixed + 1
        elif old[0] == "pass" and new[0] in ("fail", "error"):
            marker, regressed = "  REGRESSED", regressed + 1
        print(f"  {control_id:<10} {old[0]:<15} {new[0]:<15} {new[1] or old[1]}{marker}")
    for label, outcomes in (("before", before), ("after", after)):
        counts = Counter(outcome for outcome, _title in outcomes.values())
        print(f"{label:<7} " + ", ".join(f"{counts[outcome.value]} {outcome.value}" for outcome in Outcome))
    print(f"{fixed} control(s) fixed, {regressed} regressed")
    return 0


def _outcomes(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        (host, control["id"]): (control["outcome"], control["title"])
        for host, entry in document["hosts"].items()
        for control in entry["controls"]
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bulkhead", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    audit = commands.add_parser(
        "audit",
        help="audit hosts against the control catalogue",
        description="Exit codes: 0 compliant, 1 failed controls at or above --fail-on, 2 errors or bad input.",
    )
    targets = audit.add_argument_group("targets")
    targets.add_argument(
        "--hosts",
        help="testinfra host specs, comma-separated: local://, docker://NAME, ssh://USER@HOST, ansible://GROUP "
        "(default: local://, or ansible://all with --inventory)",
    )
    targets.add_argument("--inventory", help="Ansible inventory for ansible:// hosts (the playbooks' inventories)")
    targets.add_argument("--limit", help="only inventory hosts matching this Ansible pattern")
    targets.add_argument("--connection", help="testinfra connection backend (ssh, docker, ansible, ...)")
    targets.add_argument("--sudo", action="store_true", help="run the collector with sudo")
    targets.add_argument("-n", "--parallel", type=int, default=1, help="audit this many hosts at once (pytest-xdist)")
    selection = audit.add_argument_group("what to audit")
    selection.add_argument("--controls", help="only these control IDs, comma-separated")
    selection.add_argument("--sections", help="only these catalogue sections, comma-separated (e.g. 4,5)")
    selection.add_argument("--exclude-controls", help="skip these control IDs, comma-separated")
    selection.add_argument("--exclude-sections", help="skip these sections, comma-separated")
    selection.add_argument("--config", help="audit settings file (YAML): thresholds, allowlists")
    selection.add_argument("--waivers", help="waivers file (YAML): accepted findings with justification and expiry")
    selection.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default=SEVERITIES[0],
        help="lowest severity of a failed control that makes the exit code 1 (default: low, i.e. any)",
    )
    reports = audit.add_argument_group("reports")
    reports.add_argument("--junit", help="write a JUnit compliance report here")
    reports.add_argument("--json", help="write a JSON compliance report here")
    reports.add_argument("--html", help="write a self-contained HTML compliance report here")
    reports.add_argument("--reports", metavar="DIR", help="write audit.xml, audit.json and audit.html into DIR")
    reports.add_argument("--formats", help="with --reports: which of junit,json,html (default: all)")
    output = audit.add_argument_group("output")
    output.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    output.add_argument("-v", "--verbose", action="store_true", help="list every finding, not the first of each")
    audit.set_defaults(run=_audit)

    controls = commands.add_parser("controls", help="list the control catalogue")
    controls.add_argument("--format", choices=("table", "markdown"), default="table")
    controls.set_defaults(run=_controls)

    compare = commands.add_parser("compare", help="compare two JSON audit reports (before, after)")
    compare.add_argument("before")
    compare.add_argument("after")
    compare.set_defaults(run=_compare)

    admin_access.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CatalogueError as error:
        print(f"bulkhead: control catalogue: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
