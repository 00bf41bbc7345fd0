"""``bulkhead``: run audits, list the control catalogue, compare two audit reports.

Exit codes of ``bulkhead audit``: 0 compliant (no failed control at or above ``--fail-on``),
1 findings at or above the threshold, 2 errors (a control could not be determined: engine
unreachable, fact unreadable) or bad input. Errors win over findings: an incomplete audit is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bulkhead import __version__
from bulkhead.audit import EXIT_ERROR, run_audit
from bulkhead.catalogue import SEVERITIES, CatalogueError
from bulkhead.fleet import DEFAULT_HOST_TIMEOUT, DEFAULT_PARALLEL
from bulkhead.history import DEFAULT_KEEP
from bulkhead.report.files import ReportWriteError


def _controls(args: argparse.Namespace) -> int:
    from bulkhead.report.controls_table import controls_markdown, controls_table

    print(controls_markdown() if args.format == "markdown" else controls_table())
    return 0


def _scheduled(args: argparse.Namespace) -> int:
    from bulkhead.scheduled import run_scheduled

    return run_scheduled(args.schedule, args.log, args.verbose)


def _at_least_one(kind: type[int] | type[float]):
    """An argparse type: a number of at least 1 (a bound of 0 hosts or 0 seconds audits nothing)."""

    def parse(text: str) -> int | float:
        value = kind(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected at least 1, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


class _Parser(argparse.ArgumentParser):
    """Bad usage is one line and exit code 2, like every other bad input (subcommands inherit it)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``command="audit"``, that subcommand's only: an audit does not pay for
    importing the other subcommands' modules (the admission gate's alone cost 30 ms of start-up)."""
    parser = _Parser(prog="bulkhead", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"bulkhead {__version__}")
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
    targets.add_argument(
        "-n",
        "--parallel",
        type=_at_least_one(int),
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"collect the state of at most N hosts at once (default {DEFAULT_PARALLEL}); one process judges them all",
    )
    targets.add_argument(
        "--host-timeout",
        type=_at_least_one(float),
        default=DEFAULT_HOST_TIMEOUT,
        metavar="SECONDS",
        help="a host whose state collection takes longer is an error for that host only "
        f"(default {DEFAULT_HOST_TIMEOUT:g})",
    )
    targets.add_argument("--ssh-config", metavar="FILE", help="ssh client configuration for ssh:// hosts")
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
    reports.add_argument(
        "--history",
        metavar="DIR",
        help="also record the run in this history directory (DIR/<UTC time>/audit.{xml,json,html}, root-only); "
        "its HTML gains a trend over the history",
    )
    reports.add_argument(
        "--keep", type=int, metavar="N", help=f"with --history: keep the last N runs (default {DEFAULT_KEEP})"
    )
    output = audit.add_argument_group("output")
    output.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    output.add_argument("-v", "--verbose", action="store_true", help="list every finding, not the first of each")
    audit.set_defaults(run=run_audit)
    if command == "audit":
        return parser
    # The other subcommands' modules, imported only when they may be asked for.
    from bulkhead import admin_access, sbom, scanners
    from bulkhead.gate import commands as gate_commands
    from bulkhead.report.compare import run_compare
    from bulkhead.report.history_list import run_history

    controls = commands.add_parser("controls", help="list the control catalogue")
    controls.add_argument("--format", choices=("table", "markdown"), default="table")
    controls.set_defaults(run=_controls)

    compare = commands.add_parser(
        "compare",
        help="drift between two JSON audit reports, or two runs of a history",
        description="Exit codes: 0 no new failures, 1 new failures or new errors, 2 bad input.",
    )
    compare.add_argument(
        "runs",
        nargs="*",
        metavar="REPORT|RUN",
        help="two JSON reports (BEFORE AFTER); with --history: none (latest vs previous), "
        "one run (it vs latest) or two runs",
    )
    compare.add_argument("--history", metavar="DIR", help="compare runs of this history directory")
    compare.add_argument(
        "--since", metavar="WHEN", help="with --history: the oldest run since WHEN (a run name, 20261130T03, 24h, 7d)"
    )
    shown = compare.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the drift as JSON (for a hook)")
    shown.add_argument("--summary", action="store_true", help="print the drift as one line (for a journal)")
    compare.add_argument("--table", action="store_true", help="with --history: also every control before and after")
    compare.set_defaults(run=run_compare)

    history = commands.add_parser(
        "history", help="list the runs of an audit history with their outcome counts and hosts"
    )
    history.add_argument("directory", metavar="DIR")
    history.add_argument("--json", action="store_true", help="print the runs' summaries as JSON")
    history.set_defaults(run=run_history)

    scheduled = commands.add_parser(
        "scheduled-audit",
        help="what a timer runs: one audit into a history, drift, one syslog line, a hook on new failures",
        description="Exit codes: 0 recorded (compliant or findings), 2 bad schedule, audit not run or incomplete, "
        "3 crashed, 4 the hook failed, 5 the previous run still holds the history.",
    )
    scheduled.add_argument("schedule", metavar="SCHEDULE.yml", help="the schedule file (history, hosts, hook, ...)")
    scheduled.add_argument(
        "--log",
        choices=("auto", "syslog", "stderr"),
        default="auto",
        help="where the summary line goes (auto: /dev/log when present, else stderr)",
    )
    scheduled.add_argument("-v", "--verbose", action="store_true", help="also print the audit's own output")
    scheduled.set_defaults(run=_scheduled)

    admin_access.register(commands)
    sbom.add_arguments(commands)
    scanners.add_arguments(commands)
    gate_commands.add_arguments(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser("audit" if argv[:1] == ["audit"] else None).parse_args(argv)
    try:
        return args.run(args)
    except CatalogueError as error:
        print(f"bulkhead: control catalogue: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ReportWriteError as error:
        print(
            f"bulkhead: cannot write the report {error.filename}: {error.strerror}"
            " (a report already there, if any, is the previous one, unchanged)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
