# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind file_permissions: rules merged per path, modes capped bitwise, a plan then apply.

A rule's mode is a ceiling, not a value: "0644 or stricter" means no permission bit outside 0644,
so the wanted mode is ``current & ceiling`` and a stricter file (0600) is left as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import os
import pwd
import stat
from collections import OrderedDict

_GLOB_CHARS = frozenset("*?[")


class FileModesError(Exception):
    """Anything that must stop the module before it changes a file."""


def parse_mode(value, where):
    text = str(value)
    try:
        mode = int(text, 8)
    except ValueError:
        raise FileModesError("%s: mode %r is not an octal mode such as '0644'" % (where, value)) from None
    if mode < 0 or mode > 0o7777:
        raise FileModesError("%s: mode %r is out of range" % (where, value))
    return mode


def expand(pattern):
    """The existing paths a pattern names: itself, or its glob matches (sorted)."""
    if _GLOB_CHARS & set(pattern):
        return sorted(glob.glob(pattern))
    return [pattern]


def merge_rules(rules):
    """path -> {owner, group, mode ceiling, required} over all rules; ceilings combine bitwise (AND)."""
    merged = OrderedDict()
    for index, rule in enumerate(rules):
        where = "rules[%d]" % index
        paths = rule.get("paths") or []
        if not paths:
            raise FileModesError("%s: names no paths" % where)
        ceiling = parse_mode(rule["mode"], where) if rule.get("mode") not in (None, "") else None
        for pattern in paths:
            if not os.path.isabs(pattern):
                raise FileModesError("%s: path %r is not absolute" % (where, pattern))
            matches = expand(pattern)
            if rule.get("required") and (not matches or not os.path.lexists(matches[0])):
                raise FileModesError("%s: required path %s does not exist; nothing was changed" % (where, pattern))
            for path in matches:
                entry = merged.setdefault(path, {"owner": None, "group": None, "mode": None})
                for key in ("owner", "group"):
                    if rule.get(key) not in (None, ""):
                        entry[key] = rule[key]
                if ceiling is not None:
                    entry["mode"] = ceiling if entry["mode"] is None else entry["mode"] & ceiling
    return merged


def resolve_ids(merged):
    """Owner and group names (or numeric IDs) to numbers, failing on unknown ones before any change."""
    resolved = OrderedDict()
    for path, entry in merged.items():
        uid = _lookup(entry["owner"], pwd.getpwnam, "user", path)
        gid = _lookup(entry["group"], grp.getgrnam, "group", path)
        resolved[path] = {
            "uid": uid,
            "gid": gid,
            "mode": entry["mode"],
            "owner": entry["owner"],
            "group": entry["group"],
        }
    return resolved


def _lookup(name, getter, kind, path):
    if name is None:
        return None
    if str(name).isdigit():
        return int(name)
    try:
        return getter(name)[2]
    except KeyError:
        raise FileModesError(
            "%s: %s %r does not exist on this host; nothing was changed" % (path, kind, name)
        ) from None


def plan(resolved, stat_function=os.stat):
    """One entry per path: what it is now, what it must become, and whether that is a change."""
    entries = []
    for path, wanted in resolved.items():
        try:
            current = stat_function(path)
        except OSError:
            entries.append({"path": path, "exists": False, "changed": False})
            continue
        mode = stat.S_IMODE(current.st_mode)
        new_mode = mode if wanted["mode"] is None else mode & wanted["mode"]
        new_uid = current.st_uid if wanted["uid"] is None else wanted["uid"]
        new_gid = current.st_gid if wanted["gid"] is None else wanted["gid"]
        entries.append(
            {
                "path": path,
                "exists": True,
                "uid": current.st_uid,
                "gid": current.st_gid,
                "mode": "%04o" % mode,
                "new_uid": new_uid,
                "new_gid": new_gid,
                "new_mode": "%04o" % new_mode,
                "changed": (new_uid, new_gid, new_mode) != (current.st_uid, current.st_gid, mode),
            }
        )
    return entries


def describe(entries, before):
    """The diff text: one line per changed path, "path owner:group mode"."""
    lines = []
    for entry in entries:
        if not entry["changed"]:
            continue
        if before:
            uid, gid, mode = entry["uid"], entry["gid"], entry["mode"]
        else:
            uid, gid, mode = entry["new_uid"], entry["new_gid"], entry["new_mode"]
        lines.append("%s %s:%s %s\n" % (entry["path"], _user(uid), _group(gid), mode))
    return "".join(lines)


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def apply(entries):
    """chown then chmod each changed path (chown can clear setuid bits, so the mode goes last)."""
    for entry in entries:
        if not entry["changed"]:
            continue
        path = entry["path"]
        if (entry["new_uid"], entry["new_gid"]) != (entry["uid"], entry["gid"]):
            os.chown(path, entry["new_uid"], entry["new_gid"])
        os.chmod(path, int(entry["new_mode"], 8))
