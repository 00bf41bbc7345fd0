# Copyright: Bulkhead contributors
# Apache License 2.0
"""Safe file replacement shared by the modules: an exclusive lock across read-modify-write, a
timestamped backup name, an atomic write that keeps the directory entry durable, the one step
that writes a file or fixes its owner and mode (``settle_file``), and the diff of a file.

No Ansible imports: unit tests use it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import grp
import os
import pwd
import tempfile
import time


class FileLock(object):
    """An exclusive flock on ``path``; after ``timeout`` seconds it raises ``error`` (a domain error)."""

    def __init__(self, path, timeout, error=RuntimeError):
        self.path = path
        self.timeout = timeout
        self.error = error
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a")
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except IOError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.time() >= deadline:
                    self.handle.close()
                    raise self.error(
                        "another run holds %s for more than %d s; nothing was changed" % (self.path, self.timeout)
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def write_atomically(path, content, mode, uid, gid):
    """Temp file in the same directory, fsync, owner and mode, rename, fsync the directory.

    ``content`` is text (written as UTF-8) or bytes (written as they are).
    """
    data = content.encode("utf-8") if not isinstance(content, bytes) else content
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    directory_handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_handle)
    finally:
        os.close(directory_handle)


def backup_path(path, now=None):
    """``PATH.YYYYmmddTHHMMSS.bak``, with a counter when that name is taken."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    candidate = "%s.%s.bak" % (path, stamp)
    counter = 1
    while os.path.exists(candidate):
        candidate = "%s.%s-%d.bak" % (path, stamp, counter)
        counter += 1
    return candidate


def attributes_differ(existing, mode, uid=0, gid=0):
    """Whether a file's owner or mode (``existing`` is its os.stat(), None when there is no file)
    differ from what the module makes them."""
    if existing is None:
        return False
    return existing.st_uid != uid or existing.st_gid != gid or (existing.st_mode & 0o7777) != mode


def settle_file(path, content, content_changed, mode, uid=0, gid=0, backup=None, directory_mode=None):
    """Bring ``path`` to ``content``, owned by ``uid``:``gid`` with ``mode``; the modules' one write step.

    A changed content is written atomically, after ``backup(path, name)`` (``module.preserved_copy``)
    copied an existing file to a timestamped name when ``backup`` is given; a missing directory is
    made with ``directory_mode`` when given. An unchanged content only gets its owner and mode, in
    place. Returns the backup file's name, or None.
    """
    if not content_changed:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        return None
    backup_file = None
    if backup is not None and os.path.exists(path):
        backup_file = backup_path(path)
        backup(path, backup_file)
    directory = os.path.dirname(path)
    if directory_mode is not None and directory and not os.path.isdir(directory):
        os.makedirs(directory, directory_mode)
    write_atomically(path, content, mode, uid, gid)
    return backup_file


def file_diff(path, before, after, existing=None, mode=None, uid=0, gid=0):
    """Ansible's diff of a file's text; the headers also show owner and mode when those change.

    ``existing`` is the file's os.stat() (None for a new file); ``mode``, ``uid`` and ``gid`` are
    what the module makes them."""
    diff = {"before": before, "after": after, "before_header": path, "after_header": path}
    if existing is None or mode is None:
        return diff
    if existing.st_uid != uid or existing.st_gid != gid or (existing.st_mode & 0o7777) != mode:
        diff["before_header"] = "%s (owner %s, mode %04o)" % (
            path,
            _owner(existing.st_uid, existing.st_gid),
            existing.st_mode & 0o7777,
        )
        diff["after_header"] = "%s (owner %s, mode %04o)" % (path, _owner(uid, gid), mode)
    return diff


def _owner(uid, gid):
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return "%s:%s" % (user, group)
