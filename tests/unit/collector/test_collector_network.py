"""collector: networks of both engines in one shape, label values only for the labels asked, DOCKER-USER read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkhead.collector import engines, network
from bulkhead.collector.facts import FactError

IPTABLES = Path(__file__).resolve().parents[2] / "data" / "iptables"
DOCKER = {"kind": "docker", "mode": "rootful", "user": None, "cli": ["docker"], "env": {}, "socket": None}
PODMAN = {"kind": "podman", "mode": "rootless", "user": "alice", "cli": ["podman"], "env": {}, "socket": None}

# Docker 20.10 `GET /networks/{id}` of `docker network create -o com.docker.network.bridge.enable_icc=false
# --label zone=pci --internal pci-net` with one container attached (trimmed: IPAM, Created, Scope).
DOCKER_NETWORK = {
    "Name": "pci-net",
    "Id": "5f1c",
    "Driver": "bridge",
    "Internal": True,
    "Attachable": False,
    "Containers": {"c0ffee": {"Name": "pay-api", "EndpointID": "e1", "IPv4Address": "172.30.0.2/16"}},
    "Options": {"com.docker.network.bridge.enable_icc": "false"},
    "Labels": {"zone": "pci"},
}
# Podman 4.3 `podman network inspect` (netavark-style keys, also with the CNI backend).
PODMAN_NETWORK = {
    "name": "pci-net",
    "id": "2f25",
    "driver": "bridge",
    "network_interface": "cni-podman1",
    "subnets": [{"subnet": "10.89.0.0/24", "gateway": "10.89.0.1"}],
    "internal": False,
    "dns_enabled": True,
    "labels": {"zone": "pci"},
    "options": {"isolate": "true"},
}


def test_docker_and_podman_networks_share_one_shape():
    docker = engines.slim_network(DOCKER_NETWORK, DOCKER)
    podman = engines.slim_network(PODMAN_NETWORK, PODMAN)
    assert docker == {
        "Id": "5f1c",
        "Name": "pci-net",
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Driver": "bridge",
        "Internal": True,
        "Options": {"com.docker.network.bridge.enable_icc": "false"},
        "Labels": {"zone": "pci"},
        "Containers": ["pay-api"],
        "IccConfigurable": True,
    }
    assert podman["Engine"] == "podman (rootless, user alice)"
    assert (podman["Name"], podman["Internal"], podman["Labels"], podman["Options"]) == (
        "pci-net",
        False,
        {"zone": "pci"},
        {"isolate": "true"},
    )
    assert podman["IccConfigurable"] is False and podman["Containers"] == []
    assert engines.slim_network({"Name": "host", "Driver": "host"}, DOCKER)["IccConfigurable"] is False


def test_only_the_values_of_the_labels_asked_for_leave_the_collector():
    document = {
        "Id": "c1",
        "Name": "/pay-api",
        "Config": {"Labels": {"app": "pay", "zone": "pci", "secret.token": "BHCANARY"}},
        "NetworkSettings": {"Networks": {"pci-net": {}, "pub-net": {}}},
    }
    slim = engines.slim_container(document, DOCKER, ("app", "zone", "tier"))
    assert slim["Config"]["Labels"] == ["app", "secret.token", "zone"]
    assert slim["Config"]["LabelValues"] == {"app": "pay", "zone": "pci"}
    assert slim["Networks"] == ["pci-net", "pub-net"]
    assert "BHCANARY" not in repr(slim)
    assert "LabelValues" not in engines.slim_container(document, DOCKER)["Config"]  # none asked: none known


def fake_run(outputs):
    def run(argv):
        answer = outputs[argv[0]]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return run


def test_docker_user_chain_from_iptables_s(monkeypatch):
    text = (IPTABLES / "docker-user-policy.txt").read_text()
    monkeypatch.setattr(network, "run", fake_run({"iptables": text}))
    chain = network.docker_user_chain()
    assert chain["exists"] and chain["source"] == "iptables -S DOCKER-USER"
    assert len(chain["rules"]) == 6 and chain["rules"][-1] == "-A DOCKER-USER -j RETURN"


def test_docker_user_chain_falls_back_to_iptables_save(monkeypatch):
    text = (IPTABLES / "iptables-save-filter.txt").read_text()
    failed = FactError(
        "iptables -w 5 failed: iptables v1.8.9 (legacy): chain `DOCKER-USER' in table `filter' is incompatible"
    )
    monkeypatch.setattr(network, "run", fake_run({"iptables": failed, "iptables-save": text}))
    chain = network.docker_user_chain()
    assert chain["exists"] and chain["source"] == "iptables-save -t filter" and len(chain["rules"]) == 6


def test_a_missing_chain_is_reported_as_missing(monkeypatch):
    failed = FactError("iptables -w 5 failed: iptables: No chain/target/match by that name.")
    save = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
    monkeypatch.setattr(network, "run", fake_run({"iptables": failed, "iptables-save": save}))
    assert network.docker_user_chain() == {"exists": False, "rules": [], "source": "iptables-save -t filter"}


def test_an_unreadable_chain_is_an_error_never_an_empty_policy(monkeypatch):
    monkeypatch.setattr(
        network,
        "run",
        fake_run(
            {
                "iptables": FactError("iptables is not installed"),
                "iptables-save": FactError("iptables-save is not installed"),
            }
        ),
    )
    with pytest.raises(FactError, match="cannot read the DOCKER-USER chain: iptables is not installed"):
        network.docker_user_chain()


def test_the_audit_asks_the_collector_for_the_settings_labels_only():
    from bulkhead import state
    from bulkhead.config import AuditConfig

    class Host:
        def __init__(self):
            self.calls = []

        def run(self, command, *arguments):
            self.calls.append((command, arguments[1:]))
            raise OSError("not a real host")

    settings = AuditConfig({"container_app_label": "app", "container_zone_label": "zone", "network_zone_label": "z"})
    assert settings.label_names() == ("app", "zone")
    assert AuditConfig().label_names() == ()
    asked, plain = Host(), Host()
    state.collect(asked, "h", labels=settings.label_names())
    state.collect(plain, "h")
    assert asked.calls == [("python3 -c %s %s", ("app,zone",))]
    assert plain.calls == [("python3 -c %s", ())]


def test_networks_through_the_cli_podman_in_one_listing_docker_by_inspect(monkeypatch):
    from bulkhead.collector import podman

    calls = []

    def run_engine(engine, argv):
        calls.append((engine["kind"], argv))
        if argv[:2] == ["network", "ls"] and "json" in argv:
            return json.dumps([PODMAN_NETWORK])
        if argv[:2] == ["network", "ls"]:
            return "5f1c\n"
        return json.dumps([DOCKER_NETWORK])

    monkeypatch.setattr(podman, "run_engine", run_engine)
    assert podman.EngineCli(PODMAN).networks() == [PODMAN_NETWORK]
    assert podman.EngineCli(DOCKER).networks() == [DOCKER_NETWORK]
    assert calls == [
        ("podman", ["network", "ls", "--format", "json"]),
        ("docker", ["network", "ls", "--quiet", "--no-trunc"]),
        ("docker", ["network", "inspect", "5f1c"]),
    ]
