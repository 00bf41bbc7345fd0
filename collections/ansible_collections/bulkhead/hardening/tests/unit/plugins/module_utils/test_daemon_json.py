import json
from collections import OrderedDict

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.daemon_json import (
    DaemonConfigError,
    conflicting_keys,
    dockerd_argv,
    environment_files,
    exec_start_argv,
    merge,
    parse_config,
    safe_mode,
    service_environment,
    unit_files,
)


@pytest.mark.parametrize(
    ("current", "settings", "absent", "expected"),
    [
        ({}, {"icc": False}, [], {"icc": False}),
        ({"data-root": "/srv/docker"}, {"icc": False}, [], {"data-root": "/srv/docker", "icc": False}),
        ({"icc": True, "x": 1}, {"icc": False}, [], {"icc": False, "x": 1}),
        (
            {"log-opts": {"max-size": "10m"}},
            {"log-opts": {"max-file": "3"}},
            [],
            {"log-opts": {"max-size": "10m", "max-file": "3"}},
        ),
        (
            {
                "default-ulimits": {
                    "nofile": {"Name": "nofile", "Soft": 1, "Hard": 2},
                    "core": {"Name": "core"},
                }
            },
            {"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 4096}}},
            [],
            {
                "default-ulimits": {
                    "nofile": {"Name": "nofile", "Soft": 1024, "Hard": 4096},
                    "core": {"Name": "core"},
                }
            },
        ),
        ({"labels": ["a"]}, {"labels": ["b"]}, [], {"labels": ["b"]}),
        ({"insecure-registries": ["r:5000"], "icc": False}, {}, ["insecure-registries"], {"icc": False}),
        ({"icc": False}, {}, ["never-there"], {"icc": False}),
    ],
    ids=[
        "new",
        "keeps-operator-key",
        "replaces",
        "nested-merge",
        "ulimits-merge",
        "list-replaced",
        "remove",
        "remove-missing",
    ],
)
def test_merge(current, settings, absent, expected):
    assert merge(OrderedDict(current), settings, absent) == expected


def test_merge_keeps_the_operators_key_order_and_does_not_touch_its_input():
    current = parse_config('{"z": 1, "a": 2, "log-opts": {"max-size": "1m"}}', "daemon.json")
    merged = merge(current, {"icc": False, "log-opts": {"max-file": "2"}}, [])
    assert list(merged) == ["z", "a", "log-opts", "icc"]
    assert current["log-opts"] == {"max-size": "1m"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"icc": false,}', "is not valid JSON"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ('"icc"', "holds a JSON str, not an object"),
    ],
)
def test_bad_files_are_refused_with_the_path(text, message):
    with pytest.raises(DaemonConfigError, match=message) as raised:
        parse_config(text, "/etc/docker/daemon.json")
    assert "/etc/docker/daemon.json" in str(raised.value)


def test_an_empty_file_is_an_empty_object():
    assert parse_config(" \n", "daemon.json") == {}


@pytest.mark.parametrize(
    ("units", "argv"),
    [
        (
            ["[Service]\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"],
            ["/usr/sbin/dockerd", "-H", "fd://", "$DOCKER_OPTS"],
        ),
        (
            [
                "[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n",
                "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --icc=false\n",
            ],
            ["/usr/sbin/dockerd", "--icc=false"],
        ),
        (
            ["[Service]\nExecStart=/usr/sbin/dockerd \\\n  --log-level debug\n"],
            ["/usr/sbin/dockerd", "--log-level", "debug"],
        ),
        (["[Service]\nExecStart=-/usr/sbin/dockerd\n"], ["/usr/sbin/dockerd"]),
        (["[Unit]\nDescription=x\n"], []),
    ],
    ids=["debian", "drop-in-reset", "continuation", "prefix", "no-execstart"],
)
def test_exec_start_argv(units, argv):
    assert exec_start_argv(units) == argv


@pytest.mark.parametrize(
    ("settings", "argv", "conflicts"),
    [
        ({"icc": False}, ["dockerd", "-H", "fd://"], []),
        ({"hosts": ["unix:///run/docker.sock"]}, ["dockerd", "-H", "fd://"], [("hosts", "-H")]),
        ({"icc": False}, ["dockerd", "--icc=true"], [("icc", "--icc")]),
        (
            {"insecure-registries": []},
            ["dockerd", "--insecure-registry", "r:5000"],
            [("insecure-registries", "--insecure-registry")],
        ),
        ({"log-level": "info"}, ["dockerd", "-l", "debug"], [("log-level", "-l")]),
        ({"icc": False}, ["dockerd", "--iccx"], []),
    ],
)
def test_conflicting_keys(settings, argv, conflicts):
    assert conflicting_keys(settings, argv) == conflicts


