"""CIS Docker Benchmark section 3: Docker daemon configuration files (owners and modes, bitwise)."""

import pytest

from bulkhead.checks.files import certs_d_files, check_files, tls_path, unit_paths

DAEMON_JSON = "/etc/docker/daemon.json"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"


@pytest.mark.control("3.1")
def test_docker_service_owner(state):
    check_files(state, unit_paths("docker.service"), "docker.service", owner="root", group="root")


@pytest.mark.control("3.2")
def test_docker_service_mode(state):
    check_files(state, unit_paths("docker.service"), "docker.service", ceiling=0o644)


@pytest.mark.control("3.3")
def test_docker_socket_unit_owner(state):
    check_files(state, unit_paths("docker.socket"), "docker.socket unit", owner="root", group="root")


@pytest.mark.control("3.4")
def test_docker_socket_unit_mode(state):
    check_files(state, unit_paths("docker.socket"), "docker.socket unit", ceiling=0o644)


@pytest.mark.control("3.5")
def test_etc_docker_owner(state):
    check_files(state, ["/etc/docker"], "/etc/docker", owner="root", group="root")


@pytest.mark.control("3.6")
def test_etc_docker_mode(state):
    check_files(state, ["/etc/docker"], "/etc/docker", ceiling=0o755)


@pytest.mark.control("3.7")
def test_registry_certificates_owner(state):
    check_files(state, certs_d_files(state), "registry certificate in /etc/docker/certs.d", owner="root", group="root")


@pytest.mark.control("3.8")
def test_registry_certificates_mode(state):
    check_files(state, certs_d_files(state), "registry certificate in /etc/docker/certs.d", ceiling=0o444)


@pytest.mark.control("3.9")
def test_tls_ca_owner(state):
    check_files(state, tls_path(state, "tlscacert"), "TLS CA certificate configured", owner="root", group="root")


@pytest.mark.control("3.10")
def test_tls_ca_mode(state):
    check_files(state, tls_path(state, "tlscacert"), "TLS CA certificate configured", ceiling=0o444)


@pytest.mark.control("3.11")
def test_tls_cert_owner(state):
    check_files(state, tls_path(state, "tlscert"), "server certificate configured", owner="root", group="root")


@pytest.mark.control("3.12")
def test_tls_cert_mode(state):
    check_files(state, tls_path(state, "tlscert"), "server certificate configured", ceiling=0o444)


@pytest.mark.control("3.13")
def test_tls_key_owner(state):
    check_files(state, tls_path(state, "tlskey"), "server key configured", owner="root", group="root")


@pytest.mark.control("3.14")
def test_tls_key_mode(state):
    check_files(state, tls_path(state, "tlskey"), "server key configured", ceiling=0o400)


@pytest.mark.control("3.15")
def test_docker_sock_owner(state):
    check_files(state, ["/var/run/docker.sock"], "Docker socket", owner="root", group="docker")


@pytest.mark.control("3.16")
def test_docker_sock_mode(state):
    check_files(state, ["/var/run/docker.sock"], "Docker socket", ceiling=0o660)


@pytest.mark.control("3.17")
def test_daemon_json_owner(state):
    check_files(state, [DAEMON_JSON], "daemon.json", owner="root", group="root")


@pytest.mark.control("3.18")
def test_daemon_json_mode(state):
    check_files(state, [DAEMON_JSON], "daemon.json", ceiling=0o644)


@pytest.mark.control("3.19")
def test_etc_default_docker_owner(state):
    check_files(state, ["/etc/default/docker"], "/etc/default/docker", owner="root", group="root")


@pytest.mark.control("3.20")
def test_etc_default_docker_mode(state):
    check_files(state, ["/etc/default/docker"], "/etc/default/docker", ceiling=0o644)


@pytest.mark.control("3.21")
def test_etc_sysconfig_docker_owner(state):
    check_files(state, ["/etc/sysconfig/docker"], "/etc/sysconfig/docker", owner="root", group="root")


@pytest.mark.control("3.22")
def test_etc_sysconfig_docker_mode(state):
    check_files(state, ["/etc/sysconfig/docker"], "/etc/sysconfig/docker", ceiling=0o644)


@pytest.mark.control("3.23")
def test_containerd_sock_owner(state):
    check_files(state, [CONTAINERD_SOCKET], "containerd socket", owner="root", group="root")


@pytest.mark.control("3.24")
def test_containerd_sock_mode(state):
    check_files(state, [CONTAINERD_SOCKET], "containerd socket", ceiling=0o660)
