#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: integrity_baseline
short_description: Record sha256 fingerprints of engine binaries and configs and the digests of approved images
version_added: "0.1.0"
description:
  - Computes the sha256 of every file in O(files) (engine binaries such as dockerd, containerd and runc, their
    configuration and systemd units; a missing file is recorded as C(null)) and, for every local Docker image
    with a name under one of O(registries), its image ID and repo digests.
  - Writes them as one JSON document to O(path), atomically, owned by root with mode O(mode). The document
    holds no timestamp, so recording an unchanged host changes nothing.
  - The Bulkhead audit compares the host against this baseline, so that a replaced binary, an edited
    configuration or a re-tagged image shows up as drift.
  - With O(update=false) an existing baseline is never rewritten; a host that drifted from it fails with the
    list of differences.
author:
  - Bulkhead contributors (@bulkhead)
options:
  path:
    description: Where the baseline is kept.
    type: path
    default: /var/lib/bulkhead/baseline.json
  files:
    description: Files to fingerprint.
    type: list
    elements: path
    default: []
  registries:
    description:
      - Approved registries (C(host[:port]) or C(host[:port]/namespace)). Local Docker images named under one of
        them are recorded. Empty records no image and does not need Docker.
      - Names follow Docker's rules, as the audit does (BH-4.11) - a short name is on C(docker.io) (C(docker.io/library)
        for one component), and a namespace covers the repository of that name whatever its tag or digest, so
        C(registry.example.com/platform:1.0) is under C(registry.example.com/platform).
    type: list
    elements: str
    default: []
  docker_command:
    description: The Docker CLI used to list images.
    type: path
    default: docker
  update:
    description: Rewrite an existing baseline that differs. False fails on drift instead.
    type: bool
    default: true
  mode:
    description: Mode of the baseline file, in octal; 0644 or stricter.
    type: raw
    default: "0600"
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the whole baseline before and after.
"""

EXAMPLES = r"""
- name: Record the engine's fingerprints and the approved images
  bulkhead.hardening.integrity_baseline:
    files: [/usr/sbin/dockerd, /usr/bin/containerd, /usr/sbin/runc, /etc/docker/daemon.json]
    registries: [registry.example.com/platform]
"""

RETURN = r"""
baseline:
  description: The baseline as written (or as it would be written in check mode).
  returned: success
  type: dict
differences:
  description: Entries that differ from the existing baseline.
  returned: success
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    attributes_differ,
    file_diff,
    settle_file,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.integrity_baseline import (
    BaselineError,
    build,
    parse_existing,
    render,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def docker_images(module):
    docker = module.get_bin_path(module.params["docker_command"])
    if docker is None:
        raise BaselineError(
            "%s is not installed, so approved images cannot be fingerprinted; set registries to []"
            % module.params["docker_command"]
        )
    rc, out, err = module.run_command([docker, "image", "ls", "--quiet", "--no-trunc"])
    if rc != 0:
        raise BaselineError("docker image ls failed: %s" % (err.strip() or rc))
    ids = sorted(set(out.split()))
    if not ids:
        return []
    rc, out, err = module.run_command([docker, "image", "inspect", *ids])
    if rc != 0:
        raise BaselineError("docker image inspect failed: %s" % (err.strip() or rc))
    return json.loads(out)


def differences(before, after):
    found = []
    for section in ("files", "images"):
        old = before.get(section) or {}
        new = after.get(section) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                found.append("%s %s: %s -> %s" % (section, key, _short(old.get(key)), _short(new.get(key))))
    if before.get("approved_registries") != after.get("approved_registries"):
        found.append("approved_registries changed")
    return found


def _short(value):
    if isinstance(value, dict):
        return value.get("id")
    return value if value is not None else "missing"


def apply(module):
    params = module.params
    path = params["path"]
    mode = int(str(params["mode"]), 8)
    if mode & ~0o644:
        raise BaselineError("mode %s is looser than 0644; the baseline must not be writable by others" % params["mode"])
    images = docker_images(module) if params["registries"] else []
    document = build(params["files"], images, params["registries"])
    text = render(document)

    before_text = ""
    before = {}
    if os.path.exists(path):
        with open(path) as handle:
            before_text = handle.read()
        before = parse_existing(before_text, path)
    changes = differences(before, document) if before_text else ["no baseline yet"]
    stat = os.stat(path) if before_text else None
    content_changed = before_text != text
    if content_changed and before_text and not params["update"]:
        raise BaselineError("%s: the host drifted from its baseline: %s" % (path, "; ".join(changes)))

    result = {
        "changed": content_changed or attributes_differ(stat, mode),
        "baseline": document,
        "differences": changes if content_changed else [],
    }
    if module._diff:
        result["diff"] = file_diff(path, before_text, text, stat, mode)
    if module.check_mode or not result["changed"]:
        return result
    settle_file(path, text, content_changed, mode, directory_mode=0o755)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/bulkhead/baseline.json"),
            files=dict(type="list", elements="path", default=[]),
            registries=dict(type="list", elements="str", default=[]),
            docker_command=dict(type="path", default="docker"),
            update=dict(type="bool", default=True),
            mode=dict(type="raw", default="0600"),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, (BaselineError, ValueError))


if __name__ == "__main__":
    main()
