"""Section 3 semantics: modes are ceilings compared bitwise, a missing optional file does not apply."""

import pytest
from _pytest.outcomes import Failed, Skipped

from bulkhead.checks.files import check_files, tls_path
from bulkhead.facts import FactUnavailable, HostState

DOCKERD = ["/usr/sbin/dockerd", "-H", "fd://", "--tlscacert=/etc/docker/tls/ca.pem"]


def host(stats, settings=None):
    return HostState(
        "test",
        {
            "docker_file_stats": {"value": stats},
            "dockerd_processes": {"value": [{"pid": 1, "uid": 0, "user": "root", "rootless": False, "argv": DOCKERD}]},
            "daemon_json": {"value": {"exists": True, "settings": settings or {}}},
        },
    )


def entry(mode, owner="root", group="root"):
    return {"exists": True, "owner": owner, "group": group, "mode": mode, "uid": 0, "gid": 0, "type": "file"}


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
    ],
    ids=["equal", "stricter", "read-only", "none", "group-write", "group-exec", "owner-exec", "group-read", "setuid"],
)
def test_modes_are_compared_bitwise(mode, ceiling, passes):
    state = host({"/etc/docker/daemon.json": entry(mode)})
    if passes:
        check_files(state, ["/etc/docker/daemon.json"], "daemon.json", ceiling=ceiling)
    else:
        with pytest.raises(Failed, match="looser than"):
            check_files(state, ["/etc/docker/daemon.json"], "daemon.json", ceiling=ceiling)


def test_owner_and_group_findings_name_the_file():
    state = host({"/var/run/docker.sock": entry("0660", owner="root", group="users")})
    with pytest.raises(Failed, match=r"/var/run/docker.sock is owned by group users, not docker"):
        check_files(state, ["/var/run/docker.sock"], "Docker socket", owner="root", group="docker")


def test_a_missing_optional_file_is_not_applicable():
    state = host({"/etc/sysconfig/docker": {"exists": False}})
    with pytest.raises(Skipped, match="no /etc/sysconfig/docker on this host"):
        check_files(state, ["/etc/sysconfig/docker"], "/etc/sysconfig/docker", ceiling=0o644)


def test_a_path_the_collector_did_not_stat_is_an_error_not_a_pass():
    with pytest.raises(FactUnavailable):
        check_files(host({}), ["/etc/docker"], "/etc/docker", ceiling=0o755)


def test_tls_paths_come_from_the_command_line_before_daemon_json():
    state = host({}, settings={"tlscacert": "/other/ca.pem", "tlskey": "/etc/docker/tls/key.pem"})
    assert tls_path(state, "tlscacert") == ["/etc/docker/tls/ca.pem"]
    assert tls_path(state, "tlskey") == ["/etc/docker/tls/key.pem"]
    assert tls_path(state, "tlscert") == []
