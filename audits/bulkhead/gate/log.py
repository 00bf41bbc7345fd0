"""The decision log: one JSON line per refusal, audit-mode finding, exception used or break-glass.

Each line goes to syslog (``/dev/log``: the journal where systemd runs) and to a root-only append
file that ``bulkhead gate log`` reads. Lines hold control IDs, the checks' reasons, the request's
method and path, the image and container name: never environment values (the gate drops them when
it reads the request).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bulkhead.gate.decide import Decision
from bulkhead.gate.policy import AUDIT, ENFORCE

LOG_FILE = Path("/var/log/bulkhead/gate.log")
SYSLOG_SOCKET = "/dev/log"
_SYSLOG_AUTHPRIV_NOTICE = 10 * 8 + 5
_SYSLOG_AUTHPRIV_WARNING = 10 * 8 + 4


def record(decision: Decision, now: datetime | None = None) -> dict[str, Any]:
    controls = []
    for result in decision.notable:
        entry: dict[str, Any] = {"control": result.control, "mode": result.mode, "reasons": result.lines()}
        if result.exception is not None:
            entry["outcome"] = "excepted"
            entry["exception"] = {
                "index": result.exception.index,
                "scope": result.exception.scope(),
                "justification": result.exception.justification,
                "expires": result.exception.expires.isoformat(),
            }
        elif result.mode == ENFORCE:
            entry["outcome"] = "allowed by break-glass" if decision.break_glass else "refused"
        else:
            entry["outcome"] = "audited" if result.mode == AUDIT else result.mode
        expired = [f"{item.label_text()} expired on {item.expires.isoformat()}" for item in result.expired_exceptions]
        if expired:
            entry["expired_exceptions"] = expired
        if result.excepted:
            entry["excepted"] = [f"{reason} [{item.label_text()}]" for reason, item in result.excepted]
        controls.append(entry)
    line: dict[str, Any] = {
        "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "decision": "allowed" if decision.allow else "refused",
        "method": decision.method,
        "path": decision.path,
        "kind": decision.kind,
        "container": decision.container,
        "image": decision.image,
        "controls": controls,
    }
    if decision.user:
        line["user"] = decision.user
    if decision.error:
        line["error"] = decision.error
    if decision.break_glass:
        line["break_glass"] = True
    return line


class DecisionLog:
    """Appends to ``path`` (mode 0600, its directory 0700) and sends to syslog when it is there."""

    def __init__(self, path: Path = LOG_FILE, syslog_socket: str | None = SYSLOG_SOCKET) -> None:
        self.path = path
        self.syslog_socket = syslog_socket
        self._lock = threading.Lock()

    def write(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        refused = line.get("decision") == "refused"
        self._syslog(text, _SYSLOG_AUTHPRIV_WARNING if refused else _SYSLOG_AUTHPRIV_NOTICE)

    def decision(self, decision: Decision) -> None:
        if decision.logged:
            self.write(record(decision))

    def event(self, what: str, **details: Any) -> None:
        """Gate events outside decisions: start, break-glass switched on or off."""
        self.write({"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": what, **details})

    def _syslog(self, text: str, priority: int) -> None:
        if not self.syslog_socket or not os.path.exists(self.syslog_socket):
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as connection:
                connection.connect(self.syslog_socket)
                connection.send(f"<{priority}>bulkhead-gate: {text}".encode())
        except OSError:
            pass  # the file holds every line; syslog is a copy


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash


def summary(line: dict[str, Any]) -> str:
    """One readable line: ``TIME refused create container debug: 5.4 [refused] runs --privileged``."""
    if "event" in line:
        details = " ".join(f"{key}={value}" for key, value in line.items() if key not in ("time", "event"))
        return f"{line['time']} {line['event']} {details}".rstrip()
    what = f"image {line.get('image')}" if line.get("kind") == "pull" else f"container {line.get('container') or '?'}"
    parts = []
    for control in line.get("controls") or []:
        used = control.get("exception")
        extra = f" by exception #{used['index']} until {used['expires']}: {used['justification']}" if used else ""
        parts.append(f"{control['control']} [{control['outcome']}{extra}] {'; '.join(control['reasons'])}")
    if line.get("error"):
        parts.append(line["error"])
    return f"{line['time']} {line['decision']} {line.get('kind') or line.get('path')} {what}: {' | '.join(parts)}"


def print_log(path: Path, as_json: bool, refused_only: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        lines = list(read_log(path))
    except FileNotFoundError:
        print(f"bulkhead gate log: {path}: no decisions logged yet", file=sys.stderr)
        return 0
    except OSError as error:
        print(f"bulkhead gate log: {path}: {error.strerror}", file=sys.stderr)
        return 2
    for line in lines:
        if refused_only and line.get("decision") != "refused":
            continue
        print(json.dumps(line, sort_keys=True) if as_json else summary(line), file=out)
    return 0
