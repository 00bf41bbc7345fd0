#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_permissions
short_description: Set owner, group and a maximum mode on many files in one pass
version_added: "0.1.0"
description:
  - Applies ownership and mode rules to a list of paths (glob patterns allowed) in a single task, for
    example every file of CIS Docker Benchmark section 3.
  - A rule's O(rules[].mode) is a ceiling, not a value. The file keeps every permission bit that is also
    in the ceiling and loses the others, so C(0644) leaves a C(0600) file alone and turns C(0666) into
    C(0644). The mode is never loosened.
  - Rules for the same path are combined; their ceilings combine bitwise.
  - A path that does not exist is skipped (reported with C(exists=false)), unless its rule is
    O(rules[].required). Unknown users or groups and missing required paths fail before any file changes.
author:
  - Bulkhead contributors (@bulkhead)
options:
  rules:
    description: The rules to apply.
    type: list
    elements: dict
    required: true
    suboptions:
      paths:
        description: Absolute paths or glob patterns.
        type: list
        elements: str
        required: true
      owner:
        description: User name or numeric ID that must own the paths. Omitted leaves the owner.
        type: str
      group:
        description: Group name or numeric ID that must own the paths. Omitted leaves the group.
        type: str
      mode:
        description: Octal ceiling such as C('0644'). Omitted leaves the mode.
        type: str
      required:
        description: Fail when the path (or no match of the pattern) exists.
        type: bool
        default: false
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One line per changed path, C(path owner:group mode), before and after.
"""

EXAMPLES = r"""
- name: Docker's files, in one pass
  bulkhead.hardening.file_permissions:
    rules:
      - paths: [/lib/systemd/system/docker.service, /lib/systemd/system/docker.socket]
        owner: root
        group: root
        mode: "0644"
      - paths: [/etc/docker/certs.d/*/*]
        owner: root
        group: root
        mode: "0444"
      - paths: [/var/run/docker.sock]
        owner: root
        group: docker
        mode: "0660"
"""

RETURN = r"""
files:
  description: Every path the rules named, what it was and what it is now (or would be in check mode).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/docker", "exists": true, "mode": "0775", "new_mode": "0755", "changed": true}]
changed_paths:
  description: The paths that changed (or would change in check mode).
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.file_modes import (
    FileModesError,
    apply,
    describe,
    merge_rules,
    plan,
    resolve_ids,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def run(module):
    entries = plan(resolve_ids(merge_rules(module.params["rules"])))
    changed_paths = [entry["path"] for entry in entries if entry["changed"]]
    result = {"changed": bool(changed_paths), "files": entries, "changed_paths": changed_paths}
    if module._diff:
        result["diff"] = {"before": describe(entries, True), "after": describe(entries, False)}
    if changed_paths and not module.check_mode:
        apply(entries)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    paths=dict(type="list", elements="str", required=True),
                    owner=dict(type="str"),
                    group=dict(type="str"),
                    mode=dict(type="str"),
                    required=dict(type="bool", default=False),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    finish(module, run, FileModesError, subject="a file")


if __name__ == "__main__":
    main()
