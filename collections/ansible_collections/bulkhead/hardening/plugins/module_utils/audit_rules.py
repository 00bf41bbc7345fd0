# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind the audit_rules module: the managed audit rules file of container_host.

Builds the file from the controls selected in this run (one ``## BEGIN id`` / ``## END id`` block
each, in a fixed order), keeps the blocks of controls not selected as they are, checks every rule
the way ``auditctl -R`` would need it, and reads ``auditctl -s`` / ``auditctl -l`` output.

No Ansible imports here, so unit tests exercise it directly; the module turns AuditRulesError
into fail_json in one place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
from collections import OrderedDict
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

Resolved = Mapping[str, Optional[str]]

HEADER = (
    "# Managed by Ansible (bulkhead.hardening.container_host): local changes are overwritten.\n"
    "# Audit rules for the container engine and its administration (bulkhead.hardening.container_host).\n"
    "# One block per control; search the events with `ausearch -k <key>` or `bulkhead admin-access`.\n"
    "# Global settings (-D, -b, -f, -e) belong to the operator's own files and are never set here.\n"
)

# The controls whose rules are not engine path watches, after the engine controls in the file.
ADMIN_CONTROLS = ("BH-1.2", "BH-1.3")
# The engine control that also watches the configured data root.
DATA_ROOT_CONTROL = "1.1.5"
DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock")
GROUP_FILES = ("/etc/group", "/etc/gshadow")
SUDOERS_FILES = ("/etc/sudoers", "/etc/sudoers.d")
# Sockets under /run may not exist yet when the rules load (the engine is not started): watched as named.
RUNTIME_PREFIX = "/run/"

KEY_NAMES = ("engine", "socket", "client", "group", "sudoers")

_BLOCK = re.compile(r"(?ms)^## BEGIN (?P<id>[^ ]+?)$.(.*?)^## END (?P=id)$")
_PERMISSIONS = re.compile(r"^[rwxa]+$")
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,31}$")
_FIELD = re.compile(r"^([a-z_0-9]+)(=|!=|<=|>=|<|>|&=|&)(\S+)$")
_SYSCALL = re.compile(r"^[a-z0-9_]+(,[a-z0-9_]+)*$")
_ACTIONS = frozenset(["always", "never"])
_LISTS = frozenset(["exit", "task", "user", "exclude", "filesystem", "io_uring"])
_GLOBAL_OPTIONS = frozenset(["-D", "-b", "-f", "-e", "-r", "--backlog_wait_time", "--loginuid-immutable"])


class AuditRulesError(Exception):
    """Anything that must stop the module before it writes."""


class RuleSpec(object):
    """What the managed file is built from: the role's tables and this run's selection."""

    def __init__(
        self,
        selected: Iterable[str],
        engine_paths: Mapping[str, List[str]],
        engine_binaries: Iterable[str],
        data_root: str,
        admin_clients: Iterable[str],
        keys: Mapping[str, str],
    ) -> None:
        self.selected = list(selected)
        self.engine_paths = OrderedDict(engine_paths)
        self.engine_binaries = frozenset(engine_binaries)
        self.data_root = data_root
        self.admin_clients = list(admin_clients)
        self.keys = dict(keys)

    def order(self) -> List[str]:
        """Every control the file can hold, in file order."""
        return list(self.engine_paths) + list(ADMIN_CONTROLS)

    def candidates(self, control: str) -> List[str]:
        """The paths one engine control watches, before they are resolved on the host."""
        paths = list(self.engine_paths[control])
        if control == DATA_ROOT_CONTROL:
            paths.append(self.data_root)
        return paths

    def all_paths(self) -> List[str]:
        """Every path that has to be resolved on the host, each once."""
        paths = []
        for control in self.engine_paths:
            paths.extend(self.candidates(control))
        paths.extend(DOCKER_SOCKETS)
        paths.extend(self.admin_clients)
        return list(OrderedDict.fromkeys(paths))


