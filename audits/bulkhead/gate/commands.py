"""What ``bulkhead gate serve | check-policy | log`` and ``bulkhead-gate`` do (cli.py parses)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bulkhead.catalogue import CatalogueError
from bulkhead.gate.engine import DOCKER_SOCKET, EngineContainers, EngineImages, EngineVolumes
from bulkhead.gate.host_context import detect, gate_context, image_facts
from bulkhead.gate.log import LOG_FILE, DecisionLog, print_log
from bulkhead.gate.policy import PolicyError, load_policy
from bulkhead.gate.recorder import Recorder
from bulkhead.gate.server import BREAK_GLASS, Gate, serve

POLICY_FILE = Path("/etc/bulkhead/gate-policy.yml")
EXIT_BAD_INPUT = 2


def add_arguments(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    gate = commands.add_parser("gate", help="the Docker admission gate (authorization plugin)")
    actions = gate.add_subparsers(dest="gate_command", required=True)

    serving = actions.add_parser("serve", help="run the authorization plugin")
    add_serve_arguments(serving)
    serving.set_defaults(run=run_serve)

    check = actions.add_parser("check-policy", help="validate a policy file (exit 2 with one line if malformed)")
    check.add_argument("policy", type=Path)
    check.set_defaults(run=run_check_policy)

    log = actions.add_parser("log", help="print the decision log")
    log.add_argument("--file", type=Path, default=LOG_FILE, help=f"decision log file (default {LOG_FILE})")
    log.add_argument("--json", action="store_true", help="one JSON object per line, as logged")
    log.add_argument("--refused", action="store_true", help="refusals only")
    log.set_defaults(run=run_log)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, default=POLICY_FILE, help=f"policy file (default {POLICY_FILE})")
    parser.add_argument("--socket", type=Path, help="listen here when not socket-activated by systemd")
    parser.add_argument("--log-file", type=Path, default=LOG_FILE, help=f"decision log (default {LOG_FILE})")
    parser.add_argument("--no-syslog", action="store_true", help="log to the file only, not to /dev/log")
    parser.add_argument("--break-glass", type=Path, default=BREAK_GLASS, help=f"break-glass file ({BREAK_GLASS})")
    parser.add_argument(
        "--engine-socket", default=DOCKER_SOCKET, help="the engine's API socket, to read images' USER and HEALTHCHECK"
    )
    parser.add_argument("--record", type=Path, metavar="DIR", help="also save every judged request into DIR")


def run_serve(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except (PolicyError, CatalogueError) as error:
        print(f"bulkhead-gate: policy refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = EngineImages(args.engine_socket)
    gate = Gate(
        policy,
        gate_context(
            policy.context,
            policy.approved_registries,
            detect(),
            policy.images,
            containers=EngineContainers(engine),
            volumes=EngineVolumes(engine),
        ),
        DecisionLog(args.log_file, None if args.no_syslog else "/dev/log"),
        break_glass=args.break_glass,
        image_configs=engine,
        record=Recorder(args.record) if args.record else None,
        container_mounts=engine.mounts,
        image_context=image_facts(policy.images, policy.sbom_dir).apply,
    )
    return serve(gate, args.socket)


def run_check_policy(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except (PolicyError, CatalogueError) as error:
        print(f"bulkhead gate check-policy: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    modes = {
        mode: sum(1 for value in policy.controls.values() if value == mode) for mode in ("enforce", "audit", "off")
    }
    print(
        f"{args.policy}: valid: default {policy.default}, "
        + ", ".join(f"{count} {mode}" for mode, count in modes.items())
        + f", {len(policy.exceptions)} exception(s)"
    )
    return 0


def run_log(args: argparse.Namespace) -> int:
    return print_log(args.file, args.json, args.refused)


def main_serve(argv: Sequence[str] | None = None) -> int:
    """The ``bulkhead-gate`` console script: ``bulkhead gate serve`` on its own.

    ``--check-policy`` validates ``--policy`` and exits (as ``bulkhead gate check-policy``): the
    role and the unit validate with this script alone, which needs PyYAML only, not the audit's
    pytest and testinfra.
    """
    parser = argparse.ArgumentParser(prog="bulkhead-gate", description="Bulkhead's Docker authorization plugin")
    add_serve_arguments(parser)
    parser.add_argument(
        "--check-policy", action="store_true", help="validate the --policy file and exit (2 with one line if malformed)"
    )
    args = parser.parse_args(argv)
    return run_check_policy(args) if args.check_policy else run_serve(args)
