"""bulkhead.gate.request: the authorization protocol's messages, and requests in the checks' shape."""

from __future__ import annotations

import base64
import json

import pytest
from gate_fixtures import AUTHZ, cases, message, request

from bulkhead.gate.recorder import scrub
from bulkhead.gate.request import (
    CREATE,
    EXEC,
    PULL,
    UPDATE,
    AuthzRequest,
    RequestError,
    admission,
    create_admission,
    route,
)


def test_messages_decode_method_uri_body_and_the_api_version_prefix():
    recorded = request("create-privileged")
    assert recorded.method == "POST"
    assert recorded.path == "/containers/create"
    assert recorded.query == {"name": "debug"}
    assert json.loads(recorded.body or b"")["HostConfig"]["Privileged"] is True
    assert AuthzRequest("GET", "/containers/json").path == "/containers/json"  # no version prefix


@pytest.mark.parametrize(
    ("method", "uri", "expected"),
    [
        ("POST", "/v1.41/containers/create?name=web", (CREATE, "")),
        ("POST", "/v1.41/containers/web/update", (UPDATE, "web")),
        ("POST", "/v1.41/containers/web/exec", (EXEC, "web")),
        ("POST", "/v1.41/images/create?fromImage=busybox&tag=1", (PULL, "")),
        ("POST", "/v1.41/containers/web/start", None),
        ("GET", "/v1.41/containers/create", None),
        ("POST", "/v1.41/exec/abc/start", None),
        ("POST", "/containers/create", (CREATE, "")),
    ],
)
def test_routes(method, uri, expected):
    assert route(AuthzRequest(method, uri)) == expected


def test_every_fixture_is_routed_to_the_kind_in_its_name():
    for case in cases(""):
        assert route(request(case))[0] == case.split("-", 1)[0], case  # type: ignore[index]


def test_create_document_has_the_collector_shape_and_no_environment_values():
    document = admission(request("create-compliant")).document  # type: ignore[union-attr]
    assert document["Name"] == "compliant"
    assert (document["EngineKind"], document["EngineMode"]) == ("docker", "rootful")
    assert document["Config"]["EnvNames"] == ["API_TOKEN"]
    assert document["Networks"] == ["appnet"]
    assert document["HostConfig"]["CapDrop"] == ["ALL"]
    assert document["HostConfig"]["PidsLimit"] == 64
    assert "Env" not in document["Config"]


def test_binds_become_mounts_as_docker_inspect_shows_them():
    body = {
        "Image": "x",
        "HostConfig": {
            "Binds": [
                "/:/host",
                "/var/run/docker.sock:/var/run/docker.sock:ro",
                "/srv/data/:/data:rw,rshared",
                "cache:/cache",
                "/etc:/host-etc:ro,z",
            ]
        },
    }
    mounts = create_admission(body, "web").document["Mounts"]
    assert [(m["Type"], m["Source"], m["Destination"], m["RW"], m["Propagation"]) for m in mounts] == [
        ("bind", "/", "/host", True, "rslave"),
        ("bind", "/var/run/docker.sock", "/var/run/docker.sock", False, "rprivate"),
        ("bind", "/srv/data", "/data", True, "rshared"),
        ("volume", "", "/cache", True, ""),
        ("bind", "/etc", "/host-etc", False, "rprivate"),
    ]


def test_mount_entries_become_mounts():
    body = {
        "Image": "x",
        "HostConfig": {
            "Mounts": [
                {
                    "Type": "bind",
                    "Source": "/etc",
                    "Target": "/e",
                    "ReadOnly": True,
                    "BindOptions": {"Propagation": "shared"},
                },
                {"Type": "volume", "Source": "data", "Target": "/d"},
                {"Type": "tmpfs", "Target": "/t"},
            ]
        },
    }
    mounts = create_admission(body, "web").document["Mounts"]
    assert [(m["Type"], m["Source"], m["Destination"], m["RW"], m["Propagation"]) for m in mounts] == [
        ("bind", "/etc", "/e", False, "shared"),
        ("volume", "", "/d", True, ""),
        ("tmpfs", "", "/t", True, ""),
    ]