def validate_spec(spec: RuleSpec) -> None:
    """Refuse input that would produce a file auditctl rejects, naming the offending value."""
    for control, paths in spec.engine_paths.items():
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            raise AuditRulesError("engine_paths[%s] must be a list of paths, got %r" % (control, paths))
    unknown = sorted(set(spec.selected) - set(spec.order()))
    if unknown:
        raise AuditRulesError(
            "unknown control(s) %s in controls; known: %s" % (", ".join(unknown), ", ".join(spec.order()))
        )
    stray = sorted(spec.engine_binaries - set(spec.engine_paths))
    if stray:
        raise AuditRulesError("engine_binaries names control(s) %s that engine_paths lacks" % ", ".join(stray))
    for name in KEY_NAMES:
        if not _KEY.match(spec.keys.get(name) or ""):
            raise AuditRulesError("keys.%s %r must be 1-31 letters, digits or _.:-" % (name, spec.keys.get(name)))
    for label, path in _named_paths(spec):
        if not path.startswith("/") or any(ch.isspace() for ch in path):
            raise AuditRulesError("%s %r must be an absolute path without blanks" % (label, path))


def _named_paths(spec: RuleSpec) -> Iterator[Tuple[str, str]]:
    for control, paths in spec.engine_paths.items():
        for path in paths:
            yield "engine_paths[%s]" % control, path
    yield "data_root", spec.data_root
    for path in spec.admin_clients:
        yield "admin_clients", path


def resolve(
    path: str,
    exists: Callable[[str], bool] = os.path.exists,
    realpath: Callable[[str], str] = os.path.realpath,
) -> Optional[str]:
    """The path with every symlink followed when it exists (``readlink -e``), else None."""
    if not exists(path):
        return None
    return realpath(path)


def resolve_all(
    paths: Iterable[str],
    exists: Callable[[str], bool] = os.path.exists,
    realpath: Callable[[str], str] = os.path.realpath,
) -> "OrderedDict[str, Optional[str]]":
    return OrderedDict((path, resolve(path, exists, realpath)) for path in paths)


def existing_blocks(text: str) -> Dict[str, List[str]]:
    """Each control's block in a managed file as it is: control ID to its lines."""
    return dict((control, body.splitlines()) for control, body in _BLOCK.findall(text))


def engine_lines(spec: RuleSpec, control: str, resolved: Resolved) -> List[str]:
    permissions = "wxa" if control in spec.engine_binaries else "wa"
    candidates = spec.candidates(control)
    lines = []
    for candidate in candidates:
        real = resolved.get(candidate)
        if real is None and candidate.startswith(RUNTIME_PREFIX):
            real = candidate
        if real is not None:
            lines.append("-w %s -p %s -k %s" % (real, permissions, spec.keys["engine"]))
    return lines or ["# none of %s exists on this host" % ", ".join(candidates)]


def admin_lines(spec: RuleSpec, control: str, resolved: Resolved) -> List[str]:
    if control == "BH-1.2":
        lines = [
            "-a always,exit -F arch=b64 -S connect -F path=%s -F auid!=unset -k %s"
            % (resolved.get(socket) or DOCKER_SOCKETS[0], spec.keys["socket"])
            for socket in DOCKER_SOCKETS
        ]
        lines.extend(
            "-a always,exit -F path=%s -F perm=x -F auid!=unset -k %s" % (resolved[client], spec.keys["client"])
            for client in spec.admin_clients
            if resolved.get(client) is not None
        )
        return lines
    return ["-w %s -p wa -k %s" % (path, spec.keys["group"]) for path in GROUP_FILES] + [
        "-w %s -p wa -k %s" % (path, spec.keys["sudoers"]) for path in SUDOERS_FILES
    ]


def block_lines(spec: RuleSpec, control: str, resolved: Resolved, previous: Mapping[str, List[str]]) -> List[str]:
    """The lines of one control's block: built when selected, else kept from the previous file."""
    if control not in spec.selected:
        return previous.get(control, [])
    if control in spec.engine_paths:
        return engine_lines(spec, control, resolved)
    return admin_lines(spec, control, resolved)


def render(spec: RuleSpec, resolved: Resolved, previous_text: str) -> str:
    """The whole managed file. A rule already written by an earlier block is not repeated."""
    previous = existing_blocks(previous_text)
    seen = set()
    out = [HEADER]
    for control in spec.order():
        lines = block_lines(spec, control, resolved, previous)
        if not lines:
            continue
        out.append("## BEGIN %s\n" % control)
        for line in lines:
            if line.startswith("#") or line not in seen:
                out.append(line + "\n")
                seen.add(line)
        out.append("## END %s\n" % control)
    return "".join(out)


