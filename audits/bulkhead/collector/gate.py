"""The admission gate's policy as the audit needs it: path, default mode, per-control modes.

The collector runs on the target with the standard library only, so the policy (YAML) is read with a
small reader that understands what ``bulkhead gate check-policy`` accepts for the two keys needed:
``default: MODE`` and ``controls:`` as a block (``  "5.4": enforce``) or a flow mapping
(``{"5.4": enforce}``), and JSON. Exceptions are only counted; nothing else leaves the host.
"""

import json
import os
import re

from .facts import FactError, read_optional

GATE_POLICY = "/etc/bulkhead/gate-policy.yml"
GATE_BREAK_GLASS = "/etc/bulkhead/gate.disabled"
_OFF = {"off", "false", "no"}


def _scalar(text):
    text = text.split(" #", 1)[0].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


def _mode(text):
    value = _scalar(text).lower()
    return "off" if value in _OFF else value


def _flow_mapping(text):
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise FactError("cannot read the controls of the gate policy: {}".format(body[:40]))
    pairs = {}
    for item in body[1:-1].split(","):
        if item.strip():
            key, _, value = item.partition(":")
            pairs[_scalar(key)] = _mode(value)
    return pairs


def parse_policy(text):
    """{"default", "controls", "exceptions"} from the policy's text (JSON or the YAML the gate accepts)."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        controls = document.get("controls") or {}
        default = document.get("default", "audit")
        return {
            "default": "off" if default is False else _mode(str(default)),
            "controls": {str(key): ("off" if value is False else _mode(str(value))) for key, value in controls.items()},
            "exceptions": len(document.get("exceptions") or []),
        }
    default, controls, exceptions, section = "audit", {}, 0, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line.strip() == "---":
            continue
        top = re.match(r"^([A-Za-z_]+):(.*)$", line)
        if top:
            section, rest = top.group(1), top.group(2).strip()
            if section == "default":
                default = _mode(rest)
            elif section == "controls" and rest.startswith("{"):
                controls.update(_flow_mapping(rest[: rest.rfind("}") + 1]))
            continue
        if section == "controls":
            entry = re.match(r"^\s+(\"[^\"]+\"|'[^']+'|[^:#\s]+)\s*:\s*(.*)$", line)
            if entry:
                controls[_scalar(entry.group(1))] = _mode(entry.group(2))
        elif section == "exceptions" and re.match(r"^\s*- ", line):
            exceptions += 1
    return {"default": default, "controls": controls, "exceptions": exceptions}


def gate_policy(path=GATE_POLICY, break_glass=GATE_BREAK_GLASS):
    """The gate's policy modes, or None when this host has no gate policy."""
    text = read_optional(path)
    if text is None:
        return None
    policy = parse_policy(text)
    policy["path"] = path
    policy["break_glass"] = os.path.exists(break_glass)
    return policy
