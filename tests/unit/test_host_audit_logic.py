"""Pure logic behind the section 1 audit: audit rules, kernel bugs, engine support."""

import datetime

import pytest

from bulkhead.checks import auditrules
from bulkhead.checks.engine_support import judge
from bulkhead.checks.kernel import UnknownKernel, bugs_affecting, upstream_version

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
        ("5.8.0", "", ["CVE-2021-22555", "CVE-2022-0185", "CVE-2022-0492", "CVE-2022-0847", "CVE-2024-1086"]),
        ("5.7.19", "", ["CVE-2021-22555", "CVE-2022-0185", "CVE-2022-0492", "CVE-2024-1086"]),
    ],
)
def test_kernel_versions_against_breakout_bugs(release, proc_version, cves):
    version, _source = upstream_version(release, proc_version)
    assert [bug.cve for bug in bugs_affecting(version)] == cves


def test_a_release_without_patch_level_is_patch_0():
    assert upstream_version("5.10") == ((5, 10, 0), "5.10")


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
