import os

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.file_modes import (
    FileModesError,
    merge_rules,
    parse_mode,
    plan,
    resolve_ids,
)
from ansible_collections.bulkhead.hardening.plugins.modules import file_permissions


class FakeModule:
    def __init__(self, rules, check_mode=False, diff=False):
        self.params = {"rules": rules}
        self.check_mode = check_mode
        self._diff = diff


def rule(paths, mode=None, owner=None, group=None, required=False):
    return {"paths": paths, "mode": mode, "owner": owner, "group": group, "required": required}


@pytest.mark.parametrize(
    ("current", "ceiling", "expected"),
    [
        (0o644, "0644", 0o644),
        (0o600, "0644", 0o600),
        (0o666, "0644", 0o644),
        (0o777, "0755", 0o755),
        (0o4755, "0755", 0o755),
        (0o640, "0444", 0o440),
        (0o600, "0400", 0o400),
        (0o660, "0660", 0o660),
        (0o000, "0644", 0o000),
    ],
    ids=["equal", "stricter-kept", "group-other-write", "dir", "setuid-cleared", "cert", "key", "socket", "none"],
)
def test_modes_are_capped_bitwise_never_loosened(tmp_path, current, ceiling, expected):
    target = tmp_path / "f"
    target.write_text("")
    target.chmod(current)
    result = file_permissions.run(FakeModule([rule([str(target)], ceiling)]))
    assert target.stat().st_mode & 0o7777 == expected
    assert result["changed"] == (current != expected)


def test_check_mode_and_diff_predict_without_changing(tmp_path):
    loose, fine = tmp_path / "loose", tmp_path / "fine"
    for path, mode in ((loose, 0o666), (fine, 0o600)):
        path.write_text("")
        path.chmod(mode)
    result = file_permissions.run(FakeModule([rule([str(loose), str(fine)], "0644")], check_mode=True, diff=True))
    assert result["changed_paths"] == [str(loose)]
    assert loose.stat().st_mode & 0o777 == 0o666
    assert result["diff"]["before"].endswith(" 0666\n") and result["diff"]["after"].endswith(" 0644\n")
    assert str(fine) not in result["diff"]["before"]


def test_second_run_changes_nothing(tmp_path):
    target = tmp_path / "f"
    target.write_text("")
    target.chmod(0o666)
    rules = [rule([str(target)], "0644", owner=str(os.getuid()), group=str(os.getgid()))]
    assert file_permissions.run(FakeModule(rules))["changed"]
    assert not file_permissions.run(FakeModule(rules))["changed"]


def test_missing_optional_paths_and_globs_are_skipped(tmp_path):
    (tmp_path / "certs.d" / "r:5000").mkdir(parents=True)
    (tmp_path / "certs.d" / "r:5000" / "ca.crt").write_text("")
    (tmp_path / "certs.d" / "r:5000" / "ca.crt").chmod(0o644)
    result = file_permissions.run(
        FakeModule([rule([str(tmp_path / "certs.d" / "*" / "*"), str(tmp_path / "absent")], "0444")])
    )
    assert result["changed_paths"] == [str(tmp_path / "certs.d" / "r:5000" / "ca.crt")]
    assert {"path": str(tmp_path / "absent"), "exists": False, "changed": False} in result["files"]


def test_rules_for_one_path_combine(tmp_path):
    target = str(tmp_path / "f")
    merged = merge_rules([rule([target], owner="root"), rule([target], "0644"), rule([target], "0640", group="docker")])
    assert merged[target] == {"owner": "root", "group": "docker", "mode": 0o640}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([rule(["/etc/x"], "rw")], "not an octal mode"),
        ([rule(["/etc/x"], "17777")], "out of range"),
        ([rule(["relative/path"], "0644")], "is not absolute"),
        ([rule([], "0644")], "names no paths"),
        (
            [rule(["/nonexistent/bulkhead"], "0644", required=True)],
            "required path /nonexistent/bulkhead does not exist",
        ),
        ([rule(["/etc/hostname"], owner="no-such-user-bulkhead")], "user 'no-such-user-bulkhead' does not exist"),
        ([rule(["/etc/hostname"], group="no-such-group-bulkhead")], "group 'no-such-group-bulkhead' does not exist"),
    ],
    ids=["bad-mode", "mode-range", "relative", "no-paths", "required-missing", "unknown-user", "unknown-group"],
)
def test_bad_rules_fail_before_any_change(rules, message):
    with pytest.raises(FileModesError, match=message):
        plan(resolve_ids(merge_rules(rules)))


def test_a_bad_rule_after_good_ones_changes_nothing(tmp_path):
    target = tmp_path / "f"
    target.write_text("")
    target.chmod(0o666)
    with pytest.raises(FileModesError):
        file_permissions.run(
            FakeModule([rule([str(target)], "0644"), rule([str(target)], owner="no-such-user-bulkhead")])
        )
    assert target.stat().st_mode & 0o777 == 0o666


def test_parse_mode_accepts_leading_zero_or_not():
    assert parse_mode("644", "x") == parse_mode("0644", "x") == 0o644
