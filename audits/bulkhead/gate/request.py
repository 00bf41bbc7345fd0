"""Docker's authorization plugin protocol, and admission requests in the audit's container shape.

dockerd sends every API call to ``/AuthZPlugin.AuthZReq`` as JSON: ``User``, ``RequestMethod``,
``RequestUri`` (``/v1.41/containers/create?name=web``), ``RequestHeaders`` and ``RequestBody``
(base64; only for JSON bodies up to 1 MiB, so a larger create body arrives without it). The
requests the gate judges are translated into the normalised inspect document that the checks read
(``bulkhead.collector.engines.slim_container``), so that a control gives the same verdict whether
the gate judges the request or the audit judges the container it became.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bulkhead.collector.engines import _HOST_CONFIG_KEYS as COLLECTED_HOST_CONFIG_KEYS
from bulkhead.gate.go_json import RequestError, fold, loads, mapping, str_slice, strings
from bulkhead.gate.mounts import binds_as_mounts, mount_entries

CREATE = "create"
UPDATE = "update"
EXEC = "exec"
PULL = "pull"

START = "start"
# dockerd's router: an optional /v<digits and dots> prefix, then the route, matched on the decoded path.
_VERSION_PREFIX = re.compile(r"^/v[0-9.]+(?=/)")
_ROUTES = (
    (re.compile(r"^/containers/create$"), CREATE),
    (re.compile(r"^/containers/(?P<target>.+)/update$"), UPDATE),
    (re.compile(r"^/containers/(?P<target>.+)/exec$"), EXEC),
    (re.compile(r"^/containers/(?P<target>.+)/start$"), START),
    (re.compile(r"^/images/create$"), PULL),
)
# The HostConfig keys the collector keeps: the gate's document has the audit's shape, key for key.
_HOST_CONFIG_KEYS = COLLECTED_HOST_CONFIG_KEYS
# What the gate reads of a create body: Config fields, the wrapper's, and HostConfig fields, which
# dockerd also takes from the top level when the body has no HostConfig (an old API form).
_HOST_FIELDS = (*_HOST_CONFIG_KEYS, "Mounts", "PublishAllPorts", "VolumesFrom")
_CONFIG_FIELDS = ("Image", "User", "Healthcheck", "Env", "ExposedPorts", "Labels")
_WRAPPER_FIELDS = ("HostConfig", "NetworkingConfig")
_UPDATE_FIELDS = ("Memory", "NanoCpus", "CpuShares", "CpuQuota", "CpusetCpus", "PidsLimit", "RestartPolicy")


@dataclass(frozen=True)
class AuthzRequest:
    """One ``AuthZPlugin.AuthZReq`` message, as dockerd sends it."""

    method: str
    uri: str
    user: str = ""
    body: bytes | None = None
    content_type: str = ""

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> AuthzRequest:
        encoded = message.get("RequestBody")
        body = None
        if encoded:
            try:
                body = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise RequestError("the request body is not valid base64") from None
        headers = {str(key).lower(): str(value) for key, value in (message.get("RequestHeaders") or {}).items()}
        return cls(
            method=str(message.get("RequestMethod") or ""),
            uri=str(message.get("RequestUri") or message.get("RequestURI") or ""),
            user=str(message.get("User") or ""),
            body=body,
            content_type=headers.get("content-type", ""),
        )

    @property
    def path(self) -> str:
        """The route dockerd matches: decoded (``containers%2Fcreate`` is ``containers/create``), cleaned."""
        decoded = posixpath.normpath(unquote(urlsplit(self.uri).path) or "/")
        return _VERSION_PREFIX.sub("", "/" + decoded.lstrip("/"))

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated one is its first value, as Go's ``Form.Get`` reads it."""
        return {key: values[0] for key, values in parse_qs(urlsplit(self.uri).query).items()}


@dataclass
class Admission:
    """What a judged request asks for: its kind, and the document the checks read."""

    kind: str
    document: dict[str, Any]
    container: str = ""
    image: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # Update requests: only the HostConfig fields the request sets (zero values mean "unchanged").
    fields_set: frozenset[str] = frozenset()
    # -P: dockerd publishes every exposed port (the request's and the image's) on all interfaces.
    publish_all: bool = False
    # --volumes-from NAME[:ro|rw]: the container also gets every mount of NAME.
    volumes_from: tuple[str, ...] = ()


def route(request: AuthzRequest) -> tuple[str, str] | None:
    """(kind, target container) of a request the gate judges; None for every other API call."""
    if request.method.upper() != "POST":
        return None
    for pattern, kind in _ROUTES:
        match = pattern.match(request.path)
        if match:
            return kind, unquote(match.groupdict().get("target") or "")
    return None


