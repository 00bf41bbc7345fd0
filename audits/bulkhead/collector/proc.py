"""ONE snapshot of /proc per collection, which every fact about processes reads.

``take()`` lists /proc once and reads each process's command line and status (uid, gid, parent);
the rarer files (comm, namespace links, uid_map and gid_map) are read the first time a fact asks
for them and kept, so no file is read twice and no fact walks /proc again. A process that exits
meanwhile, or whose files this user may not read, is what it was before: unreadable (None).
"""

import os

from .facts import FactError

PROC = "/proc"
# The initial user namespace's uid_map: a process with it is in no user namespace of its own.
IDENTITY_MAP = [[0, 0, 4294967295]]
_STATUS_KEYS = ("PPid", "Uid", "Gid")


class Process:
    """One process as the snapshot saw it: pid, argv (empty parts dropped), uid, gid and ppid (host view)."""

    __slots__ = ("_files", "_root", "argv", "gid", "pid", "ppid", "uid")

    def __init__(self, root, pid, argv, status):
        self._root = root
        self._files = {}
        self.pid = pid
        self.argv = argv
        self.uid = status["Uid"]
        self.gid = status["Gid"]
        self.ppid = status["PPid"]

    def _once(self, name, reader):
        if name not in self._files:
            try:
                self._files[name] = reader("{}/{}/{}".format(self._root, self.pid, name))
            except (OSError, ValueError):
                self._files[name] = None
        return self._files[name]

    @property
    def name(self):
        """basename of argv[0], "" for a kernel thread."""
        return os.path.basename(self.argv[0]) if self.argv else ""

    def comm(self):
        return self._once("comm", _read_comm)

    def namespace(self, kind):
        """The ns/<kind> link ("pid:[4026531836]"), None when unreadable."""
        return self._once("ns/" + kind, os.readlink)

    def id_map(self, kind):
        """uid_map or gid_map as [[inside, outside, count], ...], None when unreadable."""
        return self._once(kind + "_map", _read_id_map)


class Snapshot:
    """The processes /proc listed once, by pid, and the collector's own namespaces."""

    def __init__(self, root, processes, own_namespaces, error=None):
        self.root = root
        self.by_pid = processes
        self.own_namespaces = own_namespaces
        self.error = error

    def processes(self):
        """Every process, by pid; an unreadable /proc is a FactError for the fact that asks."""
        if self.error:
            raise FactError(self.error)
        return [self.by_pid[pid] for pid in sorted(self.by_pid)]

    def get(self, pid):
        """The process ``pid`` (int or str), or None when the snapshot did not see it."""
        try:
            return self.by_pid.get(int(pid))
        except (TypeError, ValueError):
            return None

    def own_namespace(self, kind):
        return self.own_namespaces.get(kind)

    def commands(self, name):
        """argv of every process whose executable is called ``name``."""
        return [process.argv for process in self.processes() if process.name == name]

    def foreign(self, pid):
        """True when ``pid`` belongs to another host's view: a container's nested engine or shim.

        The process, or for a rootless one its first ancestor outside any user namespace
        (rootlesskit on the host), must share the collector's mount namespace. When that cannot be
        read the process is kept: the audit must rather look at too much than miss an engine.
        """
        own = self.own_namespace("mnt")
        current = self.get(pid)
        for _ in range(64):
            if own is None or current is None:
                return False
            uid_map = current.id_map("uid")
            if uid_map is None:
                return False
            if uid_map == IDENTITY_MAP:
                namespace = current.namespace("mnt")
                return namespace is not None and namespace != own
            current = self.get(current.ppid)
        return False


def _read_argv(path):
    with open(path, "rb") as handle:
        return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]


def _read_status(path):
    """PPid, Uid and Gid (the real ids) of a status file."""
    found = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in _STATUS_KEYS:
                found[key] = int(value.split()[0])
    for key in _STATUS_KEYS:
        if key not in found:
            raise ValueError("no {} in {}".format(key, path))
    return found


def _read_comm(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read().strip()


def _read_id_map(path):
    with open(path, encoding="utf-8") as handle:
        return [[int(part) for part in line.split()] for line in handle if line.strip()]


def take(root=PROC):
    """The snapshot: one listing of ``root``, command line and status of each process."""
    own = {}
    for kind in ("pid", "mnt"):
        try:
            own[kind] = os.readlink("{}/self/ns/{}".format(root, kind))
        except OSError:
            own[kind] = None
    try:
        entries = os.listdir(root)
    except OSError as error:
        return Snapshot(root, {}, own, "cannot list {}: {}".format(root, error))
    processes = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            argv = _read_argv("{}/{}/cmdline".format(root, entry))
            status = _read_status("{}/{}/status".format(root, entry))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        processes[int(entry)] = Process(root, int(entry), argv, status)
    return Snapshot(root, processes, own)
