"""``bulkhead``: run audits, list the control catalogue, compare two audit reports.

Exit codes of ``bulkhead audit``: 0 compliant, 1 findings, 2 errors (a control could not be
determined) or bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from bulkhead import admin_access
from bulkhead.catalogue import CatalogueError, load_catalogue
from bulkhead.results import Outcome, ResultBook

SUITES_DIR = Path(__file__).parent / "suites"

EXIT_COMPLIANT = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class _BookCapture:
    def __init__(self) -> None:
        self.book: ResultBook | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from bulkhead.pytest_plugin import result_book

        self.book = result_book(session.config)


def _audit(args: argparse.Namespace) -> int:
    pytest_args = [
        str(SUITES_DIR),
        f"--rootdir={SUITES_DIR}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--tb=no",
        "-rN",
        f"--hosts={args.hosts}",
    ]
    if args.inventory:
        pytest_args.append(f"--ansible-inventory={args.inventory}")
    if args.connection:
        pytest_args.append(f"--connection={args.connection}")
    if args.sudo:
        pytest_args.append("--sudo")
    if args.junit:
        pytest_args.append(f"--bulkhead-junit={args.junit}")
    if args.json:
        pytest_args.append(f"--bulkhead-json={args.json}")
    if args.config:
        pytest_args.append(f"--bulkhead-config={args.config}")
    if args.controls:
        pytest_args.append(f"--bulkhead-controls={args.controls}")
    capture = _BookCapture()
    code = pytest.main(pytest_args, plugins=[capture])
    if capture.book is None or code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        print("bulkhead: the audit did not run (see the messages above)", file=sys.stderr)
        return EXIT_ERROR
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or not capture.book.hosts:
        print("bulkhead: no control was audited", file=sys.stderr)
        return EXIT_ERROR
    print_summary(capture.book)
    counts = capture.book.counts()
    if counts[Outcome.FAIL]:
        return EXIT_FINDINGS
    if counts[Outcome.ERROR]:
        return EXIT_ERROR
    return EXIT_COMPLIANT


def print_summary(book: ResultBook) -> None:
    catalogue = load_catalogue()
    for host, by_control in book.hosts.items():
        print(f"\n{host}")
        for result in by_control.values():
            title = catalogue[result.control_id].title
            line = f"  {result.outcome.value.upper():<15} {result.control_id:<8} {title}"
            if result.outcome is not Outcome.PASS and result.summary:
                line += f"\n  {'':<15} {'':<8} -> {result.summary}"
            print(line)
        counts = {outcome: 0 for outcome in Outcome}
        for result in by_control.values():
            counts[result.outcome] += 1
        print("  " + ", ".join(f"{count} {outcome.value}" for outcome, count in counts.items() if count))


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
    current_host = None
    for host, control_id in sorted(before.keys() | after.keys()):
        if host != current_host:
            current_host = host
            print(f"{host}\n  {'control':<10} {'before':<15} {'after':<15} title")
        old, new = before.get((host, control_id), ("-", "")), after.get((host, control_id), ("-", ""))
        marker = "  fixed" if old[0] == "fail" and new[0] == "pass" else ""
        print(f"  {control_id:<10} {old[0]:<15} {new[0]:<15} {new[1] or old[1]}{marker}")
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

    audit = commands.add_parser("audit", help="audit hosts against the control catalogue")
    audit.add_argument("--hosts", default="local://", help="testinfra host specs, comma-separated")
    audit.add_argument("--inventory", help="Ansible inventory for ansible:// hosts")
    audit.add_argument("--connection", help="testinfra connection backend (ssh, docker, ansible, ...)")
    audit.add_argument("--sudo", action="store_true", help="run the collector with sudo")
    audit.add_argument("--controls", help="only these control IDs, comma-separated")
    audit.add_argument("--config", help="audit settings file (YAML): approved registries, allowlists")
    audit.add_argument("--junit", help="write a JUnit compliance report here")
    audit.add_argument("--json", help="write a JSON compliance report here")
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
