"""collector/engines.py: engine detection, inspect documents cut down on the target, containers seen from /proc."""

from __future__ import annotations

from typing import Any

from bulkhead.collector import engines, proc

DOCKER = {"kind": "docker", "mode": "rootful", "user": None, "cli": ["docker"], "env": {}, "socket": None}
CONTAINER_PID = "pid:[4026532100]"
OTHER_PID = "pid:[4026532200]"


def inspect(name="web", pid=0, **host_config):
    """A `docker inspect` document of a running container (the fields Docker 20.10 writes)."""
    return {
        "Id": f"{name}-id",
        "Name": f"/{name}",
        "Image": "sha256:img",
        "State": {"Status": "running", "Running": True, "Pid": pid},
        "Config": {"User": "", "Image": "busybox", "Env": ["PASSWORD=hunter2", "PATH=/bin"]},
        "HostConfig": {"CapAdd": None, "CapDrop": None, "SecurityOpt": None, "NetworkMode": "default"} | host_config,
        "AppArmorProfile": "docker-default",
        "ProcessLabel": "",
        "Mounts": [],
        "NetworkSettings": {"Ports": {}, "Networks": {"bridge": {}}},
    }


def test_environment_values_never_leave_the_collector():
    slim = engines.slim_container(inspect(), DOCKER)
    assert slim["Config"]["EnvNames"] == ["PASSWORD", "PATH"]
    assert "hunter2" not in repr(slim)
    image = engines.slim_image({"Id": "sha256:img", "Config": {"Env": ["TOKEN=s3cret"]}}, DOCKER)
    assert image["EnvNames"] == ["TOKEN"]
    assert "s3cret" not in repr(image)


def test_rootless_docker_and_podman_are_detected_per_user(tmp_path, monkeypatch):
    runtime_dir = tmp_path / "1000"
    (runtime_dir / "containers").mkdir(parents=True)
    (runtime_dir / "docker.sock").touch()
    monkeypatch.setattr(engines, "_runtime_dirs", lambda: [(1000, "alice", str(runtime_dir))])
    monkeypatch.setattr(engines, "_which", lambda name: f"/usr/bin/{name}")
    found = [(e["kind"], e["mode"], e["user"]) for e in engines.detect_engines()]
    assert ("docker", "rootless", "alice") in found
    assert ("podman", "rootless", "alice") in found
    rootless = next(e for e in engines.detect_engines() if e["kind"] == "docker" and e["mode"] == "rootless")
    assert rootless["env"] == {"DOCKER_HOST": f"unix://{runtime_dir}/docker.sock"}


def slim(name: str, pid: int, **host_config: Any) -> dict[str, Any]:
    return engines.slim_container(inspect(name, pid, **host_config), DOCKER)


def test_container_processes_are_names_per_pid_namespace(fake_proc):
    snapshot = proc.take(
        fake_proc(
            [
                {"pid": 1, "argv": ["/sbin/init"], "ppid": 0},
                {"pid": 10, "argv": ["/usr/sbin/sshd", "-D"], "pidns": CONTAINER_PID},
                {"pid": 11, "argv": ["nginx: worker"], "comm": "nginx", "pidns": CONTAINER_PID, "ppid": 10},
                {"pid": 20, "argv": ["sleep", "600"], "pidns": OTHER_PID},
                {"pid": 30, "argv": ["/usr/sbin/sshd"]},  # the host's own sshd
            ]
        )
    )
    containers = [
        slim("web", 10),
        slim("sidecar", 10, PidMode="container:web-id"),  # shares web's namespace, so its list
        slim("batch", 20),
        slim("hostpid", 30, PidMode="host"),  # the host's processes are not the container's
        slim("gone", 99),  # not in the snapshot: left out, the check says it cannot tell
        slim("stopped", 0),
    ]
    assert engines.container_processes(containers, snapshot) == {
        "web-id": ["nginx", "sshd"],
        "sidecar-id": ["nginx", "sshd"],
        "batch-id": ["sleep"],
        "hostpid-id": [],
    }


