"""fact() and FactError, and the helpers the collector's other modules share."""

import grp
import os
import pwd
import stat
import subprocess
import threading

COMMAND_TIMEOUT = 60


class FactError(Exception):
    """A fact that could not be found out: reported as {"error": message}."""


def fact(function, *args):
    try:
        return {"value": function(*args)}
    except FactError as error:
        return {"error": str(error)}
    except Exception as error:  # the audit must see every failure as an error, never crash
        return {"error": "{}: {}".format(type(error).__name__, error)}


def run(argv):
    """stdout of a command; a missing command, a timeout or a non-zero exit is a FactError."""
    try:
        completed = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise FactError("{} is not installed".format(argv[0])) from None
    except subprocess.TimeoutExpired:
        raise FactError("{} did not answer within {} s".format(" ".join(argv[:3]), COMMAND_TIMEOUT)) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FactError("{} failed: {}".format(" ".join(argv[:3]), message[-1] if message else completed.returncode))
    return completed.stdout.decode("utf-8", "replace")


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_optional(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def stat_paths(paths):
    """path -> exists, owner and group (names and ids), mode ("0644") and type (symlinks followed)."""
    stats = {}
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            stats[path] = {"exists": False}
            continue
        stats[path] = {
            "exists": True,
            "uid": info.st_uid,
            "gid": info.st_gid,
            "owner": _name(pwd.getpwuid, info.st_uid),
            "group": _name(grp.getgrgid, info.st_gid),
            "mode": "{:04o}".format(stat.S_IMODE(info.st_mode)),
            "type": "directory" if stat.S_ISDIR(info.st_mode) else "socket" if stat.S_ISSOCK(info.st_mode) else "file",
        }
    return stats


# dockerd's boolean shorthands (--debug, --version, --help): in a group (-DH x) they take no value.
BOOLEAN_SHORTHANDS = "Dvh"


def options(argv, *names):
    """Every value given to any of the options ``names`` (``-x value``, ``--x=value``, ``-xvalue``,
    ``-x=value``, ``-Dx value``; a single-dash long name such as a shim's ``-id`` is matched whole).

    The stdlib copy of ``bulkhead.checks.daemon.command_line_values``."""
    values = []
    shorthands = set(name[1:] for name in names if len(name) == 2)
    for index, token in enumerate(argv):
        following = argv[index + 1] if index + 1 < len(argv) else None
        named = [name for name in names if token == name or token.startswith(name + "=")]
        for name in named:
            if token != name:
                values.append(token.split("=", 1)[1])
            elif following is not None:
                values.append(following)
        if not named and token.startswith("-") and not token.startswith("--") and len(token) > 1:
            values.extend(_shorthand_values(token[1:], following, shorthands))
    return values


def _shorthand_values(group, following, wanted):
    for position, letter in enumerate(group):
        rest = group[position + 1 :]
        if rest.startswith("="):
            return [rest[1:]] if letter in wanted else []
        if letter in BOOLEAN_SHORTHANDS:
            continue
        value = rest or following
        return [value] if letter in wanted and value is not None else []
    return []


def option(argv, *names):
    values = options(argv, *names)
    return values[0] if values else None


def engine_label(engine):
    """How reports name an engine: "docker (rootful)", "podman (rootless, user alice)"."""
    label = "{} ({})".format(engine["kind"], engine["mode"])
    return label if not engine["user"] else "{} ({}, user {})".format(engine["kind"], engine["mode"], engine["user"])


class Background(threading.Thread):
    """Runs ``function(*args)`` while the caller goes on; ``result()`` waits for its value."""

    def __init__(self, function, *args):
        threading.Thread.__init__(self, daemon=True)
        self.function = function
        self.args = args
        self.value = None
        self.start()

    def run(self):
        self.value = self.function(*self.args)

    def result(self):
        self.join()
        return self.value
