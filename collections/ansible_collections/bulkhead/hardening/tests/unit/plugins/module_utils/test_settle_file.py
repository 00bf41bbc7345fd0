"""atomic_file.settle_file and attributes_differ: the one "write the file or fix its owner and mode"
step of audit_rules, docker_daemon_config, containers_config and integrity_baseline, on real files."""

import os

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.atomic_file import attributes_differ, settle_file

UID, GID = os.getuid(), os.getgid()


class Stat:
    def __init__(self, uid, gid, mode):
        self.st_uid, self.st_gid, self.st_mode = uid, gid, mode


@pytest.mark.parametrize(
    ("existing", "mode", "uid", "gid", "differ"),
    [
        (None, 0o644, 0, 0, False),  # no file yet: its content is what changes
        (Stat(0, 0, 0o100644), 0o644, 0, 0, False),
        (Stat(0, 0, 0o100600), 0o644, 0, 0, True),
        (Stat(0, 0, 0o104644), 0o644, 0, 0, True),  # setuid bit
        (Stat(4242, 0, 0o100644), 0o644, 0, 0, True),
        (Stat(0, 4242, 0o100644), 0o644, 0, 0, True),
        (Stat(4242, 4242, 0o100640), 0o640, 4242, 4242, False),
    ],
)
def test_attributes_differ(existing, mode, uid, gid, differ):
    assert attributes_differ(existing, mode, uid, gid) is differ


class Copies:
    """module.preserved_copy: records and performs the copy."""

    def __init__(self):
        self.made = []

    def __call__(self, source, destination):
        with open(source, "rb") as original, open(destination, "wb") as copy:
            copy.write(original.read())
        self.made.append((source, destination))


# (what is on disk before: None, or (text, mode); content; content_changed; mode; backup?; directory
#  missing?; expected text after; expected mode after; a backup kept?)
CASES = [
    ("new-file", None, "new\n", True, 0o640, False, False, "new\n", 0o640, False),
    ("new-file-in-a-new-directory", None, "new\n", True, 0o600, False, True, "new\n", 0o600, False),
    ("changed-without-backup", ("old\n", 0o644), "new\n", True, 0o644, False, False, "new\n", 0o644, False),
    ("changed-with-backup", ("old\n", 0o644), "new\n", True, 0o600, True, False, "new\n", 0o600, True),
    ("mode-only", ("same\n", 0o666), "same\n", False, 0o644, True, False, "same\n", 0o644, False),
    ("new-file-with-backup-asked", None, "new\n", True, 0o644, True, False, "new\n", 0o644, False),
]


@pytest.mark.parametrize(
    ("before", "content", "changed", "mode", "backup", "new_directory", "after", "after_mode", "kept"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_settle_file(tmp_path, before, content, changed, mode, backup, new_directory, after, after_mode, kept):
    directory = tmp_path / "made" if new_directory else tmp_path
    path = directory / "file"
    if before is not None:
        path.write_text(before[0])
        path.chmod(before[1])
    inode = path.stat().st_ino if before is not None else None
    copies = Copies()
    result = settle_file(
        str(path), content, changed, mode, UID, GID, backup=copies if backup else None, directory_mode=0o750
    )
    assert path.read_text() == after
    assert path.stat().st_mode & 0o7777 == after_mode
    assert (path.stat().st_uid, path.stat().st_gid) == (UID, GID)
    if new_directory:
        assert directory.stat().st_mode & 0o777 == 0o750
    if not changed:
        assert path.stat().st_ino == inode  # owner and mode fixed in place, nothing rewritten
    if kept:
        assert result is not None and result.endswith(".bak") and copies.made == [(str(path), result)]
        with open(result) as saved:
            assert saved.read() == before[0]
    else:
        assert result is None and copies.made == []
    backups = [os.path.basename(result)] if kept else []
    assert sorted(entry.name for entry in directory.iterdir()) == sorted(["file", *backups])


def test_a_missing_directory_is_an_error_when_no_mode_is_given(tmp_path):
    with pytest.raises(OSError):
        settle_file(str(tmp_path / "absent" / "file"), "x", True, 0o644, UID, GID)
