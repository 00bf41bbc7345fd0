"""CIS Docker Benchmark section 2: Docker daemon configuration."""

import pytest

from bulkhead.checks.daemon import Setting, default_bridge, dockerd_argv, effective_setting
from bulkhead.checks.files import tls_path
from bulkhead.verdict import fail, fail_for_each, not_applicable


@pytest.mark.control("2.2")
def test_icc_disabled(state):
    configured = effective_setting(state, "icc", True, boolean=True)
    if configured.value is not False:
        fail(f"inter-container communication is enabled: icc is {configured.describe()}")
    bridge_icc = default_bridge(state).get("Options", {}).get("com.docker.network.bridge.enable_icc")
    if bridge_icc != "false":
        fail(
            f"icc is off in the configuration, but the running default bridge has enable_icc={bridge_icc}: dockerd "
            "recreates it only when it starts with no running containers (live restore keeps the old bridge)"
        )


# Log drivers that ship container logs off the json files on the host's disk.
CENTRAL_LOG_DRIVERS = {"journald", "syslog", "gelf", "fluentd", "splunk", "awslogs", "gcplogs", "logentries", "etwlogs"}


def _info(state):
    return state.fact("docker_info")


def _settings(state):
    return state.fact("daemon_json")["settings"]


def _flag_values(state, *flags):
    """Every value given to any of ``flags`` on dockerd's command line (``-H x``, ``--host=x``)."""
    argv = dockerd_argv(state)[1:]
    values = []
    for index, token in enumerate(argv):
        for flag in flags:
            if token == flag and index + 1 < len(argv):
                values.append(argv[index + 1])
            elif token.startswith(flag + "="):
                values.append(token.split("=", 1)[1])
    return values


@pytest.mark.control("2.3")
def test_log_level_info(state):
    level = effective_setting(state, "log-level", "info")
    flag = _flag_values(state, "-l")
    if flag:
        level = Setting(flag[-1], "command line")
    if level.value != "info":
        fail(f"the daemon logs at level {level.describe()}, not info")


@pytest.mark.control("2.4")
def test_iptables_allowed(state):
    iptables = effective_setting(state, "iptables", True, boolean=True)
    if iptables.value is not True:
        fail(f"Docker may not manage iptables: iptables is {iptables.describe()}")


@pytest.mark.control("2.5")
def test_no_insecure_registries(state):
    configured = list(_settings(state).get("insecure-registries") or []) + _flag_values(state, "--insecure-registry")
    registry = _info(state).get("RegistryConfig") or {}
    cidrs = [cidr for cidr in registry.get("InsecureRegistryCIDRs") or [] if cidr != "127.0.0.0/8"]
    indexes = [name for name, index in (registry.get("IndexConfigs") or {}).items() if not index.get("Secure", True)]
    fail_for_each(
        [f"insecure registry {name} is configured" for name in configured]
        + [
            f"the engine treats {name} as an insecure registry"
            for name in sorted(set(cidrs + indexes) - set(configured))
        ]
    )


@pytest.mark.control("2.6")
def test_no_aufs(state):
    driver = _info(state).get("Driver")
    if driver == "aufs":
        fail("the engine uses the aufs storage driver")


@pytest.mark.control("2.7")
def test_tcp_listeners_use_tls(state):
    hosts = list(_settings(state).get("hosts") or []) + _flag_values(state, "-H", "--host")
    tcp = [host for host in hosts if host.startswith("tcp://")]
    if not tcp:
        not_applicable("the engine listens on no TCP socket")
    findings = []
    tlsverify = effective_setting(state, "tlsverify", False, boolean=True)
    if tlsverify.value is not True:
        findings.append(f"{', '.join(tcp)} without client verification: tlsverify is {tlsverify.describe()}")
    for key in ("tlscacert", "tlscert", "tlskey"):
        if not tls_path(state, key):
            findings.append(f"{', '.join(tcp)} without {key}")
    fail_for_each(findings)


@pytest.mark.control("2.8")
def test_default_ulimits(state):
    ulimits = _settings(state).get("default-ulimits") or {}
    flags = _flag_values(state, "--default-ulimit")
    if not ulimits and not flags:
        fail("no default ulimits are set for containers (default-ulimits)")


@pytest.mark.control("2.10")
def test_cgroup_parent(state):
    parent = effective_setting(state, "cgroup-parent", "")
    if not parent.value:
        fail("containers run in the engine's default cgroup parent, without limits for all of them together")


@pytest.mark.control("2.11")
def test_base_device_size_unchanged(state):
    options = list(_settings(state).get("storage-opts") or []) + _flag_values(state, "--storage-opt")
    fail_for_each(
        [f"storage option {option} changes the base device size" for option in options if "dm.basesize" in option]
    )


@pytest.mark.control("2.12")
def test_authorization_plugin(state):
    plugins = (_info(state).get("Plugins") or {}).get("Authorization") or []
    if not plugins:
        fail("no authorization plugin checks Docker client commands")


@pytest.mark.control("2.13")
def test_central_logging(state):
    driver = _info(state).get("LoggingDriver")
    if driver not in CENTRAL_LOG_DRIVERS:
        fail(f"containers log with the {driver} driver, on this host only")


@pytest.mark.control("2.14")
def test_no_new_privileges(state):
    setting = effective_setting(state, "no-new-privileges", False, boolean=True)
    if setting.value is not True:
        fail(f"containers may acquire new privileges: no-new-privileges is {setting.describe()}")


@pytest.mark.control("2.15")
def test_live_restore(state):
    if _info(state).get("LiveRestoreEnabled") is not True:
        fail("live restore is off: a daemon restart stops every container")


@pytest.mark.control("2.16")
def test_userland_proxy_disabled(state):
    setting = effective_setting(state, "userland-proxy", True, boolean=True)
    if setting.value is not False:
        fail(f"the userland proxy is enabled: userland-proxy is {setting.describe()}")


@pytest.mark.control("2.17")
def test_daemon_seccomp_profile(state):
    profile = effective_setting(state, "seccomp-profile", "")
    if not profile.value or profile.value == "unconfined":
        fail(f"no daemon-wide custom seccomp profile: seccomp-profile is {profile.describe()}")
    options = _info(state).get("SecurityOptions") or []
    if not any(option.startswith("name=seccomp") for option in options):
        fail("the running engine reports no seccomp support")


@pytest.mark.control("2.18")
def test_experimental_off(state):
    if _info(state).get("ExperimentalBuild") is True:
        fail("experimental features are enabled")
