"""Section 1 checks on hand-made states: loaded-rule and live-kernel checks never pass blind."""

import pytest

from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState
from bulkhead.suites import test_1_host as suite

RULES = "-w /usr/sbin/dockerd -p wxa -k bulkhead_engine\n"


def host(**facts):
    base = {
        "audit_status": {"auditd_running": True, "container": None, "kernel": {"enabled": "1", "pid": "42"}},
        "audit_rules_files": {"rules_d": {"/etc/audit/rules.d/50-b.rules": RULES}, "audit_rules": RULES},
        "audit_loaded_rules": RULES,
        "engine_paths": {"controls": {"1.1.3": {"/usr/bin/dockerd": None, "/usr/sbin/dockerd": "/usr/sbin/dockerd"}}},
        "dockerd_processes": [{"pid": 1, "uid": 0, "user": "root", "rootless": False, "argv": ["/usr/sbin/dockerd"]}],
        "docker_group": {"exists": True, "members": ["alice", "bob"], "primary": []},
    }
    base.update(facts)
    return HostState("h", {name: {"value": value} for name, value in base.items()})


def outcome(check, *args):
    try:
        check(*args)
    except pytest.skip.Exception as skipped:
        return "not_applicable", str(skipped.msg)
    except pytest.fail.Exception as failed:
        return "fail", str(failed.msg)
    except FactUnavailable as error:
        return "error", str(error)
    return "pass", ""


def test_loaded_rules_pass_only_when_auditd_runs_and_has_them():
    assert outcome(suite.test_audit_rules_are_loaded, host())[0] == "pass"
    assert outcome(suite.test_audit_rules_are_loaded, host(audit_loaded_rules=""))[0] == "fail"


def test_loaded_rules_are_an_error_where_auditd_does_not_run():
    status = {"auditd_running": False, "container": None, "kernel": {"enabled": "0", "pid": "0"}}
    result = outcome(suite.test_audit_rules_are_loaded, host(audit_status=status))
    assert result == ("error", "auditd is not running, so the loaded audit rules cannot be checked")


def test_loaded_rules_and_live_kernel_are_not_applicable_in_a_container():
    status = {"auditd_running": False, "container": "it runs in a pid namespace of its own", "kernel": None}
    state = host(audit_status=status)
    assert outcome(suite.test_audit_rules_are_loaded, state)[0] == "not_applicable"
    assert outcome(suite.test_kernel_parameters_in_effect, state)[0] == "not_applicable"


def test_engine_path_rules_and_missing_paths():
    assert outcome(suite.test_engine_files_audited_1_1_3, host())[0] == "pass"
    unwatched = host(audit_rules_files={"rules_d": {}, "audit_rules": ""})
    assert outcome(suite.test_engine_files_audited_1_1_3, unwatched) == (
        "fail",
        "/usr/sbin/dockerd is not watched by any audit rule in /etc/audit/rules.d",
    )
    absent = host(engine_paths={"controls": {"1.1.3": {"/usr/bin/dockerd": None}}})
    assert outcome(suite.test_engine_files_audited_1_1_3, absent)[0] == "not_applicable"


def test_docker_group_against_the_allowlist():
    allow_alice = AuditConfig({"docker_group_allowlist": ["alice"]})
    assert outcome(suite.test_docker_group_members_are_allowed, host(), allow_alice) == (
        "fail",
        "bob is in the docker group but not on docker_group_allowlist",
    )
    allow_both = AuditConfig({"docker_group_allowlist": ["alice", "bob"]})
    assert outcome(suite.test_docker_group_members_are_allowed, host(), allow_both)[0] == "pass"
