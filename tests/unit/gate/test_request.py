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
    START,
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
        ("POST", "/v1.41/containers/web/start", (START, "web")),
        ("POST", "/v1.41/containers%2Fcreate", (CREATE, "")),
        ("POST", "/v1.41.0/containers/create", (CREATE, "")),
        ("POST", "//v1.41/containers/./create/", (CREATE, "")),
        ("POST", "/v1.41/containers/a/b/exec", (EXEC, "a/b")),
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


def create_body(raw: str, uri: str = "/v1.41/containers/create?name=web") -> AuthzRequest:
    return AuthzRequest("POST", uri, body=raw.encode())


def host_config_of(raw: str) -> dict:
    return admission(create_body(raw)).document["HostConfig"]  # type: ignore[union-attr]


def test_host_config_fields_at_the_top_level_are_read_as_dockerd_reads_them():
    """dockerd takes the host config from the top level when the body has no HostConfig (verified on 20.10)."""
    assert host_config_of('{"Image": "x", "Privileged": true, "PidMode": "host"}')["Privileged"] is True
    assert host_config_of('{"Image": "x", "Privileged": true, "HostConfig": null}')["PidMode"] is None
    assert host_config_of('{"Image": "x", "Privileged": true, "HostConfig": null}')["Privileged"] is True
    # with a HostConfig, dockerd ignores the top-level field (verified too)
    assert host_config_of('{"Image": "x", "Privileged": true, "HostConfig": {}}')["Privileged"] is None
    mounts = admission(create_body('{"Image": "x", "Binds": ["/:/host"]}')).document["Mounts"]  # type: ignore[union-attr]
    assert mounts[0]["Source"] == "/"


def test_keys_match_fields_in_any_case_and_the_last_one_wins_as_in_go():
    assert host_config_of('{"image": "x", "hostconfig": {"privileged": true}}')["Privileged"] is True
    assert host_config_of('{"HostConfig": {"Privileged": false, "privileged": true}}')["Privileged"] is True
    assert (
        host_config_of('{"HostConfig": {"Privileged": true, "privileged": false, "Privileged": true}}')["Privileged"]
        is True
    )
    assert (
        host_config_of('{"HostConfig": {"PIDMODE": "host", "SecurityOpt": ["seccomp=unconfined"]}}')["PidMode"]
        == "host"
    )
    document = admission(create_body('{"hostconfig": {"portbindings": {"80/tcp": [{"hostport": "80"}]}}}')).document  # type: ignore[union-attr]
    assert document["Ports"] == {"80/tcp": [{"HostPort": "80"}]}
    mounts = admission(create_body('{"HostConfig": {"mounts": [{"type": "bind", "source": "/etc", "target": "/e"}]}}'))
    assert mounts.document["Mounts"][0]["Source"] == "/etc"  # type: ignore[union-attr]
    # map keys (labels) are data: their case is kept
    labelled = admission(create_body('{"Labels": {"Team": "a", "team": "b"}}'))
    assert labelled.labels == {"Team": "a", "team": "b"}  # type: ignore[union-attr]


def test_capabilities_may_be_one_string():
    assert host_config_of('{"HostConfig": {"CapAdd": "SYS_ADMIN", "CapDrop": "ALL"}}')["CapAdd"] == ["SYS_ADMIN"]


def test_the_first_of_repeated_query_parameters_counts_as_in_go():
    assert admission(create_body("{}", "/v1.41/containers/create?name=debug&name=allowed")).container == "debug"  # type: ignore[union-attr]


def test_a_start_with_a_host_config_is_refused_and_a_plain_start_passes():
    assert admission(AuthzRequest("POST", "/v1.41/containers/web/start")) is None
    assert admission(AuthzRequest("POST", "/v1.41/containers/web/start", body=b"{}")) is None
    with pytest.raises(RequestError, match=r"API < 1\.24"):
        admission(AuthzRequest("POST", "/v1.23/containers/web/start", body=b'{"Privileged": true}'))
