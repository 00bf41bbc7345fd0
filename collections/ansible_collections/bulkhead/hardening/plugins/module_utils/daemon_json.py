# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind docker_daemon_config: merge, removal, conflict detection, atomic writes.

No Ansible imports here, so unit tests exercise it directly; the module turns DaemonConfigError
into fail_json in one place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import json
import os
import re
import shlex
from collections import OrderedDict

# daemon.json keys whose value is an object merged key by key (the operator's other entries stay).
NESTED_KEYS = frozenset(["default-ulimits", "log-opts", "storage-opts", "default-address-pools-opts", "features"])

# daemon.json keys whose dockerd flag is not simply "--<key>".
_FLAG_FOR_KEY = {
    "hosts": ["-H", "--host"],
    "insecure-registries": ["--insecure-registry"],
    "registry-mirrors": ["--registry-mirror"],
    "authorization-plugins": ["--authorization-plugin"],
    "default-ulimits": ["--default-ulimit"],
    "log-opts": ["--log-opt"],
    "storage-opts": ["--storage-opt"],
    "storage-driver": ["-s", "--storage-driver"],
    "labels": ["--label"],
    "dns": ["--dns"],
    "dns-opts": ["--dns-opt"],
    "dns-search": ["--dns-search"],
    "exec-opts": ["--exec-opt"],
    "debug": ["-D", "--debug"],
    "log-level": ["-l", "--log-level"],
    "group": ["-G", "--group"],
    "bridge": ["-b", "--bridge"],
    "tlscacert": ["--tlscacert"],
    "runtimes": ["--add-runtime"],
    "default-address-pools": ["--default-address-pool"],
}


class DaemonConfigError(Exception):
    """Anything that must stop the module before it writes."""


def flags_for_key(key):
    return _FLAG_FOR_KEY.get(key, ["--" + key])


def parse_config(text, path):
    """The file's settings in the operator's key order; an empty file is an empty object."""
    if not text.strip():
        return OrderedDict()
    try:
        settings = json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError as error:
        raise DaemonConfigError("%s is not valid JSON (%s); nothing was changed" % (path, error)) from error
    if not isinstance(settings, dict):
        raise DaemonConfigError(
            "%s holds a JSON %s, not an object; nothing was changed" % (path, type(settings).__name__)
        )
    return settings


def merge(current, settings, absent_keys):
    """current with settings merged in (nested objects key by key) and absent_keys removed."""
    merged = copy.deepcopy(current)
    for key, value in settings.items():
        if key in NESTED_KEYS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            nested = merged[key]
            for inner_key, inner_value in value.items():
                nested[inner_key] = inner_value
        else:
            merged[key] = value
    for key in absent_keys:
        merged.pop(key, None)
    return merged


def render(settings):
    return json.dumps(settings, indent=2, separators=(",", ": ")) + "\n"