def admission(request: AuthzRequest) -> Admission | None:
    """The request in the checks' shape, None when the gate does not judge it; RequestError when unreadable."""
    routed = route(request)
    if routed is None:
        return None
    kind, target = routed
    if kind == PULL:
        return pull_admission(request)
    if kind == START:
        return start_admission(request)
    body = _json_body(request)
    if kind == CREATE:
        return create_admission(body, request.query.get("name", ""))
    if kind == UPDATE:
        return update_admission(body, target)
    return exec_admission(body, target)


def _json_body(request: AuthzRequest) -> dict[str, Any]:
    if not request.body:
        raise RequestError("the request body did not reach the gate (missing, not JSON, or over 1 MiB)")
    try:
        body = loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the request body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise RequestError("the request body is not a JSON object")
    return body


def start_admission(request: AuthzRequest) -> Admission | None:
    """A start carries no settings, except in API versions before 1.24, where dockerd still applies a
    HostConfig sent with it: the gate cannot judge that against the container, so it refuses it."""
    if not request.body or request.body.strip() in (b"", b"{}", b"null"):
        return None
    raise RequestError("a start request with a HostConfig (API < 1.24) is not judged: give settings at create")


def create_admission(body: dict[str, Any], name: str) -> Admission:
    config = fold(body, (*_CONFIG_FIELDS, *_WRAPPER_FIELDS, *_HOST_FIELDS), "the request body")
    inner = config.get("HostConfig")
    if inner is None:  # dockerd then reads the host config from the top level
        host_config = {key: config[key] for key in _HOST_FIELDS if key in config}
    else:
        host_config = fold(inner, _HOST_FIELDS, "HostConfig")
    reference = str(config.get("Image") or "")
    labels = {str(key): str(value) for key, value in mapping(config.get("Labels"), "Labels").items()}
    security_options = [str(option) for option in strings(host_config.get("SecurityOpt"), "HostConfig.SecurityOpt")]
    host_config["CapAdd"] = str_slice(host_config.get("CapAdd"), "HostConfig.CapAdd")
    host_config["CapDrop"] = str_slice(host_config.get("CapDrop"), "HostConfig.CapDrop")
    host_config["RestartPolicy"] = fold(host_config.get("RestartPolicy"), _RESTART_FIELDS, "RestartPolicy") or None
    host_config["Devices"] = [
        fold(device, ("PathOnHost", "PathInContainer", "CgroupPermissions"), "HostConfig.Devices entry")
        for device in strings(host_config.get("Devices"), "HostConfig.Devices")
    ]
    host_config["PortBindings"] = _port_bindings(host_config.get("PortBindings"))
    rules = strings(host_config.get("DeviceCgroupRules"), "HostConfig.DeviceCgroupRules")
    host_config["DeviceCgroupRules"] = [str(rule) for rule in rules] or None
    for key in ("MaskedPaths", "ReadonlyPaths"):  # null: the engine's defaults; []: systempaths=unconfined
        if host_config.get(key) is not None:
            host_config[key] = [str(path) for path in strings(host_config[key], f"HostConfig.{key}")]
    kept_host_config = {key: host_config.get(key) for key in _HOST_CONFIG_KEYS}
    if isinstance(kept_host_config["PidsLimit"], int) and kept_host_config["PidsLimit"] <= 0:
        kept_host_config["PidsLimit"] = None  # dockerd stores zero and negative limits as none (unlimited)
    kept_host_config["SecurityOpt"] = _engine_security_options(host_config, security_options)
    document = {
        "Id": "",
        "Name": name.lstrip("/"),
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": reference,
        "Config": {
            "User": str(config.get("User") or ""),
            "Image": reference,
            "Healthcheck": fold(config["Healthcheck"], _HEALTHCHECK_FIELDS, "Healthcheck")
            if config.get("Healthcheck") is not None
            else None,
            "EnvNames": sorted({str(item).split("=", 1)[0] for item in strings(config.get("Env"), "Env")}),
            "ExposedPorts": sorted(mapping(config.get("ExposedPorts"), "ExposedPorts")),
            "Labels": sorted(labels),
        },
        "HostConfig": kept_host_config,
        "State": {"Status": "created", "Running": False, "Pid": 0, "Health": None},
        "AppArmorProfile": _apparmor_profile(security_options),
        "ProcessLabel": "",
        "Mounts": binds_as_mounts(strings(host_config.get("Binds"), "HostConfig.Binds"))
        + mount_entries(strings(host_config.get("Mounts"), "HostConfig.Mounts")),
        "Ports": host_config["PortBindings"],
        "Networks": _networks(host_config, config),
    }
    publish_all = bool(host_config.get("PublishAllPorts"))
    volumes_from = tuple(str(item) for item in strings(host_config.get("VolumesFrom"), "HostConfig.VolumesFrom"))
    return Admission(
        CREATE, document, document["Name"], reference, labels, publish_all=publish_all, volumes_from=volumes_from
    )


