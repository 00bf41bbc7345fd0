"""The subid module end to end on real files in a temporary directory (only AnsibleModule is faked)."""

import os
import pwd
import shutil
from pathlib import Path

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.subid import SubidError
from ansible_collections.bulkhead.hardening.plugins.modules import subid

OTHERS = "# site ranges, kept byte for byte\nbob:100000:65536\n\ncarol:165536:65536\n"


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = {
            "name": "alice",
            "state": "present",
            "count": 65536,
            "start": None,
            "minimum": 100000,
            "maximum": 600100000,
            "files": ["subuid", "subgid"],
            "require_user": True,
            "backup": True,
            "lock_timeout": 1,
        } | params
        self.check_mode = check_mode
        self._diff = diff

    def preserved_copy(self, src, dest):
        shutil.copy2(src, dest)


@pytest.fixture
def etc(tmp_path, monkeypatch):
    real_getpwnam = pwd.getpwnam

    def getpwnam(name):
        if name == "alice":
            return pwd.struct_passwd(("alice", "x", 1000, 1000, "", "/home/alice", "/bin/sh"))
        if name == "nobody-here":
            raise KeyError(name)
        return real_getpwnam(name)

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(os, "chown", lambda *args: None)
    (tmp_path / "subuid").write_text(OTHERS)
    (tmp_path / "subgid").write_text(OTHERS)
    return tmp_path


def run(etc, check_mode=False, diff=False, **params):
    params = {"subuid_path": str(etc / "subuid"), "subgid_path": str(etc / "subgid")} | params
    return subid.apply(FakeModule(params, check_mode, diff))


def contents(etc):
    return (etc / "subuid").read_text(), (etc / "subgid").read_text()


def test_allocates_the_same_free_range_in_both_files_with_backups(etc):
    result = run(etc)
    assert result["changed"]
    assert result["subuid"] == {"start": 231072, "count": 65536, "ranges": [{"start": 231072, "count": 65536}]}
    assert result["subgid"]["start"] == 231072
    assert contents(etc) == (OTHERS + "alice:231072:65536\n",) * 2
    assert sorted(os.path.basename(path)[:6] for path in result["backup_files"]) == ["subgid", "subuid"]
    for backup in result["backup_files"]:
        assert Path(backup).read_text() == OTHERS


def test_second_run_changes_nothing(etc):
    run(etc)
    result = run(etc)
    assert not result["changed"]
    assert len(list(etc.glob("*.bak"))) == 2


def test_check_mode_with_diff_predicts_and_writes_nothing(etc):
    result = run(etc, check_mode=True, diff=True)
    assert result["changed"]
    assert contents(etc) == (OTHERS, OTHERS)
    assert [entry["before_header"] for entry in result["diff"]] == [str(etc / "subuid"), str(etc / "subgid")]
    assert result["diff"][0]["before"] == OTHERS
    assert result["diff"][0]["after"] == OTHERS + "alice:231072:65536\n"
    assert sorted(path.name for path in etc.iterdir()) == ["subgid", "subuid"]
    # ...and the real run then does exactly what check mode predicted.
    assert run(etc)["subuid"] == result["subuid"]


def test_diff_lists_only_changed_files(etc):
    (etc / "subuid").write_text(OTHERS + "alice:300000:65536\n")
    result = run(etc, diff=True)
    assert [entry["before_header"] for entry in result["diff"]] == [str(etc / "subgid")]
    assert result["subuid"]["start"] == 300000
    # subgid avoids other users' uid ranges, not alice's own.
    assert result["subgid"]["start"] == 231072


def test_keeps_the_range_useradd_gave(etc):
    (etc / "subuid").write_text("alice:100000:65536\n")
    (etc / "subgid").write_text("alice:100000:65536\n")
    result = run(etc, diff=True)
    assert not result["changed"] and result["diff"] == []
    assert result["subuid"]["start"] == 100000


def test_missing_files_are_created_root_0644(etc):
    (etc / "subuid").unlink()
    (etc / "subgid").unlink()
    result = run(etc)
    assert result["backup_files"] == []
    assert contents(etc) == ("alice:100000:65536\n",) * 2
    assert (etc / "subuid").stat().st_mode & 0o777 == 0o644


def test_keeps_the_files_mode(etc):
    (etc / "subuid").chmod(0o600)
    run(etc)
    assert (etc / "subuid").stat().st_mode & 0o777 == 0o600


def test_explicit_range_and_only_one_file(etc):
    result = run(etc, start=300000, count=10, files=["subgid"])
    assert "subuid" not in result
    assert contents(etc) == (OTHERS, OTHERS + "alice:300000:10\n")


def test_absent(etc):
    run(etc)
    result = run(etc, state="absent")
    assert result["changed"] and result["subuid"]["ranges"] == []
    assert contents(etc) == (OTHERS, OTHERS)


@pytest.mark.parametrize(
    ("subuid_text", "params", "message"),
    [
        (OTHERS, {"start": 150000}, r"subuid line 2: the requested range 150000-215535 for alice overlaps bob's"),
        ("bob:100000\n", {}, "subuid line 1 is malformed"),
        (OTHERS, {"name": "nobody-here"}, "user nobody-here does not exist"),
        (OTHERS, {"count": 0}, "count must be at least 1"),
        (OTHERS, {"minimum": 10, "maximum": 5}, "are not a range"),
    ],
    ids=["overlap", "malformed", "no-user", "zero-count", "bad-bounds"],
)
def test_bad_input_fails_before_any_write(etc, subuid_text, params, message):
    (etc / "subuid").write_text(subuid_text)
    with pytest.raises(SubidError, match=message):
        run(etc, **params)
    assert contents(etc) == (subuid_text, OTHERS)
    assert list(etc.glob("*.bak")) == []


def test_a_malformed_subgid_stops_the_subuid_change_too(etc):
    (etc / "subgid").write_text("carol:x:1\n")
    with pytest.raises(SubidError, match="subgid line 1 is malformed"):
        run(etc)
    assert (etc / "subuid").read_text() == OTHERS


def test_a_held_lock_fails_instead_of_interleaving(etc):
    import fcntl

    with open(etc / ".subid.lock", "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(SubidError, match="another run holds"):
            run(etc)
    assert contents(etc) == (OTHERS, OTHERS)
