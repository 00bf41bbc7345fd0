#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: subid
short_description: Manage one user's subordinate uid and gid ranges in /etc/subuid and /etc/subgid
version_added: "0.1.0"
description:
  - Gives a user subordinate uid and gid ranges, as rootless container engines (rootlesskit, Podman) and
    Docker's C(userns-remap) need them.
  - Without O(start), keeps the ranges the user already has when they add up to O(count) (for example the
    range C(useradd) allocated), and otherwise adds one range for the shortfall at the lowest id at or above
    O(minimum) that overlaps no entry of either file, so a user's uid and gid ranges normally coincide.
  - With O(start), the user gets exactly that range; a range of another user that overlaps it is refused with
    an error naming the file, the line and the other user.
  - Never rewrites other users' lines. Every line that is not the user's (other users, comments, blank lines)
    is kept byte for byte, line endings included.
  - Refuses a malformed file (a line that is not C(name:start:count) with decimal numbers) with an error naming
    the file and the line. Nothing is written in any error case.
  - Writes atomically (temporary file in the same directory, fsync, rename) under an exclusive lock, keeps a
    timestamped backup of the previous file, and keeps the file's owner and mode (root:root 0644 for a new
    file).
author:
  - Bulkhead contributors (@bulkhead)
options:
  name:
    description: The user. Entries whose owner field is the user's numeric uid count as the user's too.
    type: str
    required: true
    aliases: [user]
  state:
    description: C(present) gives the user ranges; C(absent) removes the user's lines from both files.
    type: str
    choices: [present, absent]
    default: present
  count:
    description: How many subordinate ids the user needs in each file.
    type: int
    default: 65536
  start:
    description:
      - An explicit first id. The user's lines are replaced by exactly C(start:count). Without it, the module
        keeps an adequate existing range or allocates a free one.
    type: int
  minimum:
    description: Lowest id an allocated range may use (C(SUB_UID_MIN) of login.defs).
    type: int
    default: 100000
  maximum:
    description: Highest id an allocated range may use (C(SUB_UID_MAX) of login.defs).
    type: int
    default: 600100000
  files:
    description: Which files to manage.
    type: list
    elements: str
    choices: [subuid, subgid]
    default: [subuid, subgid]
  subuid_path:
    description: The subordinate uid file.
    type: path
    default: /etc/subuid
  subgid_path:
    description: The subordinate gid file.
    type: path
    default: /etc/subgid
  require_user:
    description: Fail when O(name) is not a user of the system (C(getpwnam)). Only for O(state=present).
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of a file beside it before changing it.
    type: bool
    default: true
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
    details: One diff per changed file, showing the whole file before and after.
notes:
  - The running processes of the user (a rootless engine already started) keep their old mapping until they
    restart; the module does not restart anything.
seealso:
  - name: subuid(5)
    description: The file format.
    link: https://man7.org/linux/man-pages/man5/subuid.5.html
"""

EXAMPLES = r"""
- name: Give alice 65536 subordinate ids (keeps the range useradd gave her)
  bulkhead.hardening.subid:
    name: alice

- name: The userns-remap user gets an exact range
  bulkhead.hardening.subid:
    name: dockremap
    start: 231072
    count: 65536

- name: Remove a former user's ranges
  bulkhead.hardening.subid:
    name: bob
    state: absent
"""

RETURN = r"""
subuid:
  description: The user's ranges in the subordinate uid file after the run (predicted in check mode).
  returned: success and subuid is in O(files)
  type: dict
  contains:
    start:
      description: First id of the user's first range, or null when the user has none.
      type: int
    count:
      description: Ids in all the user's ranges together.
      type: int
    ranges:
      description: Every range of the user, as C(start) and C(count).
      type: list
      elements: dict
  sample: {"start": 100000, "count": 65536, "ranges": [{"start": 100000, "count": 65536}]}
subgid:
  description: The same for the subordinate gid file.
  returned: success and subgid is in O(files)
  type: dict
  sample: {"start": 100000, "count": 65536, "ranges": [{"start": 100000, "count": 65536}]}
backup_files:
  description: Backups of the previous files, when changed files existed and O(backup) is true.
  returned: changed
  type: list
  elements: str
  sample: [/etc/subuid.20261129T101500.bak]
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    FileLock,
    file_diff,
    settle_file,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish
