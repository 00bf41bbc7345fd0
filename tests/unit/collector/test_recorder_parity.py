"""The events recorder keeps containers in the collector's shape: one table of inspect documents, both sides.

The recorder (collections/.../roles/container_host/files/bulkhead-events) runs alone on the target
with the standard library, so it holds a copy of ``slim_container``; the audit judges what it kept
with the same checks as running containers, so the two must agree on every document below, and
neither may let an environment value through.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

from bulkhead.collector import engines as collector

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles" / "container_host"
SCRIPT = SCRIPT / "files" / "bulkhead-events"


def load_recorder():
    loader = importlib.machinery.SourceFileLoader("bulkhead_events_parity", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


recorder = load_recorder()

ENGINES = [
    {"kind": "docker", "mode": "rootful", "user": None},
    {"kind": "docker", "mode": "rootless", "user": "alice"},
    {"kind": "podman", "mode": "rootless", "user": "bob"},
]
DOCUMENTS = {
    "full": {
        "Id": "ab" * 32,
        "Name": "/web",
        "Image": "sha256:" + "1" * 64,
        "Config": {
            "User": "app",
            "Image": "nginx:1",
            "Env": ["PATH=/bin", "API_TOKEN=value-never-kept", "EMPTY="],
            "ExposedPorts": {"80/tcp": {}},
            "Labels": {"secret-label": "label-value-never-kept"},
            "Healthcheck": {"Test": ["CMD", "true"]},
            "Cmd": ["--password", "cmd-value-never-kept"],
        },
        "HostConfig": {
            "Privileged": False,
            "CapAdd": ["NET_ADMIN"],
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "PidMode": "host",
            "Memory": 1 << 20,
            "PidsLimit": 100,
            "Binds": ["/etc:/host-etc:ro"],
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
            "NotRead": "x",
        },
        "State": {"Status": "running", "Running": True, "Pid": 42, "Health": {"Status": "healthy"}},
        "AppArmorProfile": "docker-default",
        "ProcessLabel": "",
        "Mounts": [{"Type": "bind", "Source": "/etc", "Destination": "/host-etc", "RW": False, "Extra": 1}],
        "NetworkSettings": {"Networks": {"bridge": {}, "app": {}}, "Ports": {"80/tcp": None}},
    },
    "empty": {},
    "nulls": {"Id": "cd" * 32, "Name": None, "Config": None, "HostConfig": None, "State": None, "Mounts": None},
    "podman-name": {"Id": "ef" * 32, "Name": "db", "Config": {"Env": None}, "NetworkSettings": {}},
}


@pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: f"{engine['kind']}-{engine['mode']}")
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_recorder_keeps_what_the_collector_collects(name, engine):
    kept = recorder.slim_container(DOCUMENTS[name], engine)
    assert kept == collector.slim_container(DOCUMENTS[name], engine)
    text = json.dumps(kept)
    assert "never-kept" not in text


def test_the_copies_declare_the_same_host_config_keys():
    assert recorder._HOST_CONFIG_KEYS == collector._HOST_CONFIG_KEYS