def absent_controls(spec: RuleSpec, resolved: Resolved) -> List[str]:
    """Selected engine controls of which no path exists here (runtime sockets aside): 'ID (paths)'."""
    absent = []
    for control, candidates in spec.engine_paths.items():
        if control not in spec.selected:
            continue
        if any(resolved.get(path) is not None for path in candidates):
            continue
        if all(path.startswith(RUNTIME_PREFIX) for path in candidates):
            continue
        absent.append("%s (%s)" % (control, ", ".join(candidates)))
    return absent


def rule_keys(text: str) -> List[str]:
    """The keys of the rules in a rules file or in ``auditctl -l`` output, in order, each once."""
    keys = []
    for line in text.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for position, token in enumerate(tokens):
            if token == "-k" and position + 1 < len(tokens):
                keys.append(tokens[position + 1])
            elif token.startswith("key="):
                keys.append(token[len("key=") :])
    return list(OrderedDict.fromkeys(keys))


def parse_status(text: str) -> Dict[str, int]:
    """``auditctl -s``: auditd's pid (0 when none runs) and the enabled flag (2: rules locked)."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values.setdefault(parts[0], int(parts[1]))
    return {"pid": values.get("pid", 0), "enabled": values.get("enabled", 0)}


def check(text: str) -> List[str]:
    """One message per problem that would stop ``auditctl -R`` half-way, or a global setting."""
    problems = []
    seen = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as error:
            problems.append("line %d: %s" % (number, error))
            continue
        found = _check_tokens(tokens)
        normalised = " ".join(tokens)
        if not found and normalised in seen:
            found = ["duplicate of line %d" % seen[normalised]]
        seen.setdefault(normalised, number)
        problems.extend("line %d: %s" % (number, problem) for problem in found)
    return problems


def _check_tokens(tokens: List[str]) -> List[str]:
    if tokens[0] == "-w":
        return _check_watch(tokens)
    if tokens[0] == "-a":
        return _check_syscall_rule(tokens)
    if tokens[0] in _GLOBAL_OPTIONS:
        return ["%s is a global setting: keep it in the operator's own rules files" % tokens[0]]
    return ["%r is not a watch (-w) or a syscall rule (-a)" % tokens[0]]


def _pairs(tokens: List[str]) -> List[Tuple[str, str]]:
    return [(tokens[index], tokens[index + 1]) for index in range(0, len(tokens) - 1, 2)]


def _key_problem(key: str) -> str:
    return "key %r must be 1-31 letters, digits or _.:-" % key


def _check_watch(tokens: List[str]) -> List[str]:
    if len(tokens) % 2:
        return ["options must come in pairs"]
    options = dict(_pairs(tokens))
    problems = []
    path = options.get("-w", "")
    if not path.startswith("/"):
        problems.append("watch path %r is not absolute" % path)
    if "-p" in options and not _PERMISSIONS.match(options["-p"]):
        problems.append("permissions %r are not a combination of r, w, x, a" % options["-p"])
    unknown = set(options) - set(["-w", "-p", "-k"])
    if unknown:
        problems.append("unexpected option(s) %s in a watch" % ", ".join(sorted(unknown)))
    if "-k" not in options:
        problems.append("the watch has no key (-k)")
    elif not _KEY.match(options["-k"]):
        problems.append(_key_problem(options["-k"]))
    return problems


def _is_action_list(value: str) -> bool:
    """``always,exit`` or the older ``exit,always`` spelling."""
    parts = value.split(",")
    if len(parts) != 2:
        return False
    return (parts[0] in _ACTIONS and parts[1] in _LISTS) or (parts[0] in _LISTS and parts[1] in _ACTIONS)


def _check_syscall_rule(tokens: List[str]) -> List[str]:
    if len(tokens) % 2:
        return ["options must come in pairs"]
    pairs = _pairs(tokens)
    problems = []
    if not _is_action_list(pairs[0][1]):
        problems.append("-a %r is not action,list (like always,exit)" % pairs[0][1])
    keys = []
    for option, value in pairs[1:]:
        if option == "-F":
            match = _FIELD.match(value)
            if not match:
                problems.append("field %r is not name<op>value" % value)
            elif match.group(1) == "key":
                keys.append(match.group(3))
        elif option == "-S":
            if not _SYSCALL.match(value):
                problems.append("syscall list %r is malformed" % value)
        elif option == "-k":
            keys.append(value)
        else:
            problems.append("unexpected option %s in a syscall rule" % option)
    if not keys:
        problems.append("the rule has no key (-k)")
    problems.extend(_key_problem(key) for key in keys if not _KEY.match(key))
    return problems
