# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind the docker_networks module: declared bridge networks against the engine's.

No Ansible imports here, so unit tests exercise it directly. Docker cannot change the options of an
existing network (icc, internal, subnet, labels): such a difference is a conflict, resolved only by
removing and re-creating the network, and only when no container (running or stopped) is attached.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

ICC_OPTION = "com.docker.network.bridge.enable_icc"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")


class NetworkError(Exception):
    """Anything that must stop the module before it changes a network."""


def wanted_state(network, app_label, zone_label):
    """The state one declared network must have, in the shape current_state() returns."""
    return {
        "driver": "bridge",
        "icc": bool(network.get("icc", False)),
        "internal": bool(network.get("internal", False)),
        "subnet": _cidr(network["subnet"], network["name"]) if network.get("subnet") else None,
        "labels": {app_label: network["app"], zone_label: network["zone"]},
    }


def current_state(document):
    """The state of one network from ``docker network inspect`` (icc is on unless the option says false)."""
    options = document.get("Options") or {}
    subnets = [entry.get("Subnet") for entry in (document.get("IPAM") or {}).get("Config") or [] if entry.get("Subnet")]
    return {
        "driver": document.get("Driver"),
        "icc": str(options.get(ICC_OPTION, "true")).lower() != "false",
        "internal": bool(document.get("Internal")),
        "subnet": subnets[0] if len(subnets) == 1 else (subnets or None),
        "labels": dict(document.get("Labels") or {}),
    }


def _cidr(value, name):
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        raise NetworkError("network %s: subnet %r is not a network address (%s)" % (name, value, error)) from None


def validate(networks, app_label, zone_label):
    problems = []
    seen = set()
    for index, network in enumerate(networks):
        name = network.get("name") or ""
        where = "networks[%d]" % index
        if not NAME.match(name):
            problems.append("%s: name %r is not a Docker network name" % (where, name))
        elif name in seen:
            problems.append("%s: network %s is declared twice" % (where, name))
        seen.add(name)
        for field in ("app", "zone"):
            if not str(network.get(field) or "").strip():
                problems.append("%s (%s): %s must not be empty" % (where, name, field))
        if network.get("subnet"):
            try:
                _cidr(network["subnet"], name)
            except NetworkError as error:
                problems.append(str(error))
    for label, what in ((app_label, "app_label"), (zone_label, "zone_label")):
        if not LABEL.match(label or ""):
            problems.append("%s %r is not a label name" % (what, label))
    if app_label == zone_label:
        problems.append("app_label and zone_label must differ")
    if problems:
        raise NetworkError("the declared networks are invalid: " + "; ".join(problems) + "; nothing was changed")


def differences(wanted, current):
    """What the existing network has that the declaration does not want, as 'field: has -> wants'."""
    found = []
    if current["driver"] != wanted["driver"]:
        found.append("driver: %s -> %s" % (current["driver"], wanted["driver"]))
    for field in ("icc", "internal"):
        if current[field] != wanted[field]:
            found.append("%s: %s -> %s" % (field, _text(current[field]), _text(wanted[field])))
    if wanted["subnet"] and current["subnet"] != wanted["subnet"]:
        found.append("subnet: %s -> %s" % (current["subnet"], wanted["subnet"]))
    for label, value in sorted(wanted["labels"].items()):
        if current["labels"].get(label) != value:
            found.append("label %s: %s -> %s" % (label, current["labels"].get(label), value))
    return found


def _text(value):
    return "true" if value is True else "false" if value is False else str(value)


def create_argv(docker, name, wanted):
    argv = [docker, "network", "create", "--driver", "bridge", "--opt", "%s=%s" % (ICC_OPTION, _text(wanted["icc"]))]
    if wanted["internal"]:
        argv.append("--internal")
    if wanted["subnet"]:
        argv += ["--subnet", wanted["subnet"]]
    for label, value in sorted(wanted["labels"].items()):
        argv += ["--label", "%s=%s" % (label, value)]
    return [*argv, name]


def describe(state):
    """One line per network for diffs."""
    if state is None:
        return "absent"
    labels = ",".join("%s=%s" % item for item in sorted(state["labels"].items()))
    return "driver=%s icc=%s internal=%s subnet=%s labels=%s" % (
        state["driver"],
        _text(state["icc"]),
        _text(state["internal"]),
        state["subnet"] or "auto",
        labels,
    )


def plan(declared, existing, attached, app_label, zone_label, recreate):
    """Actions per declared network, in order: (name, action, wanted, current, differences).

    ``existing``: name -> inspect document; ``attached``: name -> container names (running or
    stopped). action is ``present``, ``create`` or ``recreate``; conflicts raise NetworkError with
    the list of conflicts as its second argument.
    """
    validate(declared, app_label, zone_label)
    actions = []
    conflicts = []
    for network in declared:
        name = network["name"]
        wanted = wanted_state(network, app_label, zone_label)
        if name not in existing:
            actions.append((name, "create", wanted, None, []))
            continue
        current = current_state(existing[name])
        found = differences(wanted, current)
        if not found:
            actions.append((name, "present", wanted, current, []))
        elif not recreate:
            conflicts.append(
                "network %s exists with other options (%s); Docker cannot change them in place"
                % (name, ", ".join(found))
            )
        elif attached.get(name):
            conflicts.append(
                "network %s differs (%s) but containers are attached (%s): it is not re-created, and Bulkhead "
                "never disconnects containers; remove or move them, then run again"
                % (name, ", ".join(found), ", ".join(sorted(attached[name])))
            )
        else:
            actions.append((name, "recreate", wanted, current, found))
    if conflicts:
        raise NetworkError("; ".join(conflicts) + "; nothing was changed", conflicts)
    return actions
