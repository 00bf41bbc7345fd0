"""The audit history: one directory per audit run, the last N kept, readable by root only.

Layout::

    DIR/                        0700
      20261130T031500Z/         0700, one run: the time it started (UTC)
        audit.xml audit.json audit.html summary.json     0600 each

``summary.json`` holds what listing and the trend view need (counts per run and per host), so
they never parse the full reports. There is no separate index: the list of runs is the list of
entry directories, and an entry only appears under its name once it is complete. A run is written
into ``DIR/.partial-NAME-XXXX`` and renamed into place as its last step, so a run that dies half
way leaves a ``.partial-*`` directory that nothing lists (and that the next run removes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_KEEP = 30
ENTRY_FILES = {"junit": "audit.xml", "json": "audit.json", "html": "audit.html"}
SUMMARY_FILE = "summary.json"
_ENTRY_NAME = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
_PARTIAL_PREFIX = ".partial-"
_STALE_PARTIAL_SECONDS = 3600


class HistoryError(Exception):
    """A history directory or entry that cannot be used (missing, empty, unreadable)."""


def entry_name(started: datetime) -> str:
    return started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def entry_time(name: str) -> datetime:
    match = _ENTRY_NAME.match(name)
    if not match:
        raise HistoryError(f"{name!r} is not a history entry name (like 20261130T031500Z)")
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _sort_key(name: str) -> tuple[str, int]:
    match = _ENTRY_NAME.match(name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


def summarise(document: dict[str, Any], name: str, exit_code: int | None) -> dict[str, Any]:
    """What ``bulkhead history`` and the trend view show of one run, from its JSON report."""
    hosts = document.get("hosts") or {}
    return {
        "name": name,
        "started": entry_time(name).isoformat(timespec="seconds"),
        "generated": document.get("generated"),
        "seconds": document.get("seconds"),
        "exit_code": exit_code,
        "counts": dict(document.get("summary") or {}),
        "hosts": {host: dict(entry.get("summary") or {}) for host, entry in hosts.items()},
    }


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path

    def file(self, kind: str) -> Path:
        return self.path / ENTRY_FILES[kind]

    def summary(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise HistoryError(f"history entry {self.name}: unreadable {SUMMARY_FILE}: {error}") from error

    def report(self) -> dict[str, Any]:
        try:
            document = json.loads(self.file("json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise HistoryError(f"history entry {self.name}: unreadable audit.json: {error}") from error
        if not isinstance(document, dict) or not isinstance(document.get("hosts"), dict):
            raise HistoryError(f"history entry {self.name}: audit.json is not a bulkhead JSON report")
        return document


class History:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def entries(self) -> list[Entry]:
        """Complete runs, oldest first. A missing directory is an error; an empty one is not."""
        if not self.directory.is_dir():
            raise HistoryError(f"history {self.directory}: no such directory")
        names = [
            path.name
            for path in self.directory.iterdir()
            if _ENTRY_NAME.match(path.name) and (path / SUMMARY_FILE).is_file()
        ]
        return [Entry(name, self.directory / name) for name in sorted(names, key=_sort_key)]

    def entry(self, name: str) -> Entry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        raise HistoryError(f"history {self.directory}: no run named {name}")

    def summaries(self) -> list[dict[str, Any]]:
        return [entry.summary() for entry in self.entries()]

    def readable_summaries(self) -> list[dict[str, Any]]:
        """The summaries that can be read, oldest first; none when the directory does not exist yet."""
        if not self.directory.is_dir():
            return []
        readable = []
        for entry in self.entries():
            try:
                readable.append(entry.summary())
            except HistoryError:
                continue
        return readable

    def prepare(self) -> None:
        """Creates the directory (0700), or narrows an existing one that holds nothing but runs.

        A directory someone else owns, or a wider one with other files in it (``--history /tmp``),
        is refused rather than narrowed: it is not ours to change, and others could swap runs in it.
        """
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        status = self.directory.lstat()
        if not stat.S_ISDIR(status.st_mode):
            raise HistoryError(f"history {self.directory}: not a directory")
        if status.st_uid != os.geteuid():
            raise HistoryError(f"history {self.directory}: owned by uid {status.st_uid}, not by this user")
        if stat.S_IMODE(status.st_mode) & 0o077:
            foreign = [
                path.name
                for path in self.directory.iterdir()
                if not (_ENTRY_NAME.match(path.name) or path.name.startswith(_PARTIAL_PREFIX) or path.name == ".lock")
            ]
            if foreign:
                raise HistoryError(
                    f"history {self.directory}: readable by others and holds other files ({foreign[0]}, ...); "
                    "give the history a directory of its own"
                )
            os.chmod(self.directory, 0o700)

    def next_name(self, started: datetime) -> str:
        """The name a run started then would get: its start time, with -1, -2... when that is taken."""
        base = entry_name(started)
        name, number = base, 0
        while (self.directory / name).exists():
            number += 1
            name = f"{base}-{number}"
        return name

    def add(self, started: datetime, files: dict[str, str], summary: dict[str, Any], keep: int) -> Entry:
        """Write one run (``files``: kind -> text, see ENTRY_FILES) and prune to the last ``keep``.

        ``summary`` gets the entry's name. The entry appears complete or not at all.
        """
        if keep < 1:
            raise HistoryError(f"keep must be at least 1, not {keep}")
        self.prepare()
        self._remove_stale_partials()
        name = self.next_name(started)
        partial = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL_PREFIX}{name}-", dir=self.directory))
        try:
            os.chmod(partial, 0o700)
            for kind, text in files.items():
                _write_private(partial / ENTRY_FILES[kind], text)
            # The summary goes last: an entry without one is never listed.
            _write_private(partial / SUMMARY_FILE, json.dumps(summary | {"name": name}, indent=2) + "\n")
            os.rename(partial, self.directory / name)
            _fsync_directory(self.directory)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        self.prune(keep)
        return Entry(name, self.directory / name)

    def prune(self, keep: int) -> list[str]:
        """Remove all but the newest ``keep`` runs (at least one: the newest is never removed)."""
        entries = self.entries()
        doomed = entries[: max(0, len(entries) - max(1, keep))]
        for entry in doomed:
            shutil.rmtree(entry.path)
        return [entry.name for entry in doomed]

    def _remove_stale_partials(self) -> None:
        """Directories left by runs that died half way (a running one is younger than an hour)."""
        now = time.time()
        for path in self.directory.glob(f"{_PARTIAL_PREFIX}*"):
            if now - path.stat().st_mtime > _STALE_PARTIAL_SECONDS:
                shutil.rmtree(path, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(path, 0o600)  # whatever the umask


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def since(history: History, when: str, now: datetime | None = None) -> Entry:
    """The oldest run that started at or after ``when``: an entry name, a UTC time written like one
    (``20261130``, ``20261130T03``), or an age (``90m``, ``24h``, ``7d``)."""
    now = now or datetime.now(UTC)
    for entry in history.entries():
        if entry.name == when:
            return entry
    duration = _DURATION.match(when)
    if duration:
        moment = now.timestamp() - int(duration.group(1)) * _UNIT_SECONDS[duration.group(2)]
        threshold = datetime.fromtimestamp(moment, UTC)
    else:
        digits = when.removesuffix("Z").replace("T", "")
        if not digits.isdigit() or len(digits) not in (8, 10, 12, 14):
            raise HistoryError(f"--since {when}: give a run name, a UTC time like 20261130T03, or an age like 24h")
        padded = digits.ljust(14, "0")
        threshold = datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    for entry in history.entries():
        if entry_time(entry.name) >= threshold:
            return entry
    raise HistoryError(f"history {history.directory}: no run since {when}")
