import fcntl
import os

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import (
    FileLock,
    backup_path,
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
