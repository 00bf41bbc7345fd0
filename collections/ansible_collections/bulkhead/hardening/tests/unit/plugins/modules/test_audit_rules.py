"""The audit_rules module end to end on real files in a temporary directory (only AnsibleModule is faked)."""

import os
import re
import shutil
from pathlib import Path

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.audit_rules import AuditRulesError
from ansible_collections.bulkhead.hardening.plugins.modules import audit_rules

KEYS = {
    "engine": "bulkhead_engine",
    "socket": "bulkhead_docker_socket",
    "client": "bulkhead_container_client",
    "group": "bulkhead_docker_group",
    "sudoers": "bulkhead_sudoers",
}


class FakeModule:
    """What apply() uses of AnsibleModule; commands answer from ``commands`` (argv tuple -> rc, out, err)."""

    def __init__(self, params, check_mode=False, diff=False, commands=None, auditctl="/sbin/auditctl"):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.commands = commands or {}
        self.auditctl = auditctl
        self.ran = []

    def preserved_copy(self, src, dest):
        shutil.copy2(src, dest)

    def get_bin_path(self, name):
        return self.auditctl if name == "auditctl" else None

    def run_command(self, argv):
        assert isinstance(argv, list), "commands are argv lists, never shell strings"
        self.ran.append(argv)
        return self.commands.get(tuple(argv), (1, "", "unexpected command"))


@pytest.fixture
def host(tmp_path, monkeypatch):
    """An engine's files under tmp_path (dockerd a symlink to the real binary) and a rules.d directory."""
    for name in ("sbin/dockerd", "etc/docker/daemon.json", "bin/docker"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "bin" / "dockerd").symlink_to(tmp_path / "sbin" / "dockerd")
    (tmp_path / "rules.d").mkdir()
    monkeypatch.setattr(os, "chown", lambda *args: None)
    return tmp_path


def params(host, **changes):
    values = {
        "path": str(host / "rules.d" / "50-bulkhead-container-host.rules"),
        "controls": ["1.1.3", "1.1.6", "1.1.13", "BH-1.2"],
        "engine_paths": {
            "1.1.3": [str(host / "bin" / "dockerd")],
            "1.1.6": [str(host / "etc" / "docker")],
            "1.1.13": [str(host / "etc" / "sysconfig" / "docker")],
        },
        "engine_binaries": ["1.1.3"],
        "data_root": "/var/lib/docker",
        "admin_clients": [str(host / "bin" / "docker"), str(host / "bin" / "podman")],
        "keys": KEYS,
        "kernel_status": False,
        "backup": True,
        "mode": "0640",
    }
    values.update(changes)
    return values


def run(host, check_mode=False, diff=False, **changes):
    return audit_rules.apply(FakeModule(params(host, **changes), check_mode, diff))


def rules_file(host):
    return host / "rules.d" / "50-bulkhead-container-host.rules"


def test_writes_the_resolved_rules(host):
    result = run(host)
    text = rules_file(host).read_text()
    assert result["changed"] and result["content"] == text
    assert f"-w {host}/sbin/dockerd -p wxa -k bulkhead_engine\n" in text
    assert f"-w {host}/etc/docker -p wa -k bulkhead_engine\n" in text
    assert f"-F path={host}/bin/docker -F perm=x" in text and "podman" not in text
    assert result["absent"] == [f"1.1.13 ({host}/etc/sysconfig/docker)"]
    assert result["keys"] == ["bulkhead_engine", "bulkhead_docker_socket", "bulkhead_container_client"]
    assert rules_file(host).stat().st_mode & 0o777 == 0o640
    assert "backup_file" not in result


def test_second_run_changes_nothing(host):
    run(host)
    result = run(host)
    assert not result["changed"]
    assert list((host / "rules.d").iterdir()) == [rules_file(host)]


def test_check_mode_with_diff_predicts_and_writes_nothing(host):
    result = run(host, check_mode=True, diff=True)
    assert result["changed"] and not rules_file(host).exists()
    assert result["diff"]["before"] == "" and result["diff"]["after"] == result["content"]
    assert list((host / "rules.d").iterdir()) == []


def test_a_change_keeps_a_backup_and_the_other_controls_blocks(host):
    run(host)
    first = rules_file(host).read_text()
    result = run(host, controls=["1.1.6"], engine_paths=params(host)["engine_paths"] | {"1.1.6": ["/nonexistent"]})
    assert Path(result["backup_file"]).read_text() == first
    text = rules_file(host).read_text()
    assert "# none of /nonexistent exists on this host" in text
    assert f"-w {host}/sbin/dockerd -p wxa -k bulkhead_engine\n" in text, "1.1.3 was not selected: its block stays"


