"""The schedule file of ``bulkhead scheduled-audit``: what a timer's run audits and where it goes.

```yaml
history: /var/lib/bulkhead/history   # required
keep: 30                             # runs kept
hosts: local://                      # or inventory (+ limit); testinfra specs, comma-separated
inventory: /etc/bulkhead/hosts.yml
limit: "web*"
connection: ssh
sudo: false
parallel: 4
controls: [5.4, 5.15]                # or sections, exclude_controls, exclude_sections
fail_on: high
waivers: /etc/bulkhead/waivers.yml
settings: /etc/bulkhead/audit-settings.yml    # the audit's --config file
hook: [/usr/local/bin/notify-ops, --channel, security]   # argv, no shell; drift JSON on stdin
hook_timeout: 60
```

Each key becomes the ``bulkhead audit`` option of the same name, so a schedule audits exactly what
that command line would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkhead.catalogue import SEVERITIES
from bulkhead.history import DEFAULT_KEEP
from bulkhead.yamlfile import read_yaml

_TEXT_OPTIONS = ("hosts", "inventory", "limit", "connection", "waivers", "settings")
_LIST_OPTIONS = ("controls", "sections", "exclude_controls", "exclude_sections")
KNOWN_KEYS = {
    "history",
    "keep",
    "sudo",
    "parallel",
    "fail_on",
    "hook",
    "hook_timeout",
    *_TEXT_OPTIONS,
    *_LIST_OPTIONS,
}


class ScheduleError(Exception):
    """A schedule file that cannot be used: the run does not start (exit code 2)."""


@dataclass
class Schedule:
    history: str
    keep: int = DEFAULT_KEEP
    audit_options: dict[str, Any] = field(default_factory=dict)
    hook: list[str] = field(default_factory=list)
    hook_timeout: float = 60.0

    def audit_argv(self) -> list[str]:
        """``bulkhead audit`` arguments for this schedule (history and keep included)."""
        argv = ["audit", "--no-progress", f"--history={self.history}", f"--keep={self.keep}"]
        for key, value in self.audit_options.items():
            flag = "--config" if key == "settings" else "--" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value not in (False, None):
                argv.append(f"{flag}={value}")
        return argv


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(f"{key}: expected a non-empty string, got {value!r}")
    return value


def _listed(key: str, value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(item, str | int | float) for item in value):
        return ",".join(str(item) for item in value)
    if isinstance(value, str | int | float) and str(value).strip():
        return str(value)
    raise ScheduleError(f"{key}: expected a list of IDs or a comma-separated string, got {value!r}")


def _positive(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScheduleError(f"{key}: expected a whole number of at least 1, got {value!r}")
    return value


def parse_schedule(document: Any) -> Schedule:
    if not isinstance(document, dict):
        raise ScheduleError("expected a mapping of settings (history, hosts, ...)")
    unknown = sorted(set(document) - KNOWN_KEYS)
    if unknown:
        raise ScheduleError(f"unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}")
    if "history" not in document:
        raise ScheduleError("history: required (the directory the runs go to)")
    schedule = Schedule(history=_text("history", document["history"]))
    if "keep" in document:
        schedule.keep = _positive("keep", document["keep"])
    options: dict[str, Any] = {}
    for key in _TEXT_OPTIONS:
        if key in document:
            options[key] = _text(key, document[key])
    for key in _LIST_OPTIONS:
        if key in document:
            options[key] = _listed(key, document[key])
    if "parallel" in document:
        options["parallel"] = _positive("parallel", document["parallel"])
    if "sudo" in document:
        if not isinstance(document["sudo"], bool):
            raise ScheduleError(f"sudo: expected true or false, got {document['sudo']!r}")
        options["sudo"] = document["sudo"]
    if "fail_on" in document:
        if document["fail_on"] not in SEVERITIES:
            raise ScheduleError(f"fail_on: one of {', '.join(SEVERITIES)}, not {document['fail_on']!r}")
        options["fail_on"] = document["fail_on"]
    schedule.audit_options = options
    if "hook" in document:
        hook = document["hook"]
        if not isinstance(hook, list) or not hook or not all(isinstance(item, str) and item for item in hook):
            raise ScheduleError(f"hook: expected a command as a list of strings (argv, no shell), got {hook!r}")
        schedule.hook = hook
    if "hook_timeout" in document:
        schedule.hook_timeout = _positive("hook_timeout", document["hook_timeout"])
    return schedule


def load_schedule(path: Path) -> Schedule:
    document = read_yaml(path, ScheduleError)
    try:
        return parse_schedule(document)
    except ScheduleError as error:
        raise ScheduleError(f"{path}: {error}") from None