_RESTART_FIELDS = ("Name", "MaximumRetryCount")
_HEALTHCHECK_FIELDS = ("Test", "Interval", "Timeout", "StartPeriod", "Retries")


def _port_bindings(value: Any) -> dict[str, Any]:
    return {
        port: [fold(binding, ("HostIp", "HostPort"), "PortBindings entry") for binding in strings(bindings, port)]
        for port, bindings in sorted(mapping(value, "HostConfig.PortBindings").items())
    }


def _engine_security_options(host_config: dict[str, Any], requested: list[str]) -> list[str] | None:
    """dockerd turns SELinux labelling off for a container sharing the host's IPC or PID namespace, or
    privileged, unless the request gives a label option (daemon generateSecurityOpt)."""
    shares_host = "host" in (host_config.get("IpcMode"), host_config.get("PidMode")) or host_config.get("Privileged")
    if shares_host and not any(option.split("=", 1)[0].split(":", 1)[0] == "label" for option in requested):
        return [*requested, "label=disable"]
    return host_config.get("SecurityOpt")


def _apparmor_profile(security_options: list[str]) -> str | None:
    """The profile the request asks for; None leaves it to dockerd (see decide.with_engine_defaults)."""
    for option in security_options:
        for separator in ("=", ":"):
            if option.startswith("apparmor" + separator):
                return option[len("apparmor") + 1 :]
    return None


def _networks(host_config: dict[str, Any], config: dict[str, Any]) -> list[str]:
    mode = str(host_config.get("NetworkMode") or "default")
    networking = fold(config.get("NetworkingConfig"), ("EndpointsConfig",), "NetworkingConfig")
    if mode.startswith("container:"):
        return []
    # The CLI names the default network "default" in NetworkMode and EndpointsConfig: on Linux, bridge.
    names = {mode, *mapping(networking.get("EndpointsConfig"), "EndpointsConfig")}
    return sorted("bridge" if name == "default" else name for name in names)


def update_admission(body: dict[str, Any], target: str) -> Admission:
    """``docker update``: resources and restart policy; a zero or empty field leaves the value unchanged."""
    body = fold(body, _UPDATE_FIELDS, "the request body")
    body["RestartPolicy"] = fold(body.get("RestartPolicy"), _RESTART_FIELDS, "RestartPolicy")
    set_fields = {key for key in ("Memory", "NanoCpus", "CpuShares", "CpuQuota", "CpusetCpus") if body.get(key)}
    if body.get("PidsLimit") is not None:
        set_fields.add("PidsLimit")
    if body["RestartPolicy"].get("Name"):
        set_fields.add("RestartPolicy")
    host_config = {key: body.get(key) for key in set_fields}
    document = {
        "Id": target,
        "Name": target,
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": "",
        "Config": _empty_config(""),
        "HostConfig": host_config,
        "State": {"Status": "", "Running": None, "Pid": None, "Health": None},
        "Mounts": [],
        "Ports": {},
        "Networks": [],
    }
    return Admission(UPDATE, document, container=target, fields_set=frozenset(set_fields))


def exec_admission(body: dict[str, Any], target: str) -> Admission:
    body = fold(body, ("User", "Privileged"), "the request body")
    document = {"Container": target, "User": str(body.get("User") or ""), "Privileged": bool(body.get("Privileged"))}
    return Admission(EXEC, document, container=target)


def pull_admission(request: AuthzRequest) -> Admission | None:
    """``docker pull``: ``fromImage`` and ``tag`` (a digest arrives as the tag); an import is not a pull."""
    query = request.query
    name = query.get("fromImage", "")
    if not name:
        if query.get("fromSrc"):
            return None
        raise RequestError("the pull request names no image (fromImage)")
    tag = query.get("tag", "")
    if "@" in name or not tag:
        reference = name
    elif tag.startswith("sha256:"):
        reference = f"{name}@{tag}"
    else:
        reference = f"{name}:{tag}"
    document = {
        "Id": "",
        "Name": "",
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": reference,
        "Config": {
            "User": "",
            "Image": reference,
            "Healthcheck": None,
            "EnvNames": [],
            "ExposedPorts": [],
            "Labels": [],
        },
        "HostConfig": {},
        "State": {"Status": "", "Running": None, "Pid": None, "Health": None},
        "Mounts": [],
        "Ports": {},
        "Networks": [],
    }
    return Admission(PULL, document, image=reference)


def _empty_config(reference: str) -> dict[str, Any]:
    return {"User": "", "Image": reference, "Healthcheck": None, "EnvNames": [], "ExposedPorts": [], "Labels": []}