def test_unit_files_prefers_etc_and_orders_drop_ins(tmp_path):
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    for directory in (etc, lib):
        (directory / "docker.service.d").mkdir(parents=True)
    (lib / "docker.service").write_text("lib")
    (etc / "docker.service").write_text("etc")
    (lib / "docker.service.d" / "10-b.conf").write_text("")
    (etc / "docker.service.d" / "20-a.conf").write_text("")
    (etc / "docker.service.d" / "10-b.conf").write_text("")
    (etc / "docker.service.d" / "notes.txt").write_text("")
    files = unit_files("docker.service", [str(etc), str(lib)])
    assert files == [
        str(etc / "docker.service"),
        str(etc / "docker.service.d" / "10-b.conf"),
        str(etc / "docker.service.d" / "20-a.conf"),
    ]


@pytest.mark.parametrize(
    ("existing", "expected"),
    [(None, 0o644), (0o644, 0o644), (0o600, 0o600), (0o640, 0o640), (0o666, 0o644), (0o755, 0o644)],
)
def test_safe_mode_keeps_stricter_modes_only(existing, expected):
    assert safe_mode(existing, 0o644) == expected


def test_rendered_json_round_trips():
    from ansible_collections.bulkhead.hardening.plugins.module_utils.daemon_json import render

    settings = OrderedDict([("b", 1), ("a", {"x": [1, 2]})])
    assert json.loads(render(settings)) == settings
    assert render(settings).endswith("}\n")


@pytest.mark.parametrize(
    ("units", "env_files", "argv"),
    [
        (
            ["[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n"],
            ['DOCKER_OPTS="--icc=true --log-level debug"\n'],
            ["/usr/sbin/dockerd", "-H", "fd://", "--icc=true", "--log-level", "debug"],
        ),
        (
            ["[Service]\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n"],
            ["# DOCKER_OPTS=--icc=true\n"],
            ["/usr/sbin/dockerd"],
        ),
        (
            [
                '[Service]\nEnvironment="OPTS=--iptables=false" LEVEL=warn\n'
                "ExecStart=/usr/sbin/dockerd $OPTS -l=${LEVEL}\n"
            ],
            [],
            ["/usr/sbin/dockerd", "--iptables=false", "-l=warn"],
        ),
        (
            ["[Service]\nEnvironment=DOCKER_OPTS=--icc=false\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n"],
            ["DOCKER_OPTS='--icc=true'\n"],
            ["/usr/sbin/dockerd", "--icc=true"],
        ),
        (
            ["[Service]\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS ${UNSET}x\n"],
            ["export DOCKER_OPTS=--icc=true\n"],
            ["/usr/sbin/dockerd", "x"],
        ),
    ],
    ids=["debian-docker-opts", "commented-out", "environment-lines", "file-overrides-environment", "invalid-lines"],
)
def test_environment_expansion(units, env_files, argv):
    environment = service_environment(units, env_files)
    assert exec_start_argv(units, environment) == argv


def test_environment_files_honour_reset_and_optional_marker():
    units = [
        "[Service]\nEnvironmentFile=/etc/a\nEnvironmentFile=-/etc/default/docker\n",
        "[Service]\nEnvironmentFile=\nEnvironmentFile=-/etc/b\n",
    ]
    assert environment_files(units[:1]) == [("/etc/a", False), ("/etc/default/docker", True)]
    assert environment_files(units) == [("/etc/b", True)]


def test_dockerd_argv_reads_the_environment_file(tmp_path):
    (tmp_path / "default").write_text('DOCKER_OPTS="--insecure-registry r:5000"\n')
    (tmp_path / "docker.service").write_text(
        "[Service]\nEnvironmentFile=-%s\nEnvironmentFile=-%s\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n"
        % (tmp_path / "default", tmp_path / "missing")
    )
    argv = dockerd_argv("docker.service", [str(tmp_path)])
    assert argv == ["/usr/sbin/dockerd", "--insecure-registry", "r:5000"]
    assert conflicting_keys({"insecure-registries": []}, argv) == [("insecure-registries", "--insecure-registry")]


def test_a_missing_required_environment_file_is_an_error(tmp_path):
    (tmp_path / "docker.service").write_text(
        "[Service]\nEnvironmentFile=%s\nExecStart=/usr/sbin/dockerd\n" % (tmp_path / "missing")
    )
    with pytest.raises(DaemonConfigError, match="EnvironmentFile"):
        dockerd_argv("docker.service", [str(tmp_path)])
