#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_networks
short_description: Declare Docker bridge networks per application and zone (icc, internal, subnet, labels)
version_added: "0.1.0"
description:
  - Creates every declared bridge network that does not exist, with inter-container communication set
    explicitly (C(com.docker.network.bridge.enable_icc)), C(--internal) where asked, an optional subnet and two
    labels naming the application and the zone.
  - Docker cannot change the options of an existing network. A network that exists with other options (driver,
    icc, internal, subnet, one of the two labels) is a conflict, and the module fails naming the network and the
    difference, before changing anything.
  - With O(recreate), such a network is removed and created again, but only when no container, running or
    stopped, is attached to it; containers are never disconnected.
  - Networks that are not declared are left alone; labels other than the two are not compared.
author:
  - Bulkhead contributors (@bulkhead)
options:
  networks:
    description: The networks.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The network's name.
        type: str
        required: true
      app:
        description: The application whose containers use the network (label O(app_label)).
        type: str
        required: true
      zone:
        description: The zone of the application (label O(zone_label)).
        type: str
        required: true
      subnet:
        description: The subnet (CIDR); Docker picks one when empty, and any subnet is accepted then.
        type: str
      icc:
        description: Allow containers on the network to talk to each other.
        type: bool
        default: false
      internal:
        description: No traffic in or out of the network (C(--internal)), for zones without egress.
        type: bool
        default: false
  app_label:
    description: The label naming the application.
    type: str
    default: app
  zone_label:
    description: The label naming the zone.
    type: str
    default: zone
  recreate:
    description: Remove and re-create a network whose options differ, when no container is attached to it.
    type: bool
    default: false
  docker:
    description: The docker client.
    type: str
    default: docker
extends_documentation_fragment:
  - bulkhead.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One line per declared network (driver, icc, internal, subnet, labels) before and after.
"""

EXAMPLES = r"""
- name: One network per application, the PCI zone without egress
  bulkhead.hardening.docker_networks:
    networks:
      - {name: shop, app: shop, zone: public, subnet: 172.30.1.0/24}
      - {name: pay, app: pay, zone: pci, internal: true}
"""

RETURN = r"""
networks:
  description: What was done (or would be, in check mode) per network - present, create or recreate.
  returned: success
  type: dict
  sample: {"shop": "create", "pay": "present"}
conflicts:
  description: Networks that exist with other options and were not changed, one sentence each.
  returned: failure on a conflict
  type: list
  elements: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_networks import (
    NetworkError,
    create_argv,
    describe,
    plan,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def _run(module, argv):
    rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"})
    if rc != 0:
        raise NetworkError("%s failed: %s" % (" ".join(argv[1:4]), err.strip() or out.strip()))
    return out


def apply(module):
    params = module.params
    docker = module.get_bin_path(params["docker"], required=True)
    names = set(_run(module, [docker, "network", "ls", "--format", "{{.Name}}"]).split())
    declared = [network["name"] for network in params["networks"]]
    found = [name for name in declared if name in names]
    existing = {}
    if found:
        for document in json.loads(_run(module, [docker, "network", "inspect", *found])):
            existing[document["Name"]] = document
    attached = {}
    if params["recreate"]:
        for name in found:
            listing = _run(module, [docker, "ps", "-a", "--filter", "network=" + name, "--format", "{{.Names}}"])
            attached[name] = listing.split()
    actions = plan(
        params["networks"], existing, attached, params["app_label"], params["zone_label"], params["recreate"]
    )
    changed = [action for action in actions if action[1] != "present"]
    result = {"changed": bool(changed), "networks": dict((name, action) for name, action, _w, _c, _d in actions)}
    if module._diff:
        result["diff"] = {
            "before": "".join("%s: %s\n" % (name, describe(current)) for name, _a, _w, current, _d in changed),
            "after": "".join("%s: %s\n" % (name, describe(wanted)) for name, _a, wanted, _c, _d in changed),
            "before_header": "docker networks",
            "after_header": "docker networks",
        }
    if module.check_mode:
        return result
    for name, action, wanted, _current, _differences in changed:
        if action == "recreate":
            _run(module, [docker, "network", "rm", name])
        _run(module, create_argv(docker, name, wanted))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            networks=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    app=dict(type="str", required=True),
                    zone=dict(type="str", required=True),
                    subnet=dict(type="str"),
                    icc=dict(type="bool", default=False),
                    internal=dict(type="bool", default=False),
                ),
            ),
            app_label=dict(type="str", default="app"),
            zone_label=dict(type="str", default="zone"),
            recreate=dict(type="bool", default=False),
            docker=dict(type="str", default="docker"),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, NetworkError, details_key="conflicts", subject="the Docker networks")


if __name__ == "__main__":
    main()