_EXEC_START = re.compile(r"^\s*ExecStart\s*=\s*(.*)$")
_ENVIRONMENT = re.compile(r"^\s*Environment\s*=\s*(.*)$")
_ENVIRONMENT_FILE = re.compile(r"^\s*EnvironmentFile\s*=\s*(.*)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def exec_start_argv(unit_texts, environment=None):
    """argv of the effective ExecStart across a unit and its drop-ins (in systemd's order).

    An empty ``ExecStart=`` resets the list, as systemd does; continuation lines are joined.
    With ``environment`` (the service's variables, see ``service_environment``), variables are
    expanded as systemd does: a word that is exactly ``$NAME`` becomes the value split on
    whitespace (Debian's ``$DOCKER_OPTS``), ``${NAME}`` is replaced inside a word, unset is empty.
    """
    argv = []
    for text in unit_texts:
        for line in _logical_lines(text):
            match = _EXEC_START.match(line)
            if not match:
                continue
            command = match.group(1).strip()
            if not command:
                argv = []
                continue
            argv = shlex.split(command.lstrip("-@+!:"))
    if environment is None:
        return argv
    return expand(argv, environment)


def expand(argv, environment):
    expanded = []
    for token in argv:
        name = token[1:]
        if token.startswith("$") and _ENV_NAME.match(name):
            expanded.extend(environment.get(name, "").split())
            continue
        expanded.append(_BRACED.sub(lambda match: environment.get(match.group(1), ""), token))
    return expanded


def environment_files(unit_texts):
    """(path, optional) for each EnvironmentFile= of the unit; an empty assignment resets the list."""
    files = []
    for text in unit_texts:
        for line in _logical_lines(text):
            match = _ENVIRONMENT_FILE.match(line)
            if not match:
                continue
            value = match.group(1).strip()
            if not value:
                files = []
                continue
            optional = value.startswith("-")
            files.append((value.lstrip("-"), optional))
    return files


def service_environment(unit_texts, env_file_texts):
    """The variables dockerd's ExecStart sees: Environment= lines, overridden by EnvironmentFile= files.

    ``env_file_texts`` are the contents of the files ``environment_files`` named, in order (systemd
    lets variables from files override Environment= whatever the order of the lines).
    """
    environment = {}
    for text in unit_texts:
        for line in _logical_lines(text):
            match = _ENVIRONMENT.match(line)
            if not match:
                continue
            value = match.group(1).strip()
            if not value:
                environment = {}
                continue
            for assignment in shlex.split(value):
                name, separator, content = assignment.partition("=")
                if separator and _ENV_NAME.match(name):
                    environment[name] = content
    for text in env_file_texts:
        environment.update(parse_environment_file(text))
    return environment


def parse_environment_file(text):
    """KEY=VALUE lines as systemd reads them: comments (# ;) and malformed lines are ignored."""
    variables = {}
    for line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        name, separator, value = stripped.partition("=")
        name = name.strip()
        if not separator or not _ENV_NAME.match(name):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        variables[name] = value
    return variables


def read_environment_files(files):
    """Contents of the EnvironmentFile= files; a missing optional ('-') file is skipped as systemd does."""
    texts = []
    for path, optional in files:
        try:
            with open(path) as handle:
                texts.append(handle.read())
        except IOError as error:
            if error.errno == errno.ENOENT and optional:
                continue
            raise DaemonConfigError(
                "cannot read %s (EnvironmentFile of the docker unit): %s" % (path, error)
            ) from error
    return texts


def dockerd_argv(unit_name, search_dirs):
    """dockerd's argv as systemd would start it: unit, drop-ins and environment files together."""
    texts = read_unit_texts(unit_files(unit_name, search_dirs))
    environment = service_environment(texts, read_environment_files(environment_files(texts)))
    return exec_start_argv(texts, environment)


def _logical_lines(text):
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def conflicting_keys(settings, argv):
    """Keys of settings that dockerd's argv also sets: dockerd refuses to start with both."""
    conflicts = []
    for key in settings:
        for flag in flags_for_key(key):
            if any(token == flag or token.startswith(flag + "=") for token in argv[1:]):
                conflicts.append((key, flag))
                break
    return conflicts


def read_unit_texts(unit_paths):
    texts = []
    for path in unit_paths:
        try:
            with open(path) as handle:
                texts.append(handle.read())
        except IOError as error:
            if error.errno != errno.ENOENT:
                raise DaemonConfigError("cannot read systemd unit %s: %s" % (path, error)) from error
    return texts


def unit_files(unit_name, search_dirs):
    """The unit file systemd would load and its drop-ins, in the order systemd applies them."""
    main = None
    for directory in search_dirs:
        candidate = os.path.join(directory, unit_name)
        if os.path.isfile(candidate):
            main = candidate
            break
    dropins = {}
    for directory in reversed(search_dirs):
        dropin_dir = os.path.join(directory, unit_name + ".d")
        if os.path.isdir(dropin_dir):
            for name in os.listdir(dropin_dir):
                if name.endswith(".conf"):
                    dropins[name] = os.path.join(dropin_dir, name)
    ordered = [main] if main else []
    return ordered + [dropins[name] for name in sorted(dropins)]


def safe_mode(existing_mode, default_mode):
    """Keep the operator's mode when it is 0644 or stricter; otherwise tighten to default_mode."""
    if existing_mode is None:
        return default_mode
    if existing_mode & ~0o644:
        return default_mode
    return existing_mode
