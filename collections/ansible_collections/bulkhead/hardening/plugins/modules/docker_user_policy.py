#!/usr/bin/python
# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_user_policy
short_description: Enforce an east-west and egress policy for Docker networks in the DOCKER-USER chain
version_added: "0.1.0"
description:
  - Computes the iptables rules of a policy over Docker bridge networks (allow lists by source network,
    destination network or CIDR, protocol and port; default deny east-west and egress) and puts them at the
    top of the C(DOCKER-USER) chain of the filter table, which Docker evaluates before its own forwarding rules.
  - Every rule it writes carries C(-m comment --comment "bulkhead:<name>"). Rules without a C(bulkhead:) comment
    belong to someone else and are never changed; they keep their order below the policy.
  - The first rule accepts established and related traffic (replies). Allow rules follow in the order given.
    With a default deny, traffic within one managed network is handed back to Docker (the network's icc setting
    decides), traffic between a managed network and any other container network is dropped (O(default_deny_east_west))
    and whatever else leaves a managed network is dropped (O(default_deny_egress)).
  - Network names are resolved to bridge interfaces with C(docker network inspect); a network that does not exist
    is an error, except in check mode, where the diff names its bridge as a placeholder. So is, in check mode, a
    network of O(recreated), which the run removes and creates again, with a new bridge, before the policy applies.
  - Applies atomically - one C(iptables-restore --noflush) transaction that removes every Bulkhead rule and inserts
    the wanted ones - after C(iptables-restore --test) accepted it. The chain is read back after applying; when
    applying failed or the chain is not as predicted, the chain saved before is restored and the module fails.
  - With O(save_path), writes the rules to a file that C(bulkhead-docker-user-restore) (installed by the
    container_network role) re-applies after every start of the Docker engine, so that they survive reboots.
author:
  - Bulkhead contributors (@bulkhead)
options:
  rules:
    description: Allow rules, first to last.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The rule's name, in its comment (C(bulkhead:NAME)); unique; letters, digits, C(_), C(.), C(-).
        type: str
        required: true
      from:
        description: The source network (one of O(networks)).
        type: str
        required: true
      to:
        description: The destination, a network of O(networks) or an IPv4 CIDR outside the container networks.
        type: str
        required: true
      ports:
        description: Destination ports; empty allows every port of O(rules[].proto).
        type: list
        elements: int
        default: []
      proto:
        description: The protocol; C(all) only without ports.
        type: str
        choices: [tcp, udp, all]
        default: tcp
  networks:
    description:
      - The managed networks (Docker network names). The default denies apply to them; rules may name only them.
    type: list
    elements: str
    default: []
  default_deny_east_west:
    description: Drop traffic between a managed network and any other container network that no rule allows.
    type: bool
    default: false
  default_deny_egress:
    description: Drop traffic leaving a managed network that no rule allows.
    type: bool
    default: false
  recreated:
    description:
      - Managed networks that this run removes and creates again before the policy applies (what
        M(bulkhead.hardening.docker_networks) returns as C(recreate)). Only check mode uses it, naming their new
        bridges as placeholders instead of the bridges about to go; a real run reads them after re-creation.
    type: list
    elements: str
    default: []
  save_path:
    description: Write the rules here too (root:root 0600) for re-applying at engine start; not written when empty.
    type: path
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
    details: The chain as C(iptables -S DOCKER-USER) prints it, before and after; the saved rules file too.
notes:
  - Only IPv4 (iptables) is enforced. Traffic to the host itself (the INPUT chain) is out of the chain's reach.
  - Docker re-creates C(DOCKER-USER) when it starts but does not flush it; a host reboot empties it.
"""

EXAMPLES = r"""
- name: Let shop reach its own service and one outside API, deny everything else
  bulkhead.hardening.docker_user_policy:
    networks: [shop, pay]
    rules:
      - {name: shop-web, from: shop, to: shop, ports: [8080]}
      - {name: shop-api, from: shop, to: 192.0.2.10/32, ports: [443]}
    default_deny_east_west: true
    default_deny_egress: true
    save_path: /etc/bulkhead/docker-user.rules
"""

RETURN = r"""
rules:
  description: The Bulkhead rules of the chain after the run (predicted in check mode), as C(iptables -S) lines.
  returned: success
  type: list
  elements: str
  sample:
    - -A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "bulkhead:established" -j ACCEPT
bridges:
  description: The bridge interface of every managed network.
  returned: success
  type: dict
  sample: {"shop": "br-0123456789ab"}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import write_atomically
from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_user_policy import (
    CHAIN,
    PolicyError,
    chain_text,
    desired_rules,
    network_from_inspect,
    parse_chain,
    plan,
    rollback_script,
    same_rules,
    saved_rules,
    unresolved,
)
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


def _run(module, argv, data=None):
    return module.run_command(argv, data=data, binary_data=True, environ_update={"LC_ALL": "C"})


