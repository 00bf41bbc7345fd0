"""Audit rules as text (rules.d files, ``auditctl -l``) turned into comparable facts.

The checks ask "is this path watched?", "is this client's execution recorded?", "is what the
files say loaded in the kernel?"; they must not care whether a rule was written ``-k key`` or
``-F key=key``, ``auid!=unset`` or ``auid!=-1``, or which file it came from.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_UNSET_AUID = {"unset", "-1", "4294967295"}


@dataclass(frozen=True)
class AuditRule:
    kind: str  # "watch" or "syscall"
    path: str | None  # the watched path, or the rule's path=/dir= field
    permissions: str  # r, w, x, a letters ("" when the rule has none)
    key: str | None
    syscalls: frozenset[str] = field(default_factory=frozenset)
    fields: tuple[str, ...] = ()
    source: str = ""

    @property
    def logged_in_only(self) -> bool:
        """The rule records only processes of users who logged in (auid set)."""
        return any(f.startswith("auid!=") and f.split("!=", 1)[1] in _UNSET_AUID for f in self.fields)

    def signature(self) -> tuple[str, str | None, str | None]:
        """What must match between a rules file and the loaded rules."""
        return (self.kind, self.path, self.key)


def parse_rules(text: str, source: str = "") -> list[AuditRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        rule = _parse_tokens(tokens, source)
        if rule is not None:
            rules.append(rule)
    return rules


def _parse_tokens(tokens: list[str], source: str) -> AuditRule | None:
    if not tokens or tokens[0] not in ("-w", "-a", "-A"):
        return None  # control lines (-D, -b, -e ...) are not rules
    options = list(zip(tokens[0::2], tokens[1::2], strict=False))
    key = None
    path = None
    permissions = ""
    syscalls: set[str] = set()
    fields: list[str] = []
    for option, value in options:
        if option == "-w":
            path = value
        elif option == "-p":
            permissions = value
        elif option == "-k":
            key = value
        elif option == "-S":
            syscalls.update(value.split(","))
        elif option == "-F":
            fields.append(value)
            name, _, field_value = value.partition("=")
            if name == "key":
                key = field_value
            elif name in ("path", "dir"):
                path = field_value
            elif name == "perm":
                permissions = field_value
    kind = "watch" if tokens[0] == "-w" else "syscall"
    return AuditRule(kind, path, permissions, key, frozenset(syscalls), tuple(fields), source)


def configured_rules(files: Mapping[str, str], merged: str | None) -> list[AuditRule]:
    """The rules the host loads at boot: /etc/audit/rules.d when it has files, else audit.rules."""
    if files:
        return [rule for path, text in sorted(files.items()) for rule in parse_rules(text, path)]
    return parse_rules(merged or "", "/etc/audit/audit.rules")


def rules_for_path(rules: Iterable[AuditRule], paths: Iterable[str]) -> list[AuditRule]:
    wanted = set(paths)
    return [rule for rule in rules if rule.path in wanted]


def watches_changes(rules: Iterable[AuditRule], paths: Iterable[str]) -> bool:
    """Some rule records writes to (or attribute changes of) one of ``paths``."""
    return any("w" in rule.permissions or "a" in rule.permissions for rule in rules_for_path(rules, paths))


def records_execution(rules: Iterable[AuditRule], paths: Iterable[str]) -> bool:
    return any(
        "x" in rule.permissions or "execve" in rule.syscalls or "execveat" in rule.syscalls
        for rule in rules_for_path(rules, paths)
    )


def records_connect(rules: Iterable[AuditRule], paths: Iterable[str]) -> bool:
    return any("connect" in rule.syscalls or "all" in rule.syscalls for rule in rules_for_path(rules, paths))


def missing_from_loaded(configured: Iterable[AuditRule], loaded: Iterable[AuditRule]) -> list[AuditRule]:
    """Configured rules the kernel does not have (compared by kind, path and key)."""
    have = {rule.signature() for rule in loaded}
    return [rule for rule in configured if rule.signature() not in have]


def describe(rule: AuditRule) -> str:
    what = f"watch on {rule.path}" if rule.kind == "watch" else f"syscall rule on {rule.path or 'any path'}"
    where = f" ({rule.source})" if rule.source else ""
    return f"{what} key {rule.key or '(none)'}{where}"
