#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: containers_config
short_description: Install a containers/* configuration file (policy.json, registries.conf, containers.conf) safely
version_added: "0.1.0"
description:
  - Writes O(content) to O(path), the way Podman, Buildah and Skopeo expect their configuration files, after
    checking that O(content) parses as O(format). A rendered file that does not parse is refused before anything
    changes.
  - Reads the file already on the host first. When it does not parse, the module names the file and the
    position (line and column) and, following O(on_malformed), either fails without changing anything or
    keeps a timestamped backup of the malformed file before replacing it. A malformed file is never
    overwritten silently.
  - For O(format=json) with O(policy=true), also refuses a policy.json that containers/image would reject
    (no C(default), a signature requirement without exactly one key source).
  - Writes atomically (temporary file in the same directory, fsync, rename), keeps a backup of the previous
    file when O(backup) is true, and sets owner, group and mode.
author:
  - Bulkhead contributors (@bulkhead)
options:
  path:
    description: The file to write.
    type: path
    required: true
  content:
    description: The complete new content of the file.
    type: str
    required: true
  format:
    description:
      - How to parse the existing and the new content. C(yaml) is only checked when PyYAML is importable on
        the target; C(text) is not parsed.
    type: str
    choices: [json, toml, yaml, text]
    required: true
  policy:
    description: The file is a containers-policy.json(5); check its requirements too.
    type: bool
    default: false
  on_malformed:
    description:
      - What to do when the file already on the host does not parse. C(fail) stops with the file and position
        and changes nothing; C(backup) keeps a copy (returned as RV(backup_file)) and replaces the file.
    type: str
    choices: [fail, backup]
    default: fail
  backup:
    description: Keep a timestamped copy of a valid previous file beside it before changing it.
    type: bool
    default: true
  owner:
    description: Owner of the file (name or uid).
    type: str
    default: root
  group:
    description: Group of the file (name or gid).
    type: str
    default: root
  mode:
    description: Mode of the file, in octal.
    type: raw
    default: "0644"
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the whole file before and after.
"""

EXAMPLES = r"""
- name: Reject every image unless a rule admits it
  bulkhead.hardening.containers_config:
    path: /etc/containers/policy.json
    content: "{{ lookup('ansible.builtin.template', 'etc/containers/policy.json.j2') }}"
    format: json
    policy: true
    on_malformed: backup
"""

RETURN = r"""
backup_file:
  description: Path of the copy of the previous file, when one was made.
  returned: changed and a previous file existed and O(backup) is true, or the previous file was malformed
  type: str
  sample: /etc/containers/policy.json.20261129T101500.bak
malformed:
  description: Why the file found on the host did not parse (file and position), when it did not.
  returned: the previous file was malformed and O(on_malformed=backup)
  type: str
  sample: "/etc/containers/policy.json is not valid JSON (Expecting ',' delimiter: line 3 column 5 (char 20))"
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    attributes_differ,
    file_diff,
    settle_file,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.containers_config import (
    FORMATS,
    ContainersConfigError,
    check_policy,
    parse,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def _id(value, lookup, kind):
    if str(value).isdigit():
        return int(value)
    try:
        return lookup(value)[2]
    except KeyError:
        raise ContainersConfigError("%s %r does not exist on this host" % (kind, value)) from None


def _mode(value):
    try:
        return int(str(value), 8)
    except ValueError:
        raise ContainersConfigError("mode %r is not an octal mode such as '0644'" % (value,)) from None


def apply(module):
    params = module.params
    path = params["path"]
    content = params["content"]
    fmt = params["format"]
    uid = _id(params["owner"], pwd.getpwnam, "user")
    gid = _id(params["group"], grp.getgrnam, "group")
    mode = _mode(params["mode"])

    # Validate before install: the rendered content must parse (and be a sound policy).
    document = parse(content, fmt, "the new content for %s" % path)
    if params["policy"]:
        check_policy(document, "the new content for %s" % path)

    exists = os.path.exists(path)
    before = ""
    malformed = None
    if exists:
        with open(path) as handle:
            before = handle.read()
        try:
            parse(before, fmt, path)
        except ContainersConfigError as error:
            if params["on_malformed"] == "fail":
                raise ContainersConfigError(
                    "%s; nothing was changed (set on_malformed=backup to keep a copy and replace it)" % error
                ) from None
            malformed = str(error)

    stat = os.stat(path) if exists else None
    content_changed = not exists or before != content
    result = {"changed": content_changed or attributes_differ(stat, mode, uid, gid)}
    if malformed:
        result["malformed"] = malformed
        module.warn("%s; a backup is kept before it is replaced" % malformed)
    if module._diff:
        result["diff"] = file_diff(path, before, content, stat, mode, uid, gid)
    if module.check_mode or not result["changed"]:
        return result

    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ContainersConfigError("directory %s does not exist" % directory)
    backup = module.preserved_copy if params["backup"] or malformed else None
    backup_file = settle_file(path, content, content_changed, mode, uid, gid, backup=backup)
    if backup_file:
        result["backup_file"] = backup_file
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            format=dict(type="str", required=True, choices=list(FORMATS)),
            policy=dict(type="bool", default=False),
            on_malformed=dict(type="str", default="fail", choices=["fail", "backup"]),
            backup=dict(type="bool", default=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, ContainersConfigError)


if __name__ == "__main__":
    main()
