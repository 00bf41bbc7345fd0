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


def options(argv, *names):
    """Every value given to any of the options ``names`` (``-x value`` or ``-x=value``)."""
    values = []
    for index, token in enumerate(argv):
        for name in names:
            if token == name and index + 1 < len(argv):
                values.append(argv[index + 1])
            elif token.startswith(name + "="):
                values.append(token.split("=", 1)[1])
    return values


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
