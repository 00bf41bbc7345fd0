"""``bulkhead``: run audits, list the control catalogue, compare two audit reports.

Exit codes of ``bulkhead audit``: 0 compliant (no failed control at or above ``--fail-on``),
1 findings at or above the threshold, 2 errors (a control could not be determined: engine
unreachable, fact unreadable) or bad input. Errors win over findings: an incomplete audit is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bulkhead import admin_access
from bulkhead.audit import EXIT_ERROR, run_audit
from bulkhead.catalogue import SEVERITIES, CatalogueError
from bulkhead.gate import commands as gate_commands
from bulkhead.report.compare import print_comparison
from bulkhead.report.controls_table import controls_markdown, controls_table


def _controls(args: argparse.Namespace) -> int:
    print(controls_markdown() if args.format == "markdown" else controls_table())
    return 0


def _compare(args: argparse.Namespace) -> int:
    print_comparison(Path(args.before), Path(args.after))
    return 0


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
    audit.set_defaults(run=run_audit)

    controls = commands.add_parser("controls", help="list the control catalogue")
    controls.add_argument("--format", choices=("table", "markdown"), default="table")
    controls.set_defaults(run=_controls)

    compare = commands.add_parser("compare", help="compare two JSON audit reports (before, after)")
    compare.add_argument("before")
    compare.add_argument("after")
    compare.set_defaults(run=_compare)

    admin_access.register(commands)
    gate_commands.add_arguments(commands)
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
