"""module_utils.audit_rules: the managed rules file, byte for byte, and the checks around it."""

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.bulkhead.hardening.plugins.module_utils.audit_rules import (
    AuditRulesError,
    RuleSpec,
    absent_controls,
    check,
    existing_blocks,
    parse_status,
    render,
    resolve,
    resolve_all,
    rule_keys,
    validate_spec,
)

COLLECTION = Path(__file__).resolve().parents[4]
ROLE_VARS = yaml.safe_load((COLLECTION / "roles" / "container_host" / "vars" / "main.yml").read_text())
GOLDEN = yaml.safe_load((Path(__file__).parent / "fixtures" / "audit_rules_golden.yml").read_text())
KEYS = {
    "engine": "bulkhead_engine",
    "socket": "bulkhead_docker_socket",
    "client": "bulkhead_container_client",
    "group": "bulkhead_docker_group",
    "sudoers": "bulkhead_sudoers",
}


def role_spec(controls, data_root="/var/lib/docker", **changes):
    """A spec from the container_host role's own tables, as the role passes them."""
    arguments = {
        "selected": controls,
        "engine_paths": ROLE_VARS["container_host_engine_path_candidates"],
        "engine_binaries": ROLE_VARS["container_host_engine_binaries"],
        "data_root": data_root,
        "admin_clients": ROLE_VARS["container_host_admin_clients"],
        "keys": KEYS,
    }
    arguments.update(changes)
    return RuleSpec(**arguments)


def fake_host(paths):
    """resolve_all on a host where only ``paths`` (candidate -> real path) exist."""
    return lambda candidates: resolve_all(candidates, exists=paths.__contains__, realpath=paths.__getitem__)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[case["name"] for case in GOLDEN["cases"]])
def test_renders_what_the_retired_template_rendered(case):
    spec = role_spec(case["controls"], case["data_root"])
    resolved = fake_host(GOLDEN["hosts"][case["host"]])(spec.all_paths())
    rendered = render(spec, resolved, case.get("previous", ""))
    assert rendered == case["expected"]
    assert check(rendered) == []


def test_rendering_again_over_its_own_output_changes_nothing():
    spec = role_spec(role_spec([]).order())
    resolved = fake_host(GOLDEN["hosts"]["debian"])(spec.all_paths())
    first = render(spec, resolved, "")
    assert render(spec, resolved, first) == first


@pytest.mark.parametrize(
    ("paths", "path", "expected"),
    [
        ({"/usr/sbin/dockerd": "/usr/sbin/dockerd"}, "/usr/sbin/dockerd", "/usr/sbin/dockerd"),
        ({"/var/run/docker.sock": "/run/docker.sock"}, "/var/run/docker.sock", "/run/docker.sock"),
        ({}, "/usr/bin/dockerd", None),
    ],
    ids=["exists", "symlink-followed", "missing"],
)
def test_resolve(paths, path, expected):
    assert resolve(path, exists=paths.__contains__, realpath=paths.__getitem__) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("## BEGIN 1.1.3\n-w /a -p wa -k k\n## END 1.1.3\n", {"1.1.3": ["-w /a -p wa -k k"]}),
        ("## BEGIN 1.1.3\n## END 1.1.3\n", {"1.1.3": []}),
        ("## BEGIN 1.1.3\n-w /a -p wa -k k\n", {}),
        (
            "## BEGIN BH-1.2\nx\n\n# c\n## END BH-1.2\n## BEGIN 1.1.4\ny\n## END 1.1.4",
            {"BH-1.2": ["x", "", "# c"], "1.1.4": ["y"]},
        ),
        ("## BEGIN 1.1.3\na\n## END 1.1.4\n## END 1.1.3\n", {"1.1.3": ["a", "## END 1.1.4"]}),
    ],
    ids=["empty", "one", "empty-block", "unterminated", "two-with-blank-and-comment", "mismatched-end"],
)
def test_existing_blocks(text, expected):
    assert existing_blocks(text) == expected


@pytest.mark.parametrize(
    ("controls", "paths", "expected"),
    [
        (["1.1.13"], {}, ["1.1.13 (/etc/sysconfig/docker)"]),
        (["1.1.13"], {"/etc/sysconfig/docker": "/etc/sysconfig/docker"}, []),
        (["1.1.4", "1.1.8"], {}, []),
        ([], {}, []),
        (["1.1.3"], {}, ["1.1.3 (/usr/bin/dockerd, /usr/sbin/dockerd, /usr/local/bin/dockerd)"]),
        (["BH-1.2"], {}, []),
    ],
    ids=["missing", "present", "runtime-sockets-are-not-absent", "not-selected", "all-candidates-named", "admin"],
)
def test_absent_controls(controls, paths, expected):
    spec = role_spec(controls)
    assert absent_controls(spec, fake_host(paths)(spec.all_paths())) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("## BEGIN 1.1.3\n-w /a -p wa -k bulkhead_engine\n## END 1.1.3\n", ["bulkhead_engine"]),
        ("-w /a -p wa -k one\n-w /b -p wa -k two\n-w /c -p wa -k one\n", ["one", "two"]),
        # auditctl -l prints keys of syscall rules as -F key=...
        ("-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=-1 -F key=sock\n", ["sock"]),
        ("# -k commented\n", []),
        ("No rules\n", []),
        ("-w /a -p wa -k 'unbalanced\n-w /b -p wa -k b\n", ["b"]),
    ],
    ids=["file", "each-once-in-order", "auditctl-l-syscall", "comment", "no-rules", "unparsable-line-skipped"],
)
def test_rule_keys(text, expected):
    assert rule_keys(text) == expected


