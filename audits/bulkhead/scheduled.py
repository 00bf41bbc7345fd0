"""``bulkhead scheduled-audit SCHEDULE.yml``: what a timer runs. One audit into the history, drift
against the previous run, one line to syslog/the journal, and the hook when new failures appear.

The line's priority says how the run went: info compliant, warning findings (or new failures
below ``fail_on``), err an incomplete audit, a run that could not start, a crash or a failed hook.

Exit codes (a systemd unit fails on anything but 0, so a broken run is never silent):
0 recorded, compliant or with findings; 2 bad schedule file, the audit could not run, or it could
not determine some control (recorded all the same); 3 crashed; 4 the hook failed; 5 the previous
run still holds the history's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from bulkhead.history import Entry, History, HistoryError
from bulkhead.report.drift import compute_drift, drift_json, drift_line, has_new_failures
from bulkhead.results import Outcome
from bulkhead.schedule_config import Schedule, ScheduleError, load_schedule

EXIT_RECORDED = 0
EXIT_INCOMPLETE = 2
EXIT_CRASHED = 3
EXIT_HOOK_FAILED = 4
EXIT_LOCKED = 5

# syslog(3) priorities; the facility is daemon (3): PRI = 3 * 8 + severity.
ERR, WARNING, INFO = 3, 4, 6
_FACILITY_DAEMON = 3
_LABELS = {ERR: "error", WARNING: "warning", INFO: "info"}
IDENTIFIER = "bulkhead"
DEV_LOG = "/dev/log"


class SyslogLine:
    """Sends one line to syslog's socket (journald's, under systemd) or, without one, to stderr.

    On stderr the line starts with ``<N>``, which journald reads as the priority of a service's
    output; on a terminal it starts with the priority's name instead.
    """

    def __init__(self, mode: str = "auto", address: str = DEV_LOG, stream: TextIO | None = None) -> None:
        self.mode = mode
        self.address = address
        self.stream = stream

    def _stream(self) -> TextIO:
        return self.stream or sys.stderr

    def send(self, priority: int, message: str) -> str:
        """Returns where the line went: ``syslog`` or ``stderr``."""
        if self.mode != "stderr" and os.path.exists(self.address):
            datagram = f"<{_FACILITY_DAEMON * 8 + priority}>{IDENTIFIER}[{os.getpid()}]: {message}"
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as connection:
                    connection.connect(self.address)
                    connection.send(datagram.encode("utf-8", "replace")[:8192])
                if self._stream().isatty():  # run by hand: show it here too
                    self._stream().write(f"{_LABELS[priority]}: {IDENTIFIER}: {message}\n")
                return "syslog"
            except OSError:
                pass  # nobody listens: the line goes to stderr
        stream = self._stream()
        prefix = f"{_LABELS[priority]}: " if stream.isatty() else f"<{priority}>"
        stream.write(f"{prefix}{IDENTIFIER}: {message}\n")
        stream.flush()
        return "stderr"


@contextlib.contextmanager
def history_lock(directory: Path) -> Iterator[bool]:
    """True while this process holds the history's lock; False when another run holds it."""
    History(directory).prepare()
    handle = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(handle)


def run_hook(command: list[str], payload: str, timeout: float) -> str | None:
    """Runs the hook with the drift JSON on stdin; None when it went well, else why not."""
    try:
        completed = subprocess.run(command, input=payload, text=True, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return f"hook {command[0]}: no such command"
    except PermissionError:
        return f"hook {command[0]}: not executable"
    except subprocess.TimeoutExpired:
        return f"hook {command[0]}: still running after {timeout:g} s, stopped"
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        return f"hook {command[0]}: exit code {completed.returncode}" + (f": {detail[-1]}" if detail else "")
    return None


def _counts(summary: dict[str, Any]) -> str:
    counts = summary.get("counts") or {}
    return ", ".join(f"{counts.get(outcome.value, 0)} {outcome.value}" for outcome in Outcome)


AuditRunner = Callable[[Sequence[str]], int]


def _run_cli_audit(argv: Sequence[str]) -> int:
    from bulkhead.cli import main

    return main(list(argv))


def scheduled_audit(schedule: Schedule, log: SyslogLine, run: AuditRunner | None = None, quiet: bool = True) -> int:
    run = run or _run_cli_audit
    history = History(schedule.history)
    with history_lock(history.directory) as locked:
        if not locked:
            log.send(ERR, f"history {history.directory}: a previous run still holds its lock; this run skipped")
            return EXIT_LOCKED
        known = {entry.name for entry in history.entries()}
        output = io.StringIO()
        with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
            try:
                code = run(schedule.audit_argv())
            except SystemExit as stop:  # argparse refusing an option value from the schedule
                code = stop.code if isinstance(stop.code, int) else EXIT_INCOMPLETE
        fresh = [entry for entry in history.entries() if entry.name not in known]
        if not fresh:
            log.send(ERR, f"audit did not run (exit code {code}); nothing recorded in {history.directory}")
            return EXIT_INCOMPLETE
        entry = fresh[-1]
        previous = [entry_ for entry_ in history.entries() if entry_.name in known]
        return _report(schedule, log, entry, previous[-1] if previous else None, code)


def _report(schedule: Schedule, log: SyslogLine, entry: Entry, previous: Entry | None, code: int) -> int:
    summary = entry.summary()
    state = {0: "compliant", 1: "findings"}.get(code, "incomplete (controls could not be determined)")
    priority = {0: INFO, 1: WARNING}.get(code, ERR)
    line = f"audit {entry.name}: {state}: {_counts(summary)}"
    drift = None
    if previous is None:
        line += "; first run in this history"
    else:
        drift = compute_drift(previous.report(), entry.report(), previous.name, entry.name)
        line += "; " + drift_line(drift, with_counts=False)
        if has_new_failures(drift):
            priority = min(priority, WARNING)
    log.send(priority, line)
    result = EXIT_RECORDED if code in (0, 1) else EXIT_INCOMPLETE
    if drift is not None and has_new_failures(drift) and schedule.hook:
        failure = run_hook(schedule.hook, drift_json(drift), schedule.hook_timeout)
        if failure:
            log.send(ERR, f"audit {entry.name}: {failure}")
            return EXIT_HOOK_FAILED
    return result


def run_scheduled(schedule_path: str, log_mode: str = "auto", verbose: bool = False) -> int:
    """The command: every failure ends in one line on the log, and a crash in a non-zero exit."""
    log = SyslogLine(log_mode)
    try:
        schedule = load_schedule(Path(schedule_path))
    except ScheduleError as error:
        log.send(ERR, f"scheduled audit not started: schedule {error}")
        return EXIT_INCOMPLETE
    try:
        return scheduled_audit(schedule, log, quiet=not verbose)
    except HistoryError as error:
        log.send(ERR, f"scheduled audit failed: {error}")
        return EXIT_INCOMPLETE
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        log.send(ERR, f"scheduled audit crashed: {type(error).__name__}: {error}")
        return EXIT_CRASHED
