#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_rules
short_description: Write the container host's managed auditd rules file, checked, one block per control
version_added: "0.1.0"
description:
  - Builds one audit rules file (by default C(/etc/audit/rules.d/50-bulkhead-container-host.rules)) with one
    C(## BEGIN id) / C(## END id) block per control, in a fixed order, for the controls in O(controls).
  - "Engine controls (CIS 1.1.3-1.1.18, O(engine_paths)): every candidate path is resolved on the host (symlinks
    followed) and the real path is watched; binaries named by O(engine_binaries) with C(-p wxa), everything else
    with C(-p wa). Paths under C(/run/) are watched as named when they do not exist yet (the engine may not be
    running). A control of which no path exists gets a comment, and is listed in RV(absent)."
  - "C(BH-1.2): connects to the Docker socket and runs of the clients in O(admin_clients) that exist, by logged-in
    users (C(auid) set). C(BH-1.3): changes to C(/etc/group), C(/etc/gshadow) and sudoers."
  - Controls not in O(controls) keep the block they already have in the file, so that a run limited with
    C(--tags) or C(--skip-tags) does not drop the rules of other controls. A rule already written by an earlier
    block is not repeated (C(auditctl -R) stops at a duplicate).
  - Every rule is checked before the file is written (file watches and syscall rules with a valid key only; the
    global settings C(-D), C(-b), C(-f), C(-e) belong to the operator's own files); a problem fails the module
    with the line and nothing is written.
  - Writes atomically (temporary file in the same directory, fsync, rename), owned by root with mode O(mode),
    and keeps a timestamped backup of the previous file. Does not load the rules; it reports in RV(auditd)
    whether auditd runs, whether its rules are locked and which keys of the file the kernel lacks, for the
    caller to run C(augenrules --load).
author:
  - Bulkhead contributors (@bulkhead)
options:
  path:
    description: The managed rules file.
    type: path
    default: /etc/audit/rules.d/50-bulkhead-container-host.rules
  controls:
    description:
      - The controls whose rules are (re)built in this run, from the keys of O(engine_paths) and C(BH-1.2),
        C(BH-1.3). An unknown ID fails the module.
    type: list
    elements: str
    required: true
  engine_paths:
    description:
      - Engine control ID to the paths that may hold what it watches, in file order. C(1.1.5) also watches
        O(data_root).
    type: dict
    required: true
  engine_binaries:
    description: The engine controls whose paths are executables (watched with C(-p wxa)).
    type: list
    elements: str
    default: []
  data_root:
    description: The engine's data root, watched by control C(1.1.5) besides its own paths.
    type: path
    default: /var/lib/docker
  admin_clients:
    description: Container clients whose runs by logged-in users C(BH-1.2) records (those that exist on the host).
    type: list
    elements: path
    default: []
  keys:
    description: The audit keys of the rules; C(ausearch -k KEY) finds their events.
    type: dict
    default: {}
    suboptions:
      engine:
        description: Key of the engine path watches.
        type: str
        default: bulkhead_engine
      socket:
        description: Key of connects to the Docker socket.
        type: str
        default: bulkhead_docker_socket
      client:
        description: Key of container client runs.
        type: str
        default: bulkhead_container_client
      group:
        description: Key of changes to the group files.
        type: str
        default: bulkhead_docker_group
      sudoers:
        description: Key of changes to sudoers.
        type: str
        default: bulkhead_sudoers
  kernel_status:
    description:
      - Ask the kernel (C(auditctl -s), and C(auditctl -l) when auditd runs) for RV(auditd). Read only; done in
        check mode too. Without C(auditctl) on the host, auditd counts as not running.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file beside it before changing it.
    type: bool
    default: true
  mode:
    description: Mode of the file.
    type: raw
    default: "0640"
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the whole rules file before and after.
notes:
  - C(augenrules) reads only C(*.rules) files, so the backups (C(*.bak)) beside the file are never loaded.
"""

EXAMPLES = r"""
- name: Watch the engine's binaries and configuration, and record administrative access
  bulkhead.hardening.audit_rules:
    controls: ["1.1.3", "1.1.6", "BH-1.2", "BH-1.3"]
    engine_paths:
      "1.1.3": [/usr/bin/dockerd, /usr/sbin/dockerd]
      "1.1.6": [/etc/docker]
    engine_binaries: ["1.1.3"]
    admin_clients: [/usr/bin/docker, /usr/bin/podman]
  register: rules

- name: Load them where auditd runs
  ansible.builtin.command: augenrules --load
  when:
    - rules.auditd.pid > 0
    - not rules.auditd.locked
    - rules is changed or rules.auditd.missing_keys | length > 0
  changed_when: true
"""

RETURN = r"""
content:
  description: The rules file as written (or as it would be written in check mode).
  returned: success
  type: str
keys:
  description: The keys of the rules in the file, each once.
  returned: success
  type: list
  elements: str
  sample: [bulkhead_engine, bulkhead_docker_socket]
absent:
  description: Selected engine controls of which no path exists on the host, with their candidate paths.
  returned: success
  type: list
  elements: str
  sample: ["1.1.13 (/etc/sysconfig/docker)"]
resolved:
  description: Each candidate path and its real path on the host (null when it does not exist).
  returned: success
  type: dict
  sample: {"/usr/bin/dockerd": null, "/usr/sbin/dockerd": "/usr/sbin/dockerd"}
backup_file:
  description: Path of the backup of the previous file, when one was made.
  returned: changed and a previous file existed and O(backup) is true
  type: str
  sample: /etc/audit/rules.d/50-bulkhead-container-host.rules.20261129T101500.bak
auditd:
  description: What the kernel says (only meaningful with O(kernel_status)).
  returned: success
  type: dict
  contains:
    pid:
      description: The pid of auditd, 0 when it does not run (or C(auditctl) is missing).
      type: int
    locked:
      description: The loaded rules are immutable (C(enabled 2)) until the next boot.
      type: bool
    missing_keys:
      description: Keys of the file that no loaded rule carries (empty when auditd does not run).
      type: list
      elements: str
    message:
      description: Why auditd counts as not running, when it does not.
      type: str
problems:
  description: The rules that failed the check, one line each (only returned when the module fails on them).
  returned: failure
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    attributes_differ,
    file_diff,
    settle_file,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.audit_rules import (
    AuditRulesError,
    RuleSpec,
    absent_controls,
    check,
    parse_status,
    render,
    resolve_all,
    rule_keys,
    validate_spec,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def _mode(value):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise AuditRulesError("mode %r is not an octal mode such as '0640'" % (value,)) from None
    if mode & ~0o640:
        raise AuditRulesError("mode %s is looser than 0640: audit rules are for root and the adm group" % value)
    return mode


def _spec(params):
    return RuleSpec(
        selected=params["controls"],
        engine_paths=params["engine_paths"],
        engine_binaries=params["engine_binaries"],
        data_root=params["data_root"],
        admin_clients=params["admin_clients"],
        keys=params["keys"],
    )


def kernel_status(module, keys):
    """auditd's pid, whether the loaded rules are locked, and the file's keys the kernel lacks."""
    status = {"pid": 0, "locked": False, "missing_keys": [], "message": ""}
    if not module.params["kernel_status"]:
        status["message"] = "not asked (kernel_status is false)"
        return status
    auditctl = module.get_bin_path("auditctl")
    if auditctl is None:
        status["message"] = "auditctl is not installed"
        return status
    rc, out, err = module.run_command([auditctl, "-s"])
    parsed = parse_status(out if rc == 0 else "")
    status["pid"] = parsed["pid"]
    status["locked"] = parsed["enabled"] == 2
    if status["pid"] == 0:
        status["message"] = "auditctl -s: %s" % ((err.strip() if rc else "") or "pid 0")
        return status
    rc, out, err = module.run_command([auditctl, "-l"])
    # Unreadable loaded rules count as lacking every key: the caller then loads the file again.
    loaded = set(rule_keys(out)) if rc == 0 else set()
    status["missing_keys"] = [key for key in keys if key not in loaded]
    return status


def apply(module):
    params = module.params
    path = params["path"]
    spec = _spec(params)
    validate_spec(spec)
    mode = _mode(params["mode"])
    if os.path.isdir(path):
        raise AuditRulesError("%s is a directory, not a rules file; nothing was changed" % path)

    exists = os.path.exists(path)
    before = ""
    if exists:
        with open(path) as handle:
            before = handle.read()
    resolved = resolve_all(spec.all_paths())
    after = render(spec, resolved, before)
    problems = check(after)
    if problems:
        raise AuditRulesError(
            "the audit rules for %s do not pass the check, nothing was written: %s" % (path, "; ".join(problems)),
            problems,
        )

    existing = os.stat(path) if exists else None
    content_changed = after != before or not exists
    keys = rule_keys(after)
    result = {
        "changed": content_changed or attributes_differ(existing, mode),
        "content": after,
        "keys": keys,
        "absent": absent_controls(spec, resolved),
        "resolved": dict(resolved),
        "auditd": kernel_status(module, keys),
    }
    if module._diff:
        result["diff"] = file_diff(path, before, after, existing, mode)
    if module.check_mode or not result["changed"]:
        return result

    backup = module.preserved_copy if params["backup"] else None
    backup_file = settle_file(path, after, content_changed, mode, backup=backup, directory_mode=0o750)
    if backup_file:
        result["backup_file"] = backup_file
    return result


def main():
    key_options = dict(
        engine=dict(type="str", default="bulkhead_engine", no_log=False),
        socket=dict(type="str", default="bulkhead_docker_socket", no_log=False),
        client=dict(type="str", default="bulkhead_container_client", no_log=False),
        group=dict(type="str", default="bulkhead_docker_group", no_log=False),
        sudoers=dict(type="str", default="bulkhead_sudoers", no_log=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/audit/rules.d/50-bulkhead-container-host.rules"),
            controls=dict(type="list", elements="str", required=True),
            engine_paths=dict(type="dict", required=True),
            engine_binaries=dict(type="list", elements="str", default=[]),
            data_root=dict(type="path", default="/var/lib/docker"),
            admin_clients=dict(type="list", elements="path", default=[]),
            keys=dict(type="dict", default={}, options=key_options, no_log=False),
            kernel_status=dict(type="bool", default=True),
            backup=dict(type="bool", default=True),
            mode=dict(type="raw", default="0640"),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, AuditRulesError, details_key="problems")


if __name__ == "__main__":
    main()