@pytest.mark.parametrize(
    ("network_mode", "endpoints", "networks"),
    [
        ("default", {"default": {}}, ["bridge"]),
        ("host", {}, ["host"]),
        ("none", {}, ["none"]),
        ("app", {"app": {}}, ["app"]),
        ("container:web", {}, []),
        (None, None, ["bridge"]),
    ],
)
def test_networks(network_mode, endpoints, networks):
    body = {
        "Image": "x",
        "HostConfig": {"NetworkMode": network_mode},
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    }
    assert create_admission(body, "web").document["Networks"] == networks


def test_engine_settings_dockerd_adds_at_create():
    pid_host = create_admission({"Image": "x", "HostConfig": {"PidMode": "host"}}, "a").document["HostConfig"]
    assert pid_host["SecurityOpt"] == ["label=disable"]
    labelled = create_admission({"Image": "x", "HostConfig": {"PidMode": "host", "SecurityOpt": ["label=type:x"]}}, "a")
    assert labelled.document["HostConfig"]["SecurityOpt"] == ["label=type:x"]
    unlimited = create_admission({"Image": "x", "HostConfig": {"PidsLimit": -1}}, "a").document["HostConfig"]
    assert unlimited["PidsLimit"] is None


def test_update_keeps_only_the_fields_it_sets():
    pids = admission(request("update-pids-unlimited"))
    assert pids is not None and pids.fields_set == {"PidsLimit"} and pids.container == "compliant"
    restart = admission(request("update-restart-always"))
    assert restart is not None and restart.fields_set == {"RestartPolicy"}
    memory = admission(request("update-memory"))
    assert memory is not None and memory.fields_set == {"Memory"}


def test_exec_and_pull():
    privileged = admission(request("exec-privileged"))
    assert privileged is not None and privileged.document == {"Container": "compliant", "User": "", "Privileged": True}
    assert admission(request("exec-root")).document["User"] == "root"  # type: ignore[union-attr]
    assert admission(request("pull-tag")).image == "registry.example.com/app:2"  # type: ignore[union-attr]
    assert admission(request("pull-digest")).image == "registry.example.com/app@sha256:" + "a" * 64  # type: ignore[union-attr]
    assert admission(AuthzRequest("POST", "/v1.41/images/create?fromImage=busybox")).image == "busybox"  # type: ignore[union-attr]
    assert admission(AuthzRequest("POST", "/v1.41/images/create?fromSrc=-&repo=x")) is None  # docker import


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create"}, "did not reach the gate"),
        (
            {"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create", "RequestBody": "bm90IGpzb24="},
            "not JSON",
        ),
        (
            {"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create", "RequestBody": "W10="},
            "not a JSON object",
        ),
        ({"RequestMethod": "POST", "RequestUri": "/v1.41/images/create"}, "names no image"),
    ],
)
def test_unreadable_requests_raise(message, problem):
    with pytest.raises(RequestError, match=problem):
        admission(AuthzRequest.from_message(message))


def test_bad_base64_and_bad_shapes_raise():
    with pytest.raises(RequestError, match="base64"):
        AuthzRequest.from_message({"RequestBody": "***"})
    body = base64.b64encode(json.dumps({"Image": "x", "HostConfig": {"Binds": "/:/host"}}).encode()).decode()
    with pytest.raises(RequestError, match=r"HostConfig\.Binds is not a JSON list"):
        admission(
            AuthzRequest.from_message(
                {"RequestMethod": "POST", "RequestUri": "/containers/create", "RequestBody": body}
            )
        )


def test_fixtures_hold_no_environment_values_or_headers():
    for path in AUTHZ.rglob("*.json"):
        text = path.read_text()
        assert "not-for-fixtures" not in text, path
        assert "X-Registry-Auth" not in text, path


def test_the_recorder_drops_environment_values_and_headers():
    body = base64.b64encode(json.dumps({"Image": "x", "Env": ["TOKEN=secret", "PLAIN"]}).encode()).decode()
    scrubbed = scrub(
        {
            "RequestMethod": "POST",
            "RequestUri": "/containers/create",
            "RequestBody": body,
            "RequestHeaders": {"X-Registry-Auth": "c2VjcmV0"},
        }
    )
    assert "secret" not in json.dumps(scrubbed) and "c2VjcmV0" not in json.dumps(scrubbed)
    assert scrubbed["RequestBodyDecoded"]["Env"] == ["TOKEN=", "PLAIN="]
    assert message("create-compliant")["RequestBodyDecoded"]["Env"] == ["API_TOKEN="]
