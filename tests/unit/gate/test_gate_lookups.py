"""The gate on create requests that reach the host through another object or an odd spelling.

Each request is the recorded compliant create (tests/data/authz/create-compliant.json) with the one
setting a client would send changed: every spelling of root (4.1), a namespace joined through
another container (5.9, 5.15), bind sources that lead to /etc (5.5), local volumes that bind it
(5.5), device cgroup rules (5.17) and systempaths=unconfined (BH-5.11). The check functions are
the audit's; the other containers and volumes come from the Context the gate builds from its
engine (here a ContainerIndex and a VolumeIndex over inspect documents).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from gate_fixtures import message

from bulkhead.checks import Context
from bulkhead.checks.containers import ContainerIndex, VolumeIndex
from bulkhead.collector.engines import slim_container
from bulkhead.facts import FactUnavailable
from bulkhead.gate.decide import decide
from bulkhead.gate.policy import Policy
from bulkhead.gate.request import AuthzRequest

ENGINE = {"kind": "docker", "mode": "rootful", "user": None}
LABEL = "docker (rootful)"
NETHOST = {
    "Id": "9f" * 32,
    "Name": "/nethost",
    "Config": {"User": "1000"},
    "HostConfig": {"NetworkMode": "host", "PidMode": "host", "IpcMode": "private"},
    "State": {"Running": True},
}
ETC_VOLUME = {
    "Engine": LABEL,
    "Name": "etcvol",
    "Driver": "local",
    "Options": {"type": "none", "o": "bind", "device": "/etc"},
}
DATA_VOLUME = {"Engine": LABEL, "Name": "datavol", "Driver": "local", "Options": {}}
HOST = Context(
    cgroup_version=1,
    apparmor=False,
    selinux=False,
    daemon_no_new_privileges=False,
    containers=ContainerIndex([slim_container(NETHOST, ENGINE)]),
    volumes=VolumeIndex(lambda: [ETC_VOLUME, DATA_VOLUME]),
)


def create(config: dict[str, Any] | None = None, **host_config: Any) -> AuthzRequest:
    """The recorded compliant create request with ``config`` and ``host_config`` fields changed."""
    recorded = message("create-compliant")
    body = copy.deepcopy(recorded["RequestBodyDecoded"])
    body.update(config or {})
    body["HostConfig"].update(host_config)
    raw = json.dumps(body).encode()
    return AuthzRequest.from_message({**recorded, "RequestBody": base64.b64encode(raw).decode()})


def refusal(control: str, request: AuthzRequest, context: Context = HOST) -> str:
    """What the gate answers with only ``control`` enforced ('' when it admits the request)."""
    policy = Policy(default="off", controls={control: "enforce"})
    decision = decide(request, policy, context, host="node-1", image_configs=lambda reference: {"User": ""})
    return "" if decision.allow else decision.msg


def test_the_compliant_request_is_admitted_under_every_control_here():
    for control in ("4.1", "5.5", "5.9", "5.15", "5.17", "BH-5.11"):
        assert refusal(control, create()) == "", control


@pytest.mark.parametrize(
    ("user", "refused"),
    [
        ("00", "runs as root (user '00')"),
        ("0000", "runs as root (user '0000')"),
        ("root:1000", "runs as root (user 'root:1000')"),
        ("0:somegroup", "runs as root (user '0:somegroup')"),
        (":1000", "runs as root (user ':1000')"),
        # No --user: the image's USER (here none) decides.
        ("", "runs as root (no USER in its image or --user)"),
        ("1000:0", ""),
        ("app", ""),
    ],
)
def test_4_1_every_spelling_of_root_is_refused(user, refused):
    expected = f"4.1 not allowed: {refused} (container compliant)" if refused else ""
    assert refusal("4.1", create({"User": user})) == expected


@pytest.mark.parametrize(
    ("control", "key", "flag", "namespace"),
    [("5.9", "NetworkMode", "network", "network"), ("5.15", "PidMode", "pid", "pid")],
)
def test_a_namespace_joined_through_a_host_namespace_container_is_refused(control, key, flag, namespace):
    request = create(**{key: "container:nethost"})
    assert refusal(control, request) == (
        f"{control} not allowed: shares the host's {namespace} namespace through container nethost "
        f"(--{flag}=container:nethost) (container compliant)"
    )


def test_a_namespace_joined_through_an_unknown_container_cannot_be_judged():
    assert refusal("5.9", create(NetworkMode="container:ghost")) == (
        "5.9 not allowed: cannot be judged: --network=container:ghost: no such container on engine "
        "docker (rootful) to tell whose namespace it is (container compliant)"
    )
    blind = replace(HOST, containers=None)
    assert refusal("5.9", create(NetworkMode="container:nethost"), blind).startswith(
        "5.9 not allowed: cannot be judged: not known here: containers"
    )


def test_ipc_joined_through_a_private_namespace_is_admitted():
    assert refusal("5.16", create(IpcMode="container:nethost")) == ""


@pytest.mark.parametrize(
    ("bind", "shown"),
    [
        ("/etc/:/x", "/etc"),
        ("//etc:/x", "/etc"),
        ("/srv/../etc:/x:ro", "/etc"),
        ("/srv/./../etc//ssl/:/x", "/etc/ssl"),
    ],
)
def test_5_5_bind_sources_are_normalised(bind, shown):
    access = "read-only" if bind.endswith(":ro") else "read-write"
    assert refusal("5.5", create(Binds=[bind])) == (
        f"5.5 not allowed: mounts host {shown} at /x ({access}) (container compliant)"
    )


def test_5_5_a_symlink_to_a_sensitive_directory_is_refused(tmp_path):
    link = tmp_path / "config"
    link.symlink_to("/etc")
    assert refusal("5.5", create(Binds=[f"{link}:/x"])) == (
        f"5.5 not allowed: mounts host {link} (resolves to /etc) at /x (read-write) (container compliant)"
    )
    plain = tmp_path / "data"
    plain.mkdir()
    assert refusal("5.5", create(Binds=[f"{plain}/:/x"])) == ""


def volume_mount(name: str, options: dict[str, str] | None = None, driver: str = "local") -> dict[str, Any]:
    mount: dict[str, Any] = {"Type": "volume", "Source": name, "Target": "/x"}
    if options is not None:
        mount["VolumeOptions"] = {"DriverConfig": {"Name": driver, "Options": options}}
    return mount


ETC_BIND = {"type": "none", "o": "bind", "device": "/etc", "unread": "secret-value"}
NEW_ETC = "mounts volume newvol, a bind of host /etc, at /x (read-write)"


@pytest.mark.parametrize(
    ("host_config", "refused"),
    [
        ({"Binds": ["etcvol:/x"]}, "mounts volume etcvol, a bind of host /etc, at /x (read-write)"),
        ({"Binds": ["etcvol:/x:ro"]}, "mounts volume etcvol, a bind of host /etc, at /x (read-only)"),
        ({"Mounts": [volume_mount("etcvol")]}, "mounts volume etcvol, a bind of host /etc, at /x (read-write)"),
        # A volume the request creates with its own options.
        ({"Mounts": [volume_mount("newvol", ETC_BIND)]}, NEW_ETC),
        ({"Mounts": [volume_mount("newvol", {**ETC_BIND, "device": "/srv/../etc/"})]}, NEW_ETC),
        # An existing volume keeps its own options: the request's are ignored by the engine.
        ({"Mounts": [volume_mount("datavol", ETC_BIND)]}, ""),
        ({"Mounts": [volume_mount("newvol", {"type": "nfs", "o": "addr=127.0.0.1", "device": ":/etc"})]}, ""),
        ({"Mounts": [volume_mount("newvol", ETC_BIND, driver="rexray")]}, ""),
        ({"Binds": ["datavol:/x", "newvol:/y"]}, ""),
    ],
)  # fmt: skip
def test_5_5_volumes_that_bind_a_sensitive_directory_are_refused(host_config, refused):
    expected = f"5.5 not allowed: {refused} (container compliant)" if refused else ""
    assert refusal("5.5", create(**host_config)) == expected


def test_5_5_a_volume_the_engine_cannot_be_asked_about_cannot_be_judged():
    def unreachable() -> list[dict[str, Any]]:
        raise FactUnavailable("the engine could not be asked about volume etcvol (/nowhere.sock)")

    context = replace(HOST, volumes=VolumeIndex(unreachable))
    assert refusal("5.5", create(Binds=["etcvol:/x"]), context) == (
        "5.5 not allowed: cannot be judged: the engine could not be asked about volume etcvol (/nowhere.sock) "
        "(container compliant)"
    )


@pytest.mark.parametrize(
    ("rules", "refused"),
    [
        (["a *:* rwm"], "device cgroup rule 'a *:* rwm' allows every host device (rwm)"),
        (["c *:* rwm"], "device cgroup rule 'c *:* rwm' allows every character device (rwm)"),
        (["b 8:* rwm"], "device cgroup rule 'b 8:* rwm' allows every block device of major 8 (rwm)"),
        (None, ""),
    ],
)
def test_5_17_device_cgroup_rules_are_refused(rules, refused):
    expected = f"5.17 not allowed: {refused} (container compliant)" if refused else ""
    assert refusal("5.17", create(DeviceCgroupRules=rules)) == expected


def test_bh_5_11_systempaths_unconfined_is_refused():
    message = refusal("BH-5.11", create(MaskedPaths=[], ReadonlyPaths=[]))
    assert message.startswith("BH-5.11 not allowed: masks no system path (systempaths=unconfined")
    assert "; BH-5.11 not allowed: makes no system path read-only" in message
    assert refusal("BH-5.11", create(MaskedPaths=None, ReadonlyPaths=None)) == ""


@pytest.mark.parametrize(
    "host_config",
    [{"DeviceCgroupRules": "a *:* rwm"}, {"MaskedPaths": {}}, {"ReadonlyPaths": "/proc"}],
    ids=["rules-not-a-list", "masked-not-a-list", "readonly-not-a-list"],
)
def test_device_rules_and_system_paths_that_are_not_lists_are_unreadable(host_config):
    decision = decide(create(**host_config), Policy(default="audit"), HOST, host="node-1")
    assert not decision.allow and decision.msg.startswith("cannot read the request, refused: HostConfig.")
