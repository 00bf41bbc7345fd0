"""collector/proc.py: one snapshot of /proc per collection, which every process fact reads."""

import os

import pytest

from bulkhead.collector import collect, docker, engines, facts, host, proc

INIT = {"pid": 1, "argv": ["/sbin/init"], "ppid": 0}
KTHREAD = {"pid": 2, "argv": [], "ppid": 0}
DOCKERD = {"pid": 100, "argv": ["/usr/sbin/dockerd", "-H", "fd://"], "uid": 0}
ALICE_SHELL = {"pid": 1000, "argv": ["-bash"], "uid": 1000, "gid": 1001, "ppid": 999}


def test_the_snapshot_has_each_process_once_with_argv_and_ids(fake_proc):
    snapshot = proc.take(fake_proc([ALICE_SHELL, DOCKERD, INIT, KTHREAD]))
    assert [process.pid for process in snapshot.processes()] == [1, 2, 100, 1000]
    shell = snapshot.get("1000")
    assert (shell.argv, shell.uid, shell.gid, shell.ppid, shell.name) == (["-bash"], 1000, 1001, 999, "-bash")
    assert snapshot.get(2).name == "" and snapshot.get(4242) is None and snapshot.get(None) is None
    assert snapshot.commands("dockerd") == [["/usr/sbin/dockerd", "-H", "fd://"]]
    assert snapshot.own_namespace("mnt") == "mnt:[4026531841]"


def test_a_process_whose_status_cannot_be_read_is_not_in_the_snapshot(fake_proc):
    root = fake_proc([INIT, DOCKERD])
    os.remove(f"{root}/100/status")
    os.mkdir(f"{root}/not-a-pid")
    assert [process.pid for process in proc.take(root).processes()] == [1]


def test_the_rarer_files_are_read_once_and_kept(fake_proc):
    root = fake_proc([INIT, dict(DOCKERD, uid_map="0 1000 1")])
    snapshot = proc.take(root)
    dockerd = snapshot.get(100)
    assert dockerd.id_map("uid") == [[0, 1000, 1]]
    assert dockerd.comm() == "dockerd"
    for name in ("uid_map", "comm"):
        os.remove(f"{root}/100/{name}")
    assert dockerd.id_map("uid") == [[0, 1000, 1]]
    assert dockerd.comm() == "dockerd"
    assert dockerd.id_map("gid") == [[0, 0, 4294967295]]
    os.remove(f"{root}/100/ns/pid")
    assert dockerd.namespace("pid") is None  # gone before it was read: unreadable, as a walk would find it


def test_an_unreadable_proc_is_an_error_for_the_facts_that_need_it(tmp_path):
    snapshot = proc.take(str(tmp_path / "absent"))
    with pytest.raises(facts.FactError, match="cannot list"):
        snapshot.processes()
    assert "cannot list" in facts.fact(docker.dockerd_processes, snapshot)["error"]
    assert "cannot list" in facts.fact(engines.container_id_maps, snapshot)["error"]


@pytest.mark.parametrize(
    ("processes", "foreign"),
    [
        pytest.param([INIT, DOCKERD], False, id="host-mount-namespace"),
        pytest.param([INIT, dict(DOCKERD, mnt="mnt:[4026532999]")], True, id="another-mount-namespace"),
        pytest.param(
            [INIT, {"pid": 90, "argv": ["rootlesskit"], "uid": 1000}, dict(DOCKERD, ppid=90, uid_map="0 1000 1")],
            False,
            id="rootless-under-the-hosts-rootlesskit",
        ),
        pytest.param(
            [INIT, dict(DOCKERD, ppid=90, uid_map="0 1000 1")], False, id="ancestor-gone-kept-rather-than-missed"
        ),
    ],
)
def test_foreign_processes_belong_to_another_mount_namespace(fake_proc, processes, foreign):
    assert proc.take(fake_proc(processes)).foreign(100) is foreign


def test_a_collection_lists_proc_once_and_every_process_fact_reads_that_snapshot(fake_proc, monkeypatch):
    root = fake_proc(
        [
            INIT,
            DOCKERD,
            {"pid": 300, "argv": ["/sbin/auditd"]},
            {"pid": 301, "argv": ["/usr/sbin/rsyslogd"]},
            {"pid": 302, "argv": ["/usr/local/sbin/bulkhead-events"]},
            {"pid": 400, "argv": ["containerd-shim-runc-v2", "-id", "abc"]},
            {"pid": 401, "argv": ["sh"], "ppid": 400, "pidns": "pid:[4026532100]"},
        ]
    )
    listed = []
    real_listdir = os.listdir

    def listdir(path="."):
        listed.append(str(path))
        return real_listdir(path)

    container = {"Id": "abc", "State": {"Running": True, "Pid": 401}, "HostConfig": {}, "Image": "sha256:i"}
    snapshots = [
        {"engine": "docker (rootful)", "kind": "docker", "mode": "rootful", "user": None, "socket": None}
        | {"access": "api", "containers": [container], "images": [], "version": {}, "errors": {}}
    ]
    real_take = proc.take
    taken = []

    def take():
        taken.append(1)
        return real_take(root)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(proc, "take", take)
    monkeypatch.setattr(engines, "engine_snapshots", lambda wanted_labels=(): snapshots)
    monkeypatch.setattr(docker, "local_docker_api", lambda: None)
    for module in (docker, host):
        monkeypatch.setattr(module, "run", lambda argv: "")
    monkeypatch.setattr(host, "in_container", lambda: None)

    found = collect.collect()
    assert taken == [1]
    assert [path for path in listed if path.startswith(("/proc", root))] == [root]
    assert [entry["pid"] for entry in found["dockerd_processes"]["value"]] == [100]
    assert found["audit_status"]["value"]["auditd_running"] is True
    assert found["audit_loaded_rules"] == {"value": ""}
    assert found["rsyslog_config"]["value"]["running"] is True
    assert found["events_recorder"]["value"]["running"] == 1
    assert [entry["container"] for entry in found["container_id_maps"]["value"]] == ["abc"]
    assert found["container_processes"] == {"value": {"abc": ["sh"]}}
