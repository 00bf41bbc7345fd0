import fcntl
import os

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    FileLock,
    backup_path,
    file_diff,
    write_atomically,
)


class DomainError(Exception):
    pass


@pytest.mark.parametrize(
    ("content", "expected"),
    [("text é\n", "text é\n".encode()), (b"raw \xff bytes\r\n", b"raw \xff bytes\r\n")],
    ids=["text", "bytes"],
)
def test_write_atomically_replaces_the_file_with_owner_and_mode(tmp_path, content, expected):
    target = tmp_path / "file"
    target.write_text("old")
    write_atomically(str(target), content, 0o600, os.getuid(), os.getgid())
    assert target.read_bytes() == expected
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"]


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "file"
    target.write_text("old")

    def refuse(*_args):
        raise OSError("simulated: the rename failed")

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(OSError, match="simulated"):
        write_atomically(str(target), "new", 0o644, os.getuid(), os.getgid())
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"]


def test_backup_path_counts_up_when_the_name_is_taken(tmp_path):
    first = backup_path(str(tmp_path / "daemon.json"), now=0)
    open(first, "w").close()
    second = backup_path(str(tmp_path / "daemon.json"), now=0)
    assert first.endswith(".bak") and second.endswith("-1.bak") and first != second


def test_a_held_lock_raises_the_callers_domain_error(tmp_path):
    lock_path = tmp_path / ".lock"
    with open(lock_path, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(DomainError, match="another run holds"), FileLock(str(lock_path), 0, DomainError):
            pass


class Stat:
    def __init__(self, uid, gid, mode):
        self.st_uid, self.st_gid, self.st_mode = uid, gid, mode


@pytest.mark.parametrize(
    ("existing", "headers"),
    [
        (None, ("/etc/x", "/etc/x")),  # a new file: only the text
        (Stat(0, 0, 0o100644), ("/etc/x", "/etc/x")),  # owner and mode already right
        (Stat(0, 0, 0o100666), ("/etc/x (owner root:root, mode 0666)", "/etc/x (owner root:root, mode 0644)")),
        (Stat(4242, 0, 0o100644), ("/etc/x (owner 4242:root, mode 0644)", "/etc/x (owner root:root, mode 0644)")),
        (Stat(0, 4242, 0o100644), ("/etc/x (owner root:4242, mode 0644)", "/etc/x (owner root:root, mode 0644)")),
    ],
)
def test_file_diff_headers_show_owner_and_mode_changes(existing, headers):
    diff = file_diff("/etc/x", "old\n", "new\n", existing, 0o644)
    assert (diff["before"], diff["after"]) == ("old\n", "new\n")
    assert (diff["before_header"], diff["after_header"]) == headers


def test_file_diff_without_a_wanted_mode_shows_only_the_text():
    diff = file_diff("/etc/x", "a", "b", Stat(4242, 4242, 0o100777))
    assert diff == {"before": "a", "after": "b", "before_header": "/etc/x", "after_header": "/etc/x"}