def test_a_container_started_after_the_snapshot_is_looked_for_again(fake_proc, tmp_path):
    root = fake_proc([{"pid": 1, "argv": ["/sbin/init"], "ppid": 0}])
    early = proc.take(root)
    assert engines.fresh_enough(early, [slim("web", 1)]) is early
    # web's first process appears after the snapshot was taken
    later = fake_proc(
        [{"pid": 1, "argv": ["/sbin/init"], "ppid": 0}, {"pid": 10, "argv": ["sleep"], "pidns": CONTAINER_PID}]
    )
    early.root = later
    fresh = engines.fresh_enough(early, [slim("web", 10), slim("stopped", 0)])
    assert fresh is not early and fresh.get(10) is not None
    assert engines.container_processes([slim("web", 10)], fresh) == {"web-id": ["sleep"]}


def test_container_id_maps_take_the_first_child_of_each_shim(fake_proc):
    remapped = "0 165536 65536"
    snapshot = proc.take(
        fake_proc(
            [
                {"pid": 1, "argv": ["/sbin/init"], "ppid": 0},
                {"pid": 40, "argv": ["/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", "abc"]},
                {"pid": 41, "argv": ["/bin/sh"], "ppid": 40, "uid": 165536, "uid_map": remapped, "gid_map": remapped},
                {"pid": 42, "argv": ["/bin/sh", "-c", "exec"], "ppid": 40},  # an exec session: skipped
                {"pid": 50, "argv": ["/usr/bin/conmon", "--cid", "def"], "uid": 1000, "gid": 1000},
                {"pid": 51, "argv": ["sleep"], "ppid": 50, "uid": 1000, "gid": 1000},
                # a shim of an engine nested in a container (another mount namespace): not this host's
                {"pid": 60, "argv": ["containerd-shim-runc-v2", "-id", "nested"], "mnt": "mnt:[4026532999]"},
                {"pid": 61, "argv": ["sh"], "ppid": 60},
            ]
        )
    )
    found = engines.container_id_maps(snapshot)
    assert [(entry["pid"], entry["container"], entry["engine"], entry["owner"]) for entry in found] == [
        (41, "abc", "docker", "root"),
        (51, "def", "podman", engines.user_name(1000)),
    ]
    assert found[0]["uid_map"] == found[0]["gid_map"] == [[0, 165536, 65536]]
    assert (found[0]["uid"], found[0]["command"]) == (165536, "sh")
    assert (found[1]["owner_uid"], found[1]["owner_gid"]) == (1000, 1000)


def test_volume_options_keep_only_what_says_whether_they_bind_a_host_path(tmp_path):
    link = tmp_path / "config"
    link.symlink_to("/etc")
    document = {
        "Name": "cifs",
        "Driver": "local",
        "Options": {"type": "cifs", "o": "addr=127.0.0.1,username=u,password=never-kept,ro", "device": "//h/s"},
    }
    assert engines.slim_volume(document, DOCKER) == {
        "Engine": "docker (rootful)",
        "Name": "cifs",
        "Driver": "local",
        "Options": {"type": "cifs", "o": "ro", "device": "//h/s"},
        "RealDevice": "",
    }
    bound = {"Name": "cfg", "Driver": None, "Options": {"type": "none", "o": "rbind", "device": str(link)}}
    assert engines.slim_volume(bound, DOCKER)["RealDevice"] == "/etc"
    assert engines.slim_volume(bound, DOCKER)["Driver"] == "local"
    assert engines.slim_volume({"Name": "plain", "Options": None}, DOCKER)["Options"] == {
        "type": "",
        "o": "",
        "device": "",
    }


def test_a_bind_mount_says_where_its_source_leads(tmp_path):
    link = tmp_path / "config"
    link.symlink_to("/etc")
    bind = {"Type": "bind", "Source": str(link), "Destination": "/x", "RW": False, "Propagation": "rprivate"}
    volume = {"Type": "volume", "Name": "v", "Driver": "local", "Source": "/var/lib/docker/volumes/v/_data"}
    assert engines.slim_mount(bind)["RealSource"] == "/etc"
    assert "RealSource" not in engines.slim_mount(volume)
    assert engines.slim_mount(volume)["Name"] == "v"
