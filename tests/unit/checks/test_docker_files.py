"""bulkhead.checks.docker_files and files: section 3 (owners and modes of the engine's files).

Modes are ceilings compared bitwise; a file that does not exist is not applicable, a path the
collector did not stat is an error, never a pass. Each row of ``FILES`` below is written out
here, apart from the module's own table, so that a wrong owner, group, ceiling or path there fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.checks.files import check_files, tls_path
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

DOCKERD = ["/usr/sbin/dockerd", "-H", "fd://", "--tlscacert=/etc/docker/tls/ca.pem"]
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
CERT = "/etc/docker/certs.d/registry.example.com:5000/ca.crt"
TLS = {
    "tlscacert": "/etc/docker/tls/ca.pem",
    "tlscert": "/etc/docker/tls/cert.pem",
    "tlskey": "/etc/docker/tls/key.pem",
}

# (owner control, mode control, the file the test host has, what "no ... on this host" names, group, ceiling)
FILES = [
    ("3.1", "3.2", "/lib/systemd/system/docker.service", "docker.service", "root", 0o644),
    ("3.3", "3.4", "/lib/systemd/system/docker.socket", "docker.socket unit", "root", 0o644),
    ("3.5", "3.6", "/etc/docker", "/etc/docker", "root", 0o755),
    ("3.7", "3.8", CERT, "registry certificate in /etc/docker/certs.d", "root", 0o444),
    ("3.9", "3.10", TLS["tlscacert"], "TLS CA certificate configured", "root", 0o444),
    ("3.11", "3.12", TLS["tlscert"], "server certificate configured", "root", 0o444),
    ("3.13", "3.14", TLS["tlskey"], "server key configured", "root", 0o400),
    ("3.15", "3.16", "/var/run/docker.sock", "Docker socket", "docker", 0o660),
    ("3.17", "3.18", "/etc/docker/daemon.json", "daemon.json", "root", 0o644),
    ("3.19", "3.20", "/etc/default/docker", "/etc/default/docker", "root", 0o644),
    ("3.21", "3.22", "/etc/sysconfig/docker", "/etc/sysconfig/docker", "root", 0o644),
    ("3.23", "3.24", "/run/containerd/containerd.sock", "containerd socket", "root", 0o660),
]
ABSENT = {"exists": False}


def entry(mode: str, owner: str = "root", group: str = "root") -> dict[str, Any]:
    return {"exists": True, "owner": owner, "group": group, "mode": mode, "uid": 0, "gid": 0, "type": "file"}


def every_path_absent() -> dict[str, dict[str, Any]]:
    """What the collector reports on a host with none of the files: each path it stats, absent."""
    paths = [f"{directory}/{unit}" for directory in UNIT_DIRS for unit in ("docker.service", "docker.socket")]
    paths += ["/etc/docker", "/var/run/docker.sock", "/etc/docker/daemon.json", "/etc/default/docker"]
    paths += ["/etc/sysconfig/docker", "/run/containerd/containerd.sock", *TLS.values()]
    return dict.fromkeys(paths, ABSENT)


def host(
    stats: dict[str, dict[str, Any]], argv: list[str] | None = None, settings: dict[str, Any] | None = None
) -> HostState:
    return HostState(
        "test",
        {
            "docker_file_stats": {"value": {**every_path_absent(), **stats}},
            "dockerd_processes": {
                "value": [
                    {
                        "pid": 1,
                        "uid": 0,
                        "user": "root",
                        "rootless": False,
                        "argv": argv or ["/usr/sbin/dockerd", *(f"--{key}={path}" for key, path in TLS.items())],
                    }
                ]
            },
            "daemon_json": {"value": {"exists": True, "settings": settings or {}}},
        },
    )


def verdict(control_id: str, state: HostState) -> tuple[str, Any]:
    try:
        findings = REGISTRY[control_id].judge(state, AuditConfig())
    except NotApplicable as reason:
        return "not_applicable", str(reason)
    except FactUnavailable as reason:
        return "error", str(reason)
    return ("fail" if findings else "pass"), findings


def loosened(ceiling: int) -> str:
    """The ceiling with the one permission bit it lacks that sits lowest (0644 -> 0645)."""
    extra = next(bit for bit in (0o001, 0o002, 0o004, 0o010, 0o020, 0o040, 0o100, 0o200, 0o400) if not bit & ceiling)
    return f"{ceiling | extra:04o}"


CASES: list[tuple[str, dict[str, dict[str, Any]], str, Any]] = []
for owner_id, mode_id, path, what, group, ceiling in FILES:
    mode = f"{ceiling:04o}"
    loose = loosened(ceiling)
    extra = f"{int(loose, 8) & ~ceiling:04o}"
    CASES += [
        (owner_id, {path: entry(mode, "root", group)}, "pass", []),
        (owner_id, {path: entry(mode, "bob", group)}, "fail", [f"{path} is owned by user bob, not root"]),
        (owner_id, {path: entry(mode, "root", "staff")}, "fail", [f"{path} is owned by group staff, not {group}"]),
        (owner_id, {path: entry(loose, "root", group)}, "pass", []),  # the mode is the other control's
        (owner_id, {}, "not_applicable", f"no {what} on this host"),
        (mode_id, {path: entry(mode, "bob", "staff")}, "pass", []),  # the owner is the other control's
        (mode_id, {path: entry("0400" if ceiling != 0o400 else "0000", "root", group)}, "pass", []),
        (mode_id, {path: entry(loose, "root", group)}, "fail", [f"{path} has mode {loose}, looser than {ceiling:04o} (extra bits {extra})"]),
        (mode_id, {path: entry(f"4{mode[1:]}", "root", group)}, "fail", [f"{path} has mode 4{mode[1:]}, looser than {ceiling:04o} (extra bits 4000)"]),
        (mode_id, {}, "not_applicable", f"no {what} on this host"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "stats", "outcome", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_section_3_checks(control_id, stats, outcome, expected):
    assert verdict(control_id, host(stats)) == (outcome, expected)


def test_every_section_3_control_is_tested():
    assert {case[0] for case in CASES} == {f"3.{number}" for number in range(1, 25)}


@pytest.mark.parametrize(
    ("mode", "ceiling", "passes"),
    [
        ("0644", 0o644, True),
        ("0600", 0o644, True),
        ("0400", 0o444, True),
        ("0000", 0o644, True),
        ("0664", 0o644, False),
        ("0654", 0o644, False),
        ("0744", 0o644, False),
        ("0440", 0o400, False),
        ("4644", 0o644, False),
        ("0055", 0o644, False),
    ],
    ids=[
        "equal",
        "stricter",
        "read-only",
        "none",
        "group-write",
        "group-exec",
        "owner-exec",
        "group-read",
        "setuid",
        "smaller-but-looser",
    ],
)
def test_modes_are_compared_bitwise(mode, ceiling, passes):
    state = host({"/etc/docker/daemon.json": entry(mode)})
    findings = check_files(state, ["/etc/docker/daemon.json"], "daemon.json", ceiling=ceiling)
    assert (findings == []) is passes
    assert all("looser than" in finding for finding in findings)


def test_owner_and_group_findings_name_the_file():
    state = host({"/var/run/docker.sock": entry("0660", owner="root", group="users")})
    assert check_files(state, ["/var/run/docker.sock"], "Docker socket", owner="root", group="docker") == [
        "/var/run/docker.sock is owned by group users, not docker"
    ]


def test_a_missing_optional_file_is_not_applicable():
    with pytest.raises(NotApplicable, match="no /etc/sysconfig/docker on this host"):
        check_files(host({}), ["/etc/sysconfig/docker"], "/etc/sysconfig/docker", ceiling=0o644)


def test_a_path_the_collector_did_not_stat_is_an_error_not_a_pass():
    unstated = HostState("test", {"docker_file_stats": {"value": {}}})
    with pytest.raises(FactUnavailable, match="the collector did not stat /etc/docker"):
        check_files(unstated, ["/etc/docker"], "/etc/docker", ceiling=0o755)
    tls_elsewhere = host({}, argv=["dockerd", "--tlscacert=/srv/ca.pem"])
    assert verdict("3.9", tls_elsewhere) == ("error", "the collector did not stat /srv/ca.pem")


def test_every_unit_file_that_exists_is_judged():
    state = host(
        {
            "/etc/systemd/system/docker.service": entry("0664", owner="bob"),
            "/usr/lib/systemd/system/docker.service": entry("0644"),
        }
    )
    assert verdict("3.1", state) == ("fail", ["/etc/systemd/system/docker.service is owned by user bob, not root"])
    assert verdict("3.2", state) == (
        "fail",
        ["/etc/systemd/system/docker.service has mode 0664, looser than 0644 (extra bits 0020)"],
    )


def test_every_registry_certificate_is_judged():
    other = "/etc/docker/certs.d/mirror.example.com/client.key"
    state = host({CERT: entry("0444"), other: entry("0600", group="staff"), "/etc/docker/certs.d.bak": entry("0777")})
    assert verdict("3.7", state) == ("fail", [f"{other} is owned by group staff, not root"])
    assert verdict("3.8", state) == ("fail", [f"{other} has mode 0600, looser than 0444 (extra bits 0200)"])


def test_tls_paths_come_from_the_command_line_before_daemon_json():
    state = host({}, argv=DOCKERD, settings={"tlscacert": "/other/ca.pem", "tlskey": "/etc/docker/tls/key.pem"})
    assert tls_path(state, "tlscacert") == ["/etc/docker/tls/ca.pem"]
    assert tls_path(state, "tlskey") == ["/etc/docker/tls/key.pem"]
    assert tls_path(state, "tlscert") == []


@pytest.mark.parametrize(
    ("argv", "settings", "expected"),
    [
        (["dockerd", "--tlskey", "/a/key.pem"], {"tlskey": "/b/key.pem"}, ["/a/key.pem"]),
        (["dockerd", "--tlskey=/a/key.pem", "--tlskey=/c/key.pem"], {}, ["/c/key.pem"]),
        (["dockerd", "--tlskey"], {"tlskey": "/b/key.pem"}, ["/b/key.pem"]),  # a flag without value counts not
        (["dockerd", "--tlskey="], {"tlskey": "/b/key.pem"}, []),  # an empty value does, and names no file
        (["dockerd"], {"tlskey": ""}, []),
        (["dockerd"], {"tlskey": 5}, []),
        (["dockerd", "--tlscert=/a/key.pem"], {}, []),
    ],
    ids=["flag", "last-flag", "flag-without-value", "empty-flag", "empty-json", "not-a-string", "other-key"],
)
def test_tls_path_edges(argv, settings, expected):
    assert tls_path(host({}, argv=argv, settings=settings), "tlskey") == expected


def test_tls_controls_need_the_rootful_dockerd():
    state = HostState(
        "test",
        {
            "docker_file_stats": {"value": every_path_absent()},
            "dockerd_processes": {"value": []},
            "daemon_json": {"value": {"exists": True, "settings": {"tlscacert": "/etc/docker/tls/ca.pem"}}},
        },
    )
    assert verdict("3.9", state) == ("error", "no dockerd process runs on this host")
    assert verdict("3.17", state) == ("not_applicable", "no daemon.json on this host")
