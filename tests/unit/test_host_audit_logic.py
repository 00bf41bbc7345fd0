"""Pure logic behind the section 1 audit: audit rules, kernel bugs, engine support."""

import datetime
import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from bulkhead.checks import auditrules
from bulkhead.checks.engine_support import judge
from bulkhead.checks.kernel import UnknownKernel, bugs_affecting, upstream_version

ROLES = Path(__file__).resolve().parents[2] / "collections/ansible_collections/bulkhead/hardening/roles"
ROLE_FILES = ROLES / "container_host" / "files"


def load_script(name):
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(ROLE_FILES / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


FILE_RULES = """
## BEGIN 1.1.3
-w /usr/sbin/dockerd -p wxa -k bulkhead_engine
-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=unset -k bulkhead_docker_socket
-a always,exit -F path=/usr/bin/docker -F perm=x -F auid!=unset -k bulkhead_container_client
-D
-e 2
"""
LOADED = """-w /usr/sbin/dockerd -p rwxa -k bulkhead_engine
-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=-1 -F key=bulkhead_docker_socket
"""


def test_rules_are_parsed_whatever_their_spelling():
    rules = auditrules.parse_rules(FILE_RULES, "f.rules")
    assert [(r.kind, r.path, r.key) for r in rules] == [
        ("watch", "/usr/sbin/dockerd", "bulkhead_engine"),
        ("syscall", "/run/docker.sock", "bulkhead_docker_socket"),
        ("syscall", "/usr/bin/docker", "bulkhead_container_client"),
    ]
    assert all(rule.logged_in_only for rule in rules[1:])
    loaded = auditrules.parse_rules(LOADED)
    assert loaded[1].logged_in_only and loaded[1].key == "bulkhead_docker_socket"
    assert auditrules.watches_changes(rules, ["/usr/sbin/dockerd"])
    assert auditrules.records_execution(rules, ["/usr/bin/docker"])
    assert auditrules.records_connect(rules, ["/run/docker.sock"])
    assert not auditrules.records_connect(rules, ["/usr/bin/docker"])
    missing = auditrules.missing_from_loaded(rules, loaded)
    assert [rule.path for rule in missing] == ["/usr/bin/docker"]


def test_rules_d_wins_over_the_merged_file():
    assert auditrules.configured_rules({}, "-w /etc/x -p wa -k k")[0].path == "/etc/x"
    assert auditrules.configured_rules({"/etc/audit/rules.d/a.rules": "-w /a -p wa -k k"}, "-w /b -k k")[0].path == "/a"


@pytest.mark.parametrize(
    ("release", "proc_version", "cves"),
    [
        ("4.4.0", "", ["CVE-2016-5195", "CVE-2021-22555", "CVE-2022-0492", "CVE-2024-1086"]),
        ("4.4.26", "", ["CVE-2021-22555", "CVE-2022-0492", "CVE-2024-1086"]),
        ("5.10.101", "", ["CVE-2022-0847", "CVE-2024-1086"]),
        ("5.16.1", "", ["CVE-2022-0185", "CVE-2022-0492", "CVE-2022-0847", "CVE-2024-1086"]),
        ("6.1.0-18-amd64", "Linux version 6.1.0-18-amd64 ... Debian 6.1.76-1 (2024-02-01)", []),
        ("6.1.0-17-amd64", "Linux version 6.1.0-17-amd64 ... Debian 6.1.69-1 (2023-12-30)", ["CVE-2024-1086"]),
        ("6.18.44-fc-v669", "Linux version 6.18.44-fc-v669", []),
    ],
)
def test_kernel_versions_against_breakout_bugs(release, proc_version, cves):
    version, _source = upstream_version(release, proc_version)
    assert [bug.cve for bug in bugs_affecting(version)] == cves


def test_enterprise_kernels_are_not_judged_by_their_version():
    with pytest.raises(UnknownKernel, match="backports"):
        upstream_version("3.10.0-1160.el7.x86_64")


DEBIAN_12 = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}
TODAY = datetime.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("version", "os_release", "supported", "words"),
    [
        ("20.10.24+dfsg1", DEBIAN_12, True, "maintained by Debian GNU/Linux 12 (bookworm) until 2028-06-30"),
        ("20.10.5+dfsg1", {"ID": "debian", "VERSION_ID": "11"}, False, "support ended on 2026-08-31"),
        ("20.10.24", DEBIAN_12, False, "superseded on 2023-02-01"),
        ("29.0.1", DEBIAN_12, True, "newest this audit knows"),
        ("31.0.0", {}, True, "newest"),
        ("20.10.24+dfsg1", {"ID": "ubuntu", "VERSION_ID": "20.04"}, False, "support ended on 2025-05-31"),
    ],
)
def test_engine_support(version, os_release, supported, words):
    verdict = judge(version, os_release, TODAY, 180)
    assert verdict.supported is supported and words in verdict.reason


def test_engine_support_threshold_is_the_configured_one():
    assert judge("28.5.0", DEBIAN_12, datetime.date(2026, 1, 1), 180).supported
    assert not judge("28.5.0", DEBIAN_12, datetime.date(2026, 1, 1), 30).supported


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("-w /usr/sbin/dockerd -p wxa -k bulkhead_engine\n# comment\n", []),
        ("-a always,exit -F arch=b64 -S connect -F path=/run/docker.sock -F auid!=unset -k k\n", []),
        ("-a always,exit -F path=/usr/bin/docker -F perm=x -F auid!=unset -k k\n", []),
        ("-D\n", ["line 1: -D is a global setting: keep it in the operator's own rules files"]),
        ("-e 2\n", ["line 1: -e is a global setting: keep it in the operator's own rules files"]),
        ("-w relative -p wa -k k\n", ["line 1: watch path 'relative' is not absolute"]),
        ("-w /x -p q -k k\n", ["line 1: permissions 'q' are not a combination of r, w, x, a"]),
        ("-w /x -p wa\n", ["line 1: the watch has no key (-k)"]),
        ("-w /x -p wa -k k\n-w /x -p wa -k k\n", ["line 2: duplicate of line 1"]),
        ("-a sometimes,exit -F path=/x -k k\n", ["line 1: -a 'sometimes,exit' is not action,list (like always,exit)"]),
        ("-a always,exit -F path -k k\n", ["line 1: field 'path' is not name<op>value"]),
        ("-w /x -p wa -k " + "k" * 40 + "\n", ["line 1: key '" + "k" * 40 + "' must be 1-31 letters, digits or _.:-"]),
        ("-f 2\n", ["line 1: -f is a global setting: keep it in the operator's own rules files"]),
    ],
)
def test_audit_rules_checker(text, problems):
    assert load_script("audit-rules-check").check(text) == problems


EVENT = {
    "Type": "container",
    "Action": "create",
    "Actor": {"ID": "0123456789abcdef", "Attributes": {"name": "web", "image": "nginx:1", "SECRET": "x"}},
    "timeNano": 1764408000123456789,
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "action=create container=web id=0123456789ab image=nginx:1 time=2025-11-29T09:20:00.123Z"),
        ({"Action": "exec_start: sh -c echo $TOKEN"}, None),
        ({"Type": "network"}, None),
        ({"Action": "attach"}, None),
    ],
)
def test_events_recorder_lines(change, expected):
    describe = load_script("bulkhead-events").describe
    line = describe({**EVENT, **change})
    if expected is None and change.get("Action", "").startswith("exec_start"):
        assert line is not None and "TOKEN" not in line and line.startswith("action=exec_start ")
    else:
        assert line == expected
