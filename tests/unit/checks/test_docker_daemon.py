"""bulkhead.checks.docker_daemon: each section-2 check (CIS 2.2-2.18, 2.9 aside) on hand-written facts.

``host()`` is a rootful engine where every section-2 control passes, configured in daemon.json; a
case adds dockerd flags, changes daemon.json keys or ``docker info`` fields. The command line wins
over daemon.json, and a flag's ``-x value`` and ``--x=value`` spellings count alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.checks.daemon import daemon_no_new_privileges
from bulkhead.checks.docker_daemon import CENTRAL_LOG_DRIVERS
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

DAEMON_JSON = {
    "icc": False,
    "log-level": "info",
    "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}},
    "cgroup-parent": "bulkhead.slice",
    "no-new-privileges": True,
    "userland-proxy": False,
    "seccomp-profile": "/etc/docker/seccomp.json",
    "live-restore": True,
}
INFO = {
    "Driver": "overlay2",
    "LoggingDriver": "journald",
    "LiveRestoreEnabled": True,
    "ExperimentalBuild": False,
    "SecurityOptions": ["name=seccomp,profile=/etc/docker/seccomp.json"],
    "Plugins": {"Authorization": ["authz-broker"]},
    "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {"docker.io": {"Secure": True}}},
}
TLS_FLAGS = ("--tlscacert=/etc/docker/ca.pem", "--tlscert=/etc/docker/cert.pem", "--tlskey=/etc/docker/key.pem")
TCP = "tcp://0.0.0.0:2376"


def bridge(icc: str | None = "false") -> dict[str, Any]:
    options = {"com.docker.network.bridge.default_bridge": "true"}
    if icc is not None:
        options["com.docker.network.bridge.enable_icc"] = icc
    return {"Name": "bridge", "Options": options}


def host(
    *flags: str, json: dict[str, Any] | None = None, info: dict[str, Any] | None = None, **facts: Any
) -> HostState:
    """The hardened engine, started with ``flags``; ``json``/``info`` keys changed (None removes one)."""

    def merged(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
        result = {**base, **(changes or {})}
        return {key: value for key, value in result.items() if value is not None}

    values: dict[str, Any] = {
        "dockerd_processes": [
            {
                "pid": 7,
                "uid": 0,
                "user": "root",
                "rootless": False,
                "argv": ["/usr/sbin/dockerd", "-H", "fd://", *flags],
            }
        ],
        "daemon_json": {"exists": True, "settings": merged(DAEMON_JSON, json)},
        "docker_info": merged(INFO, info),
        "docker_networks": [{"Name": "none"}, {"Name": "app", "Options": {}}, bridge()],
    }
    values.update(facts)
    return HostState(
        "test",
        {name: {"error": f"{name} broke"} if value is None else {"value": value} for name, value in values.items()},
    )


def verdict(control_id: str, state: HostState) -> tuple[str, Any]:
    """(outcome, findings) for fail and pass, (outcome, reason) for not_applicable and error."""
    try:
        findings = REGISTRY[control_id].judge(state, AuditConfig())
    except NotApplicable as reason:
        return "not_applicable", str(reason)
    except FactUnavailable as reason:
        return "error", str(reason)
    return ("fail" if findings else "pass"), findings


def tcp_without(*missing: str, listeners: str = TCP) -> list[str]:
    return [f"{listeners} without {key}" for key in missing]


NO_VERIFY = f"{TCP} without client verification: tlsverify is False (default)"

# (control, state, outcome, findings for fail/pass or the reason for not_applicable/error)
CASES: list[tuple[str, HostState, str, Any]] = [
    ("2.2", host(), "pass", []),
    ("2.2", host("--icc=0"), "pass", []),
    ("2.2", host(json={"icc": True}), "fail", ["inter-container communication is enabled: icc is True (daemon.json)"]),
    ("2.2", host(json={"icc": None}), "fail", ["inter-container communication is enabled: icc is True (default)"]),
    ("2.2", host(json={"icc": "false"}), "fail", ["inter-container communication is enabled: icc is 'false' (daemon.json)"]),
    ("2.2", host("--icc"), "fail", ["inter-container communication is enabled: icc is True (command line)"]),
    ("2.2", host("--icc=false", "--icc=true"), "fail", ["inter-container communication is enabled: icc is True (command line)"]),
    ("2.2", host("--icc=off"), "fail", ["inter-container communication is enabled: icc is 'off' (command line)"]),
    ("2.2", host(json={"icc": None}, docker_networks=None), "fail", ["inter-container communication is enabled: icc is True (default)"]),
    ("2.2", host(docker_networks=[bridge("true")]), "fail", ["icc is off in the configuration, but the running default bridge has enable_icc=true: dockerd recreates it only when it starts with no running containers (live restore keeps the old bridge)"]),
    ("2.2", host(docker_networks=[bridge(None)]), "fail", ["icc is off in the configuration, but the running default bridge has enable_icc=None: dockerd recreates it only when it starts with no running containers (live restore keeps the old bridge)"]),
    ("2.2", host(docker_networks=[{"Name": "app", "Options": {}}]), "error", "the engine reports no default bridge network"),
    ("2.2", host(dockerd_processes=[]), "error", "no dockerd process runs on this host"),
    ("2.3", host(), "pass", []),
    ("2.3", host(json={"log-level": None}), "pass", []),
    ("2.3", host(json={"log-level": "debug"}), "fail", ["the daemon logs at level 'debug' (daemon.json), not info"]),
    ("2.3", host("--log-level=debug"), "fail", ["the daemon logs at level 'debug' (command line), not info"]),
    ("2.3", host("--log-level", "warn"), "fail", ["the daemon logs at level 'warn' (command line), not info"]),
    ("2.3", host("-l", "debug"), "fail", ["the daemon logs at level 'debug' (command line), not info"]),
    ("2.3", host("-l=error"), "fail", ["the daemon logs at level 'error' (command line), not info"]),
    ("2.3", host("-l", "info", json={"log-level": "debug"}), "pass", []),
    ("2.3", host("--log-level=info", "-l", "debug"), "fail", ["the daemon logs at level 'debug' (command line), not info"]),
    ("2.3", host("-l"), "pass", []),
    ("2.3", host("-l", "debug", "-l", "info"), "pass", []),
    ("2.3", host("-l", "info", "-l=debug"), "fail", ["the daemon logs at level 'debug' (command line), not info"]),  # no value: dockerd would not start with it
    ("2.4", host(), "pass", []),
    ("2.4", host("--iptables"), "pass", []),
    ("2.4", host("--iptables=false"), "fail", ["Docker may not manage iptables: iptables is False (command line)"]),
    ("2.4", host(json={"iptables": False}), "fail", ["Docker may not manage iptables: iptables is False (daemon.json)"]),
    ("2.5", host(), "pass", []),
    ("2.5", host(info={"RegistryConfig": None}), "pass", []),
    ("2.5", host(info={"RegistryConfig": {"IndexConfigs": {"mirror:5000": {}}}}), "pass", []),  # Secure unsaid: secure
    ("2.5", host(json={"insecure-registries": ["reg.example.com:5000"]}), "fail", ["insecure registry reg.example.com:5000 is configured"]),
    ("2.5", host("--insecure-registry", "a:5000", "--insecure-registry=b:5000"), "fail", ["insecure registry a:5000 is configured", "insecure registry b:5000 is configured"]),
    ("2.5", host(info={"RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8", "10.0.0.0/8"], "IndexConfigs": {"b:5000": {"Secure": False}, "docker.io": {"Secure": True}, "a:5000": {"Secure": False}}}}), "fail", ["the engine treats 10.0.0.0/8 as an insecure registry", "the engine treats a:5000 as an insecure registry", "the engine treats b:5000 as an insecure registry"]),
    ("2.5", host("--insecure-registry=a:5000", info={"RegistryConfig": {"IndexConfigs": {"a:5000": {"Secure": False}}}}), "fail", ["insecure registry a:5000 is configured"]),
    ("2.6", host(), "pass", []),
    ("2.6", host(info={"Driver": "aufs"}), "fail", ["the engine uses the aufs storage driver"]),
    ("2.6", host(info={"Driver": None}), "pass", []),
    ("2.7", host(), "not_applicable", "the engine listens on no TCP socket"),
    ("2.7", host("--host=unix:///srv/docker.sock", json={"hosts": ["unix:///var/run/docker.sock"]}), "not_applicable", "the engine listens on no TCP socket"),
    ("2.7", host("-H", TCP, "--tlsverify", *TLS_FLAGS), "pass", []),
    ("2.7", host("-H", TCP), "fail", [NO_VERIFY, *tcp_without("tlscacert", "tlscert", "tlskey")]),
    ("2.7", host("--host", TCP, "--tlsverify", *TLS_FLAGS[:2]), "fail", tcp_without("tlskey")),
    ("2.7", host("--host=" + TCP, "--tlsverify=false", *TLS_FLAGS), "fail", [f"{TCP} without client verification: tlsverify is False (command line)"]),
    ("2.7", host(json={"hosts": [TCP], "tlsverify": True, "tlscacert": "/etc/docker/ca.pem", "tlscert": "/etc/docker/cert.pem", "tlskey": "/etc/docker/key.pem"}), "pass", []),
    ("2.7", host("--tlsverify", *TLS_FLAGS[:2], "--tlskey=", json={"hosts": [TCP], "tlskey": "/etc/docker/key.pem"}), "fail", tcp_without("tlskey")),
    ("2.7", host("-H", "tcp://127.0.0.1:2375", "--tlsverify", *TLS_FLAGS, json={"hosts": [TCP]}), "pass", []),
    ("2.7", host("-H", "tcp://127.0.0.1:2375", json={"hosts": [TCP], "tlsverify": True}), "fail", tcp_without("tlscacert", "tlscert", "tlskey", listeners=f"{TCP}, tcp://127.0.0.1:2375")),
    ("2.8", host(), "pass", []),
    ("2.8", host("--default-ulimit", "nofile=1024:2048", json={"default-ulimits": None}), "pass", []),
    ("2.8", host("--default-ulimit=nproc=512", json={"default-ulimits": {}}), "pass", []),
    ("2.8", host(json={"default-ulimits": None}), "fail", ["no default ulimits are set for containers (default-ulimits)"]),
    ("2.8", host(json={"default-ulimits": {}}), "fail", ["no default ulimits are set for containers (default-ulimits)"]),
    # The command line is read even when daemon.json has ulimits: no dockerd to read is an error.
    ("2.8", host(dockerd_processes=[]), "error", "no dockerd process runs on this host"),
    ("2.10", host(), "pass", []),
    ("2.10", host("--cgroup-parent=/docker-limited", json={"cgroup-parent": None}), "pass", []),
    ("2.10", host("--cgroup-parent=no", json={"cgroup-parent": None}), "pass", []),  # a name, not a boolean
    ("2.10", host(json={"cgroup-parent": None}), "fail", ["containers run in the engine's default cgroup parent, without limits for all of them together"]),
    ("2.10", host(json={"cgroup-parent": ""}), "fail", ["containers run in the engine's default cgroup parent, without limits for all of them together"]),
    ("2.11", host(), "pass", []),
    ("2.11", host("--storage-opt", "overlay2.size=10G", json={"storage-opts": ["overlay2.override_kernel_check=true"]}), "pass", []),
    ("2.11", host(json={"storage-opts": ["dm.basesize=20G"]}), "fail", ["storage option dm.basesize=20G changes the base device size"]),
    ("2.11", host("--storage-opt=dm.basesize=5G", "--storage-opt", "dm.fs=xfs"), "fail", ["storage option dm.basesize=5G changes the base device size"]),
    ("2.12", host(), "pass", []),
    ("2.12", host(info={"Plugins": {"Authorization": None, "Volume": ["local"]}}), "fail", ["no authorization plugin checks Docker client commands"]),
    ("2.12", host(info={"Plugins": {"Authorization": []}}), "fail", ["no authorization plugin checks Docker client commands"]),
    ("2.12", host(info={"Plugins": None}), "fail", ["no authorization plugin checks Docker client commands"]),
    ("2.13", host(), "pass", []),
    ("2.13", host(info={"LoggingDriver": "fluentd"}), "pass", []),
    ("2.13", host(info={"LoggingDriver": "json-file"}), "fail", ["containers log with the json-file driver, on this host only"]),
    ("2.13", host(info={"LoggingDriver": "local"}), "fail", ["containers log with the local driver, on this host only"]),
    ("2.13", host(info={"LoggingDriver": None}), "fail", ["containers log with the None driver, on this host only"]),
    ("2.14", host(), "pass", []),
    ("2.14", host("--no-new-privileges", json={"no-new-privileges": None}), "pass", []),
    ("2.14", host(json={"no-new-privileges": None}), "fail", ["containers may acquire new privileges: no-new-privileges is False (default)"]),
    ("2.14", host("--no-new-privileges=false"), "fail", ["containers may acquire new privileges: no-new-privileges is False (command line)"]),
    ("2.14", host(json={"no-new-privileges": "true"}), "fail", ["containers may acquire new privileges: no-new-privileges is 'true' (daemon.json)"]),
    ("2.15", host(), "pass", []),
    ("2.15", host(info={"LiveRestoreEnabled": False}), "fail", ["live restore is off: a daemon restart stops every container"]),
    ("2.15", host(info={"LiveRestoreEnabled": None}), "fail", ["live restore is off: a daemon restart stops every container"]),
    ("2.16", host(), "pass", []),
    ("2.16", host("--userland-proxy=false", json={"userland-proxy": None}), "pass", []),
    ("2.16", host(json={"userland-proxy": None}), "fail", ["the userland proxy is enabled: userland-proxy is True (default)"]),
    ("2.16", host("--userland-proxy"), "fail", ["the userland proxy is enabled: userland-proxy is True (command line)"]),
    ("2.17", host(), "pass", []),
    ("2.17", host("--seccomp-profile", "/etc/docker/other.json", json={"seccomp-profile": None}), "pass", []),
    ("2.17", host(json={"seccomp-profile": None}), "fail", ["no daemon-wide custom seccomp profile: seccomp-profile is '' (default)"]),
    ("2.17", host(json={"seccomp-profile": "unconfined"}), "fail", ["no daemon-wide custom seccomp profile: seccomp-profile is 'unconfined' (daemon.json)"]),
    ("2.17", host("--seccomp-profile=unconfined"), "fail", ["no daemon-wide custom seccomp profile: seccomp-profile is 'unconfined' (command line)"]),
    ("2.17", host(info={"SecurityOptions": ["name=apparmor"]}), "fail", ["the running engine reports no seccomp support"]),
    ("2.17", host(info={"SecurityOptions": None}), "fail", ["the running engine reports no seccomp support"]),
    ("2.18", host(), "pass", []),
    ("2.18", host(info={"ExperimentalBuild": None}), "pass", []),
    ("2.18", host(info={"ExperimentalBuild": True}), "fail", ["experimental features are enabled"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "state", "outcome", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_section_2_checks(control_id, state, outcome, expected):
    assert verdict(control_id, state) == (outcome, expected)


def test_every_section_2_control_has_failing_and_passing_cases():
    outcomes: dict[str, set[str]] = {}
    for control_id, _state, outcome, _expected in CASES:
        outcomes.setdefault(control_id, set()).add(outcome)
    daemon_controls = {f"2.{number}" for number in (2, 3, 4, 5, 6, 7, 8, *range(10, 19))}
    assert set(outcomes) == daemon_controls
    assert all({"pass", "fail"} <= found for found in outcomes.values())


@pytest.mark.parametrize("driver", sorted(CENTRAL_LOG_DRIVERS))
def test_central_log_drivers_pass(driver):
    assert verdict("2.13", host(info={"LoggingDriver": driver})) == ("pass", [])


@pytest.mark.parametrize(
    "control_id", ["2.2", "2.3", "2.4", "2.5", "2.7", "2.8", "2.10", "2.11", "2.14", "2.16", "2.17"]
)
def test_settings_checks_need_the_one_rootful_dockerd(control_id):
    rootless = {"pid": 9, "uid": 1000, "user": "alice", "rootless": True, "argv": ["dockerd", "--icc=true"]}
    assert verdict(control_id, host(dockerd_processes=[rootless])) == (
        "error",
        "no rootful dockerd runs on this host, only rootless ones: alice (pid 9)",
    )
    assert verdict(control_id, host(dockerd_processes=None)) == ("error", "dockerd_processes: dockerd_processes broke")


@pytest.mark.parametrize("control_id", ["2.5", "2.6", "2.12", "2.13", "2.15", "2.17", "2.18"])
def test_engine_checks_need_docker_info(control_id):
    assert verdict(control_id, host(docker_info=None)) == ("error", "docker_info: docker_info broke")


@pytest.mark.parametrize("control_id", ["2.2", "2.3", "2.5", "2.7", "2.8", "2.11"])
def test_daemon_json_that_cannot_be_read_is_an_error(control_id):
    assert verdict(control_id, host(daemon_json=None)) == ("error", "daemon_json: daemon_json broke")


def test_several_engines_name_every_one():
    alice = {"pid": 9, "uid": 1000, "user": "alice", "rootless": True, "argv": ["dockerd"]}
    bob = {"pid": 10, "uid": 1001, "user": "bob", "rootless": True, "argv": ["dockerd"]}
    assert verdict("2.14", host(dockerd_processes=[alice, bob])) == (
        "error",
        "no rootful dockerd runs on this host, only rootless ones: alice (pid 9), bob (pid 10)",
    )


@pytest.mark.parametrize(
    ("flags", "json", "expected"),
    [
        ((), {}, True),
        (("--no-new-privileges",), {"no-new-privileges": None}, True),
        (("--no-new-privileges=true",), {"no-new-privileges": None}, True),
        (("--no-new-privileges=false",), {}, False),
        ((), {"no-new-privileges": None}, False),
        ((), {"no-new-privileges": "true"}, False),
    ],
)
def test_the_daemon_no_new_privileges_default_for_5_25(flags, json, expected):
    assert daemon_no_new_privileges(host(*flags, json=json)) is expected


def test_no_rootful_dockerd_leaves_the_daemon_default_unknown():
    assert daemon_no_new_privileges(host(dockerd_processes=[])) is None
