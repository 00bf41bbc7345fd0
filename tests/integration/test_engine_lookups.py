"""What the audit and the gate look up beside a container, on this machine's real Docker engine.

A local volume that binds /etc (``-o type=none -o o=bind -o device=/etc``), a container on the
host's network and pid namespaces, and one joining them through it (``--network container:X``,
``--pid container:X``): the audit (the collector's API client and slim documents, the registry's
check) and the gate (``bulkhead.gate.engine`` lookups) must find the same volume and the same
namespaces. Objects are named bulkhead-gaps-* and removed one at a time.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.collector.docker import DockerApi
from bulkhead.collector.engines import slim_container, slim_volume
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState
from bulkhead.gate.engine import DOCKER_SOCKET, GATED_ENGINE, EngineContainers, EngineImages, EngineVolumes

pytestmark = pytest.mark.integration

PREFIX = "bulkhead-gaps-"
IMAGE = "bulkhead-it/busybox:local"
VOLUME = PREFIX + "etcvol"
HOSTNET = PREFIX + "hostnet"
JOINED = PREFIX + "joined"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture(scope="module")
def engine_objects(docker_engine) -> Iterator[None]:
    for name in (JOINED, HOSTNET):
        docker("rm", "-f", name, check=False)
    docker("volume", "rm", "-f", VOLUME, check=False)
    docker("volume", "create", VOLUME, "--opt", "type=none", "--opt", "o=bind,ro", "--opt", "device=/etc")
    common = ["--cap-drop", "ALL", "--user", "1000"]
    docker("run", "-d", "--name", HOSTNET, "--network", "host", "--pid", "host", *common, IMAGE, "sleep", "300")
    docker(
        "run", "-d", "--name", JOINED, "--network", f"container:{HOSTNET}", "--pid", f"container:{HOSTNET}",
        "-v", f"{VOLUME}:/x:ro", *common, IMAGE, "sleep", "300",
    )  # fmt: skip
    try:
        yield
    finally:
        for name in (JOINED, HOSTNET):
            docker("rm", "-f", name, check=False)
        docker("volume", "rm", "-f", VOLUME, check=False)


def audited_state() -> HostState:
    """The collector's facts for this engine's containers and volumes, reduced to ours."""
    api = DockerApi({**GATED_ENGINE, "socket": DOCKER_SOCKET})
    containers = [slim_container(document, GATED_ENGINE) for document in api.containers()]
    volumes = [slim_volume(document, GATED_ENGINE) for document in api.volumes()]
    ours = [container for container in containers if container["Name"].startswith(PREFIX)]
    return HostState("local", {"containers": {"value": ours}, "volumes": {"value": volumes}})


def test_the_audit_finds_the_host_namespaces_and_the_etc_volume_through_other_objects(engine_objects):
    state = audited_state()
    settings = AuditConfig()
    joined_id = docker("inspect", "-f", "{{.Id}}", HOSTNET).stdout.strip()
    # dockerd stores --network container:NAME as the joined container's full ID: shown short.
    assert docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", JOINED).stdout.strip() == f"container:{joined_id}"
    assert sorted(REGISTRY["5.9"].judge(state, settings)) == [
        f"container {HOSTNET}: shares the host's network namespace (--network=host)",
        f"container {JOINED}: shares the host's network namespace through container {HOSTNET} "
        f"(--network=container:{joined_id[:12]})",
    ]
    assert [line for line in REGISTRY["5.15"].judge(state, settings) if line.startswith(f"container {JOINED}")] == [
        f"container {JOINED}: shares the host's pid namespace through container {HOSTNET} "
        f"(--pid=container:{joined_id[:12]})"
    ]
    assert REGISTRY["5.5"].judge(state, settings) == [
        f"container {JOINED}: mounts volume {VOLUME}, a bind of host /etc, at /x (read-only)"
    ]


def test_the_gate_looks_up_the_same_container_and_volume(engine_objects):
    engine = EngineImages(DOCKER_SOCKET)
    state = audited_state()
    audited = {container["Name"]: container for container in state.fact("containers")}
    found = EngineContainers(engine).find({}, HOSTNET)
    assert found is not None and found["HostConfig"]["NetworkMode"] == "host"
    assert found["HostConfig"] == audited[HOSTNET]["HostConfig"]
    volume = EngineVolumes(engine).find({}, VOLUME)
    assert volume == next(entry for entry in state.fact("volumes") if entry["Name"] == VOLUME)
    assert volume["Options"] == {"type": "none", "o": "bind,ro", "device": "/etc"}
    assert EngineVolumes(engine).find({}, PREFIX + "no-such-volume") is None
    assert EngineContainers(engine).find({}, PREFIX + "no-such-container") is None


def test_a_gate_that_cannot_ask_the_engine_cannot_tell(tmp_path):
    engine = EngineImages(str(tmp_path / "no-engine.sock"), timeout=1)
    with pytest.raises(FactUnavailable, match="could not be asked about volume etcvol"):
        EngineVolumes(engine).find({}, "etcvol")
    with pytest.raises(FactUnavailable, match="could not be asked about container web"):
        EngineContainers(engine).find({}, "web")