def test_rule_keys_stop_at_the_end_of_the_line():
    """The role's old regex ('-k ([^ ]+)') ran over the newline, so no key ever matched the kernel's."""
    assert rule_keys("-w /a -p wa -k bulkhead_engine\n## END 1.1.3\n") == ["bulkhead_engine"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("enabled 1\nfailure 1\npid 812\nrate_limit 0\n", {"pid": 812, "enabled": 1}),
        ("enabled 2\npid 812\n", {"pid": 812, "enabled": 2}),
        ("enabled 0\npid 0\n", {"pid": 0, "enabled": 0}),
        ("", {"pid": 0, "enabled": 0}),
        ("loginuid_immutable 0 unlocked\npid 9\n", {"pid": 9, "enabled": 0}),
    ],
    ids=["running", "locked", "not-running", "no-output", "words-after-values"],
)
def test_parse_status(text, expected):
    assert parse_status(text) == expected


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("-w /usr/sbin/dockerd -p wxa -k bulkhead_engine\n# comment\n", []),
        ("-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=unset -k k\n", []),
        ("-a always,exit -F path=/usr/bin/docker -F perm=x -F auid!=unset -k k\n", []),
        ("-a exit,always -F path=/x -F key=k\n", []),
        ("-D\n", ["line 1: -D is a global setting: keep it in the operator's own rules files"]),
        ("-e 2\n", ["line 1: -e is a global setting: keep it in the operator's own rules files"]),
        ("-f 2\n", ["line 1: -f is a global setting: keep it in the operator's own rules files"]),
        ("-w relative -p wa -k k\n", ["line 1: watch path 'relative' is not absolute"]),
        ("-w /x -p q -k k\n", ["line 1: permissions 'q' are not a combination of r, w, x, a"]),
        ("-w /x -p wa\n", ["line 1: the watch has no key (-k)"]),
        ("-w /x -p wa -k k -S open\n", ["line 1: unexpected option(s) -S in a watch"]),
        ("-w /x -p wa -k\n", ["line 1: options must come in pairs"]),
        ("-w /x -p wa -k k\n-w /x -p wa -k k\n", ["line 2: duplicate of line 1"]),
        ("-a sometimes,exit -F path=/x -k k\n", ["line 1: -a 'sometimes,exit' is not action,list (like always,exit)"]),
        ("-a always,exit -F path -k k\n", ["line 1: field 'path' is not name<op>value"]),
        ("-a always,exit -S open;rm -k k\n", ["line 1: syscall list 'open;rm' is malformed"]),
        ("-a always,exit -F path=/x\n", ["line 1: the rule has no key (-k)"]),
        ("-a always,exit -F path=/x -p wa -k k\n", ["line 1: unexpected option -p in a syscall rule"]),
        ("-w /x -p wa -k " + "k" * 40 + "\n", ["line 1: key '" + "k" * 40 + "' must be 1-31 letters, digits or _.:-"]),
        ("-w '/x -p wa -k k\n", ["line 1: No closing quotation"]),
        ("watch /x\n", ["line 1: 'watch' is not a watch (-w) or a syscall rule (-a)"]),
    ],
    ids=[
        "watch",
        "socket-connect",
        "client-run",
        "old-action-order",
        "delete-all",
        "enable",
        "failure-mode",
        "relative-path",
        "bad-permissions",
        "watch-without-key",
        "syscall-option-in-watch",
        "odd-options",
        "duplicate",
        "bad-action",
        "field-without-operator",
        "bad-syscall-list",
        "syscall-rule-without-key",
        "watch-option-in-syscall-rule",
        "key-too-long",
        "unbalanced-quote",
        "not-a-rule",
    ],
)
def test_check(text, problems):
    assert check(text) == problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"selected": ["1.1.99"]}, "unknown control(s) 1.1.99 in controls"),
        ({"engine_binaries": ["1.1.99"]}, "engine_binaries names control(s) 1.1.99"),
        ({"keys": dict(KEYS, engine="with space")}, "keys.engine 'with space' must be 1-31"),
        ({"keys": dict(KEYS, client="")}, "keys.client '' must be 1-31"),
        ({"data_root": "var/lib/docker"}, "data_root 'var/lib/docker' must be an absolute path"),
        ({"admin_clients": ["/usr/bin/my docker"]}, "admin_clients '/usr/bin/my docker' must be an absolute path"),
        ({"engine_paths": {"1.1.3": "/usr/bin/dockerd"}}, "engine_paths[1.1.3] must be a list of paths"),
    ],
    ids=["unknown-control", "stray-binary-control", "key-with-space", "empty-key", "relative-root", "blank", "str"],
)
def test_validate_spec_names_the_bad_value(changes, message):
    with pytest.raises(AuditRulesError, match="^" + re.escape(message)):
        validate_spec(role_spec([], **changes))


def test_validate_spec_accepts_the_roles_tables():
    validate_spec(role_spec(role_spec([]).order()))
