#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_daemon_config
short_description: Merge settings into the Docker daemon's daemon.json without losing the operator's keys
version_added: "0.1.0"
description:
  - Merges the given settings into an existing C(/etc/docker/daemon.json), keeping every unrelated key
    and the operator's key order. Objects such as C(default-ulimits) and C(log-opts) are merged key by key.
  - Removes keys listed in O(absent), for example C(insecure-registries).
  - Refuses a file that is not valid JSON or not a JSON object, and settings that the dockerd command line
    in the systemd unit (or its drop-ins) already sets, because dockerd refuses to start when a value
    is set in both places. Nothing is written in either case.
  - The command line is read as systemd would run it, with the unit's C(Environment=) and
    C(EnvironmentFile=) variables expanded, so flags in C($DOCKER_OPTS) from C(/etc/default/docker)
    count too.
  - Writes atomically (temporary file in the same directory, fsync, rename) under an exclusive lock, keeps a
    timestamped backup of the previous file, and leaves the file owned by root with mode 0644 or stricter.
  - Does not restart the engine; it returns RV(restart_needed) for a handler to act on.
author:
  - Bulkhead contributors (@bulkhead)
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Keys and values to set. Values of O(settings) replace the file's values, except for the object-valued
        keys C(default-ulimits), C(log-opts), C(storage-opts) and C(features), which are merged key by key.
    type: dict
    default: {}
  absent:
    description: Keys to remove from the file. A key may not be both in O(settings) and here.
    type: list
    elements: str
    default: []
  check_unit_conflicts:
    description:
      - Fail when a key of O(settings) is also set by a flag on dockerd's ExecStart line, after expanding
        the variables of the unit's C(Environment=) and C(EnvironmentFile=) (for example C($DOCKER_OPTS)).
    type: bool
    default: true
  unit:
    description: The systemd unit that starts dockerd.
    type: str
    default: docker.service
  unit_search_paths:
    description: Directories searched for O(unit) and its C(.d) drop-ins, most important first.
    type: list
    elements: path
    default: [/etc/systemd/system, /run/systemd/system, /lib/systemd/system, /usr/lib/systemd/system]
  backup:
    description: Keep a timestamped copy of the previous file beside it before changing it.
    type: bool
    default: true
  mode:
    description:
      - Mode for a new file, and for an existing one whose mode is looser than 0644. An existing stricter mode
        is kept.
    type: raw
    default: "0644"
  lock_timeout:
    description: Seconds to wait for another run holding the lock before failing.
    type: int
    default: 30
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the whole JSON document before and after.
notes:
  - The file is owned by root:root afterwards (CIS Docker Benchmark 3.17, 3.18).
"""

EXAMPLES = r"""
- name: Disable inter-container communication, keep everything else
  bulkhead.hardening.docker_daemon_config:
    settings:
      icc: false
      live-restore: true
      default-ulimits:
        nofile: {Name: nofile, Soft: 1024, Hard: 4096}
  register: daemon_config
  notify: Restart docker

- name: Never trust registries over plain HTTP
  bulkhead.hardening.docker_daemon_config:
    absent: [insecure-registries]
"""

RETURN = r"""
config:
  description: The merged configuration, as written (or as it would be written in check mode).
  returned: success
  type: dict
  sample: {"data-root": "/srv/docker", "icc": false}
backup_file:
  description: Path of the backup of the previous file, when one was made.
  returned: changed and a previous file existed and O(backup) is true
  type: str
  sample: /etc/docker/daemon.json.20261129T101500.bak
restart_needed:
  description: The settings changed, so the engine must restart to apply them.
  returned: success
  type: bool
conflicts:
  description: Keys that the dockerd command line also sets (only returned when the module fails on them).
  returned: failure
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    FileLock,
    attributes_differ,
    file_diff,
    settle_file,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.daemon_json import (
    DaemonConfigError,
    conflicting_keys,
    dockerd_argv,
    merge,
    parse_config,
    render,
    safe_mode,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def _mode(module):
    mode = module.params["mode"]
    try:
        value = int(str(mode), 8)
    except ValueError:
        raise DaemonConfigError("mode %r is not an octal mode such as '0644'" % (mode,)) from None
    if value & ~0o644:
        raise DaemonConfigError(
            "mode %s is looser than 0644 (CIS 3.18); daemon.json must not be writable by others" % mode
        )
    return value


def apply(module):
    params = module.params
    path = params["path"]
    settings = params["settings"]
    absent = params["absent"]
    both = sorted(set(settings) & set(absent))
    if both:
        raise DaemonConfigError("key(s) %s are both in settings and in absent" % ", ".join(both))
    default_mode = _mode(module)
    if params["lock_timeout"] < 0:
        raise DaemonConfigError("lock_timeout must be 0 or more seconds, got %d" % params["lock_timeout"])
    if os.path.isdir(path):
        raise DaemonConfigError("%s is a directory, not a daemon configuration file; nothing was changed" % path)
    if not os.path.basename(path):
        raise DaemonConfigError("path %r names no file" % path)

    if params["check_unit_conflicts"]:
        argv = dockerd_argv(params["unit"], params["unit_search_paths"])
        conflicts = conflicting_keys(settings, argv)
        if conflicts:
            described = ", ".join("%s (dockerd %s)" % pair for pair in conflicts)
            raise DaemonConfigError(
                "settings conflict with flags on dockerd's command line (%s, its drop-ins and EnvironmentFile): %s; "
                "dockerd refuses to start "
                "with a value set in both places. Remove the flag from the unit (or its environment file) or the key "
                "from settings." % (params["unit"], described),
                [key for key, _flag in conflicts],
            )

    if module.check_mode:
        # Reading needs no lock, and check mode must not even leave a lock file behind.
        return _apply_locked(module, path, settings, absent, default_mode)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    with FileLock(os.path.join(directory, ".daemon.json.lock"), params["lock_timeout"], DaemonConfigError):
        return _apply_locked(module, path, settings, absent, default_mode)


def _apply_locked(module, path, settings, absent, default_mode):
    exists = os.path.exists(path)
    before_text = ""
    if exists:
        with open(path) as handle:
            before_text = handle.read()
    current = parse_config(before_text, path)
    merged = merge(current, settings, absent)
    content_changed = merged != current or not exists
    after_text = render(merged) if content_changed else before_text

    existing = os.stat(path) if exists else None
    wanted_mode = safe_mode(existing.st_mode & 0o7777 if existing else None, default_mode)

    result = {
        "changed": content_changed or attributes_differ(existing, wanted_mode),
        "config": merged,
        "restart_needed": content_changed and merged != current,
    }
    if module._diff:
        result["diff"] = file_diff(path, before_text, after_text, existing, wanted_mode)
    if module.check_mode or not result["changed"]:
        return result

    backup = module.preserved_copy if module.params["backup"] else None
    backup_file = settle_file(path, after_text, content_changed, wanted_mode, backup=backup)
    if backup_file:
        result["backup_file"] = backup_file
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            settings=dict(type="dict", default={}),
            absent=dict(type="list", elements="str", default=[]),
            check_unit_conflicts=dict(type="bool", default=True),
            unit=dict(type="str", default="docker.service"),
            unit_search_paths=dict(
                type="list",
                elements="path",
                default=[
                    "/etc/systemd/system",
                    "/run/systemd/system",
                    "/lib/systemd/system",
                    "/usr/lib/systemd/system",
                ],
            ),
            backup=dict(type="bool", default=True),
            mode=dict(type="raw", default="0644"),
            lock_timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, DaemonConfigError, details_key="conflicts")


if __name__ == "__main__":
    main()
