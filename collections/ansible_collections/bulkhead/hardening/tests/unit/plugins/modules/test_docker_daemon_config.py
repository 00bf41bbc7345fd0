"""The module end to end on real files in a temporary directory (only AnsibleModule is faked)."""

import json
import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.daemon_json import DaemonConfigError
from ansible_collections.bulkhead.hardening.plugins.modules import docker_daemon_config

DEBIAN_UNIT = "[Service]\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = {
            "settings": {},
            "absent": [],
            "check_unit_conflicts": True,
            "unit": "docker.service",
            "backup": True,
            "mode": "0644",
            "lock_timeout": 1,
        } | params
        self.check_mode = check_mode
        self._diff = diff

    def preserved_copy(self, src, dest):
        shutil.copy2(src, dest)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A daemon.json path and a unit directory; files are created as the running user (root in CI)."""
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "docker.service").write_text(DEBIAN_UNIT)
    # A unit whose flags come from an environment file, the way Debian's /etc/default/docker works.
    (tmp_path / "default-docker").write_text('DOCKER_OPTS="--icc=true"\n')
    (tmp_path / "units" / "env.service").write_text(
        "[Service]\nEnvironmentFile=-%s\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"
        % (tmp_path / "default-docker")
    )
    (tmp_path / "docker").mkdir()
    monkeypatch.setattr(os, "chown", lambda *args: None)
    return tmp_path


def run(host, check_mode=False, diff=False, **params):
    params = {
        "path": str(host / "docker" / "daemon.json"),
        "unit_search_paths": [str(host / "units")],
    } | params
    return docker_daemon_config.apply(FakeModule(params, check_mode, diff))


def daemon_json(host):
    return host / "docker" / "daemon.json"


def test_creates_a_missing_file(host):
    result = run(host, settings={"icc": False})
    assert result["changed"] and result["restart_needed"]
    assert json.loads(daemon_json(host).read_text()) == {"icc": False}
    assert "backup_file" not in result
    assert oct(daemon_json(host).stat().st_mode & 0o777) == "0o644"


def test_merges_into_an_operators_file_with_a_backup(host):
    daemon_json(host).write_text('{"data-root": "/srv/docker", "icc": true}')
    result = run(host, settings={"icc": False})
    assert json.loads(daemon_json(host).read_text()) == {"data-root": "/srv/docker", "icc": False}
    assert json.loads(Path(result["backup_file"]).read_text()) == {"data-root": "/srv/docker", "icc": True}


def test_second_run_changes_nothing(host):
    run(host, settings={"icc": False, "log-opts": {"max-size": "10m"}})
    result = run(host, settings={"icc": False, "log-opts": {"max-size": "10m"}})
    assert not result["changed"] and not result["restart_needed"]
    assert len(list((host / "docker").glob("*.bak"))) == 0


def test_check_mode_with_diff_predicts_and_writes_nothing(host):
    daemon_json(host).write_text('{"data-root": "/srv/docker"}\n')
    result = run(host, check_mode=True, diff=True, settings={"icc": False})
    assert result["changed"] and result["restart_needed"]
    assert daemon_json(host).read_text() == '{"data-root": "/srv/docker"}\n'
    assert result["diff"]["before"] == '{"data-root": "/srv/docker"}\n'
    assert json.loads(result["diff"]["after"]) == {"data-root": "/srv/docker", "icc": False}
    assert list((host / "docker").iterdir()) == [daemon_json(host)]


def test_check_mode_when_etc_docker_does_not_exist(host):
    shutil.rmtree(host / "docker")
    result = run(host, check_mode=True, settings={"icc": False})
    assert result["changed"] and not (host / "docker").exists()


def test_removes_keys(host):
    daemon_json(host).write_text('{"insecure-registries": ["r:5000"], "icc": false}')
    result = run(host, absent=["insecure-registries"])
    assert result["config"] == {"icc": False}
    assert json.loads(daemon_json(host).read_text()) == {"icc": False}


def test_tightens_a_loose_mode_without_restart(host):
    daemon_json(host).write_text(json.dumps({"icc": False}, indent=2) + "\n")
    daemon_json(host).chmod(0o666)
    result = run(host, diff=True, settings={"icc": False})
    assert result["changed"] and not result["restart_needed"]
    assert daemon_json(host).stat().st_mode & 0o777 == 0o644
    assert "mode 0666" in result["diff"]["before_header"]


def test_keeps_a_stricter_mode(host):
    daemon_json(host).write_text("{}")
    daemon_json(host).chmod(0o600)
    run(host, settings={"icc": False})
    assert daemon_json(host).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("content", "params", "message"),
    [
        ("{not json", {"settings": {"icc": False}}, "is not valid JSON"),
        ("[]", {"settings": {"icc": False}}, "not an object"),
        ("{}", {"settings": {"hosts": ["tcp://0.0.0.0:2376"]}}, "hosts (dockerd -H)"),
        ("{}", {"settings": {"icc": False}, "absent": ["icc"]}, "both in settings and in absent"),
        ("{}", {"settings": {"icc": False}, "mode": "0666"}, "looser than 0644"),
        ("{}", {"settings": {"icc": False}, "mode": "rw"}, "not an octal mode"),
        ("{}", {"settings": {"icc": False}, "lock_timeout": -1}, "lock_timeout must be 0 or more"),
        ("{", {}, "is not valid JSON"),
        (
            '{"icc": true}',
            {"settings": {"icc": False}, "check_unit_conflicts": True, "unit": "env.service"},
            "icc (dockerd --icc)",
        ),
    ],
    ids=[
        "bad-json",
        "not-object",
        "unit-conflict",
        "set-and-absent",
        "loose-mode",
        "bad-mode",
        "negative-lock-timeout",
        "truncated-json",
        "docker-opts-conflict",
    ],
)
def test_bad_input_fails_before_any_write(host, content, params, message):
    daemon_json(host).write_text(content)
    with pytest.raises(DaemonConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(host, **params)
    assert daemon_json(host).read_text() == content
    assert list((host / "docker").glob("*.bak")) == []


def test_conflicts_read_drop_ins(host):
    dropin = host / "units" / "docker.service.d"
    dropin.mkdir()
    (dropin / "override.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --log-level debug\n")
    with pytest.raises(DaemonConfigError, match="log-level"):
        run(host, settings={"log-level": "info"})
    # The drop-in reset ExecStart, so -H fd:// is gone and "hosts" is allowed now.
    assert run(host, settings={"hosts": ["unix:///var/run/docker.sock"]})["changed"]


def test_a_held_lock_fails_instead_of_interleaving(host):
    import fcntl

    with open(host / "docker" / ".daemon.json.lock", "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(DaemonConfigError, match="another run holds"):
            run(host, settings={"icc": False})


def test_a_directory_as_path_is_refused(host):
    with pytest.raises(DaemonConfigError, match="is a directory"):
        run(host, path=str(host / "docker"), settings={"icc": False})