def read_networks(module, names):
    """name -> Network for every name; missing networks are placeholders in check mode, else errors.

    In check mode a network about to be re-created counts as missing: its bridge will be a new one."""
    docker = module.get_bin_path(module.params["docker"], required=True)
    rc, out, err = _run(module, [docker, "network", "ls", "--format", "{{.Name}}"])
    if rc != 0:
        raise PolicyError("cannot list the engine's networks: %s" % (err.strip() or out.strip()))
    existing = set(out.split())
    if module.check_mode:
        existing -= set(module.params["recreated"])
    found = [name for name in names if name in existing]
    networks = {}
    if found:
        rc, out, err = _run(module, [docker, "network", "inspect", *found])
        if rc != 0:
            raise PolicyError("cannot inspect networks %s: %s" % (", ".join(found), err.strip()))
        for document in json.loads(out):
            networks[document["Name"]] = network_from_inspect(document)
    missing = [name for name in names if name not in networks]
    if missing and not module.check_mode:
        raise PolicyError(
            "network %s does not exist: create it before enforcing the policy; nothing was changed" % ", ".join(missing)
        )
    for name in missing:
        networks[name] = unresolved(name)
    return networks


def read_chain(module, iptables):
    rc, out, err = _run(module, [iptables, "-w", "10", "-S", CHAIN])
    if rc != 0:
        raise PolicyError(
            "cannot read the %s chain (is the Docker engine running with iptables enabled?): %s"
            % (CHAIN, err.strip() or out.strip())
        )
    return parse_chain(out)


def restore(module, restore_bin, script, test=False):
    argv = [restore_bin, "-w", "10", "--noflush"] + (["--test"] if test else [])
    rc, _out, err = _run(module, argv, data=script.encode("utf-8"))
    return rc, err.strip()


def apply(module):
    params = module.params
    names = list(dict.fromkeys(params["networks"]))
    for rule in params["rules"]:
        for end in (rule["from"], rule["to"]):
            if end not in names and "/" not in end and not end.replace(".", "").isdigit():
                names.append(end)
    networks = read_networks(module, names)
    wanted = desired_rules(
        params["rules"],
        networks,
        params["networks"],
        params["default_deny_east_west"],
        params["default_deny_egress"],
    )
    iptables = module.get_bin_path("iptables", required=True)
    restore_bin = module.get_bin_path("iptables-restore", required=True)
    current = read_chain(module, iptables)
    change = plan(current, wanted)

    save_path = params["save_path"]
    saved_text = saved_rules(wanted)
    saved_before = None
    if save_path:
        try:
            with open(save_path) as handle:
                saved_before = handle.read()
        except (IOError, OSError):
            saved_before = ""
    save_changed = bool(save_path) and saved_before != saved_text

    result = {
        "changed": change.changed or save_changed,
        "rules": chain_text(wanted).splitlines(),
        "bridges": dict((name, networks[name].bridge) for name in params["networks"]),
    }
    if module._diff:
        result["diff"] = []
        if change.changed:
            result["diff"].append(
                {
                    "before": chain_text(change.before),
                    "after": chain_text(change.after),
                    "before_header": "iptables -S %s" % CHAIN,
                    "after_header": "iptables -S %s" % CHAIN,
                }
            )
        if save_changed:
            result["diff"].append(
                {"before": saved_before, "after": saved_text, "before_header": save_path, "after_header": save_path}
            )
    if module.check_mode:
        return result

    if change.changed:
        rc, err = restore(module, restore_bin, change.script, test=True)
        if rc != 0:
            raise PolicyError(
                "iptables-restore --test refused the generated rules (%s); the chain was not changed" % err
            )
        rc, err = restore(module, restore_bin, change.script)
        problem = None
        if rc != 0:
            problem = "iptables-restore failed (%s)" % err
        else:
            after = read_chain(module, iptables)
            if not same_rules(after, change.after):
                problem = "the chain read back is not the predicted one:\n%s" % chain_text(after)
        if problem:
            back_rc, back_err = restore(module, restore_bin, rollback_script(change.before))
            if back_rc != 0:
                raise PolicyError(
                    "%s, and restoring the saved chain failed too (%s): check %s by hand" % (problem, back_err, CHAIN)
                )
            raise PolicyError("%s; the chain saved before was restored" % problem)
    if save_changed:
        directory = os.path.dirname(save_path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_atomically(save_path, saved_text, 0o600, 0, 0)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    to=dict(type="str", required=True),
                    ports=dict(type="list", elements="int", default=[]),
                    proto=dict(type="str", choices=["tcp", "udp", "all"], default="tcp"),
                    **{"from": dict(type="str", required=True)},
                ),
            ),
            networks=dict(type="list", elements="str", default=[]),
            recreated=dict(type="list", elements="str", default=[]),
            default_deny_east_west=dict(type="bool", default=False),
            default_deny_egress=dict(type="bool", default=False),
            save_path=dict(type="path"),
            docker=dict(type="str", default="docker"),
        ),
        supports_check_mode=True,
    )
    finish(module, apply, PolicyError, subject=module.params.get("save_path") or "the DOCKER-USER chain")


if __name__ == "__main__":
    main()