from ansible_collections.bulkhead.hardening.plugins.module_utils.subid import (
    SubidError,
    allocate,
    encode,
    owned_by,
    parse,
    plan,
    read_text,
)

FILES = ("subuid", "subgid")


def _validate(params):
    problems = []
    if params["count"] < 1:
        problems.append("count must be at least 1, got %d" % params["count"])
    if params["start"] is not None and params["start"] < 0:
        problems.append("start must not be negative, got %d" % params["start"])
    if params["minimum"] < 0 or params["maximum"] < params["minimum"]:
        problems.append("minimum (%d) and maximum (%d) are not a range" % (params["minimum"], params["maximum"]))
    if not params["files"]:
        problems.append("files is empty")
    if problems:
        raise SubidError("; ".join(problems))


def _uid(params):
    try:
        return pwd.getpwnam(params["name"]).pw_uid
    except KeyError:
        if params["state"] == "present" and params["require_user"]:
            raise SubidError("user %s does not exist; create it first" % params["name"]) from None
        return None


def apply(module):
    params = module.params
    _validate(params)
    uid = _uid(params)
    paths = dict((kind, params[kind + "_path"]) for kind in FILES)
    if module.check_mode:
        return _apply_locked(module, paths, uid)
    directory = os.path.dirname(paths[params["files"][0]]) or "."
    with FileLock(os.path.join(directory, ".subid.lock"), params["lock_timeout"], SubidError):
        return _apply_locked(module, paths, uid)


def _apply_locked(module, paths, uid):
    params = module.params
    user = params["name"]
    texts = {}
    exists = {}
    # Read and parse every file first: a malformed one stops the run before anything is written.
    for kind in FILES:
        texts[kind], exists[kind] = read_text(paths[kind])
        parse(texts[kind], paths[kind])

    wanted = {}
    result = {"changed": False}
    for kind in params["files"]:
        other = "subgid" if kind == "subuid" else "subuid"
        path = paths[kind]
        if params["state"] == "absent" or params["start"] is not None:
            new_text, ranges = plan(texts[kind], path, user, uid, params["count"], params["start"], params["state"])
        else:
            others_elsewhere = [
                (line.start, line.count)
                for line in parse(wanted.get(other, texts[other]), paths[other])
                if line.owner is not None and not owned_by(line, user, uid)
            ]
            new_text, ranges = allocate(
                texts[kind],
                path,
                user,
                uid,
                params["count"],
                params["minimum"],
                params["maximum"],
                others_elsewhere,
            )
        wanted[kind] = new_text
        result[kind] = {
            "start": ranges[0][0] if ranges else None,
            "count": sum(count for _start, count in ranges),
            "ranges": [{"start": start, "count": count} for start, count in ranges],
        }
    changed = [kind for kind in params["files"] if wanted[kind] != texts[kind]]
    result["changed"] = bool(changed)
    if module._diff:
        result["diff"] = [file_diff(paths[kind], texts[kind], wanted[kind]) for kind in changed]
    if module.check_mode or not changed:
        return result

    result["backup_files"] = []
    for kind in changed:
        path = paths[kind]
        mode, owner, group = 0o644, 0, 0
        if exists[kind]:
            status = os.stat(path)
            mode, owner, group = status.st_mode & 0o7777, status.st_uid, status.st_gid
        backup = module.preserved_copy if params["backup"] else None
        backup_file = settle_file(path, encode(wanted[kind]), True, mode, owner, group, backup=backup)
        if backup_file:
            result["backup_files"].append(backup_file)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["user"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            count=dict(type="int", default=65536),
            start=dict(type="int"),
            minimum=dict(type="int", default=100000),
            maximum=dict(type="int", default=600100000),
            files=dict(type="list", elements="str", choices=list(FILES), default=list(FILES)),
            subuid_path=dict(type="path", default="/etc/subuid"),
            subgid_path=dict(type="path", default="/etc/subgid"),
            require_user=dict(type="bool", default=True),
            backup=dict(type="bool", default=True),
            lock_timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, SubidError, subject="the subordinate id files")


if __name__ == "__main__":
    main()