def test_no_backup_when_switched_off(host):
    run(host)
    result = run(host, backup=False, controls=["1.1.3"], engine_binaries=[])
    assert result["changed"] and "backup_file" not in result
    assert list((host / "rules.d").iterdir()) == [rules_file(host)]


def test_tightens_a_loose_mode_without_rewriting(host):
    run(host)
    rules_file(host).chmod(0o644)
    result = run(host, diff=True)
    assert result["changed"] and "backup_file" not in result
    assert rules_file(host).stat().st_mode & 0o777 == 0o640
    assert "mode 0644" in result["diff"]["before_header"]


def test_a_rule_that_fails_the_check_writes_nothing(host):
    rules_file(host).write_text("## BEGIN 1.1.6\n-D\n## END 1.1.6\n")
    with pytest.raises(AuditRulesError) as raised:
        run(host, controls=["1.1.3"])
    assert raised.value.args[1] == ["line 9: -D is a global setting: keep it in the operator's own rules files"]
    assert "nothing was written" in raised.value.args[0]
    assert rules_file(host).read_text() == "## BEGIN 1.1.6\n-D\n## END 1.1.6\n"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "0644"}, "mode 0644 is looser than 0640"),
        ({"mode": "rw"}, "mode 'rw' is not an octal mode"),
        ({"controls": ["2.2"]}, "unknown control(s) 2.2"),
        ({"keys": KEYS | {"engine": "a b"}}, "keys.engine 'a b'"),
    ],
    ids=["loose-mode", "not-octal", "unknown-control", "bad-key"],
)
def test_bad_input_fails_before_anything_is_read(host, changes, message):
    with pytest.raises(AuditRulesError, match=re.escape(message)):
        run(host, **changes)
    assert not rules_file(host).exists()


def test_a_directory_in_place_of_the_file(host):
    rules_file(host).mkdir()
    with pytest.raises(AuditRulesError, match="is a directory"):
        run(host)


AUDITCTL_S_RUNNING = "enabled 1\nfailure 1\npid 812\n"
ALL_KEYS = ["bulkhead_engine", "bulkhead_docker_socket", "bulkhead_container_client"]


@pytest.mark.parametrize(
    ("commands", "auditctl", "expected"),
    [
        (
            {("/sbin/auditctl", "-s"): (0, AUDITCTL_S_RUNNING, ""), ("/sbin/auditctl", "-l"): (0, "No rules\n", "")},
            "/sbin/auditctl",
            {"pid": 812, "locked": False, "missing_keys": ALL_KEYS},
        ),
        (
            {
                ("/sbin/auditctl", "-s"): (0, "enabled 2\npid 812\n", ""),
                ("/sbin/auditctl", "-l"): (
                    0,
                    "-w /x -p wa -k bulkhead_engine\n-a always,exit -S connect -F key=bulkhead_docker_socket\n",
                    "",
                ),
            },
            "/sbin/auditctl",
            {"pid": 812, "locked": True, "missing_keys": ["bulkhead_container_client"]},
        ),
        (
            {("/sbin/auditctl", "-s"): (1, "", "Operation not permitted")},
            "/sbin/auditctl",
            {"pid": 0, "locked": False, "missing_keys": [], "message": "auditctl -s: Operation not permitted"},
        ),
        (
            {("/sbin/auditctl", "-s"): (0, AUDITCTL_S_RUNNING, ""), ("/sbin/auditctl", "-l"): (1, "", "denied")},
            "/sbin/auditctl",
            {"pid": 812, "missing_keys": ALL_KEYS},
        ),
        ({}, None, {"pid": 0, "message": "auditctl is not installed"}),
    ],
    ids=["running-no-rules", "locked-one-key-missing", "in-a-container", "rules-unreadable", "no-auditctl"],
)
def test_kernel_status(host, commands, auditctl, expected):
    module = FakeModule(params(host, kernel_status=True), check_mode=True, commands=commands, auditctl=auditctl)
    status = audit_rules.apply(module)["auditd"]
    assert {key: status[key] for key in expected} == expected
    assert all(argv[1:] in (["-s"], ["-l"]) for argv in module.ran), "only read-only auditctl queries"


def test_kernel_status_not_asked(host):
    module = FakeModule(params(host, kernel_status=False))
    assert audit_rules.apply(module)["auditd"]["pid"] == 0 and module.ran == []
