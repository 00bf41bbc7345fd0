"""Docker's authorization plugin protocol, and admission requests in the audit's container shape.

dockerd sends every API call to ``/AuthZPlugin.AuthZReq`` as JSON: ``User``, ``RequestMethod``,
``RequestUri`` (``/v1.41/containers/create?name=web``), ``RequestHeaders`` and ``RequestBody``
(base64; only for JSON bodies under 64 KiB, so a large create body arrives without it). The
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

CREATE = "create"
UPDATE = "update"
EXEC = "exec"
PULL = "pull"

_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")
_ROUTES = (
    (re.compile(r"^/containers/create$"), CREATE),
    (re.compile(r"^/containers/(?P<target>[^/]+)/update$"), UPDATE),
    (re.compile(r"^/containers/(?P<target>[^/]+)/exec$"), EXEC),
    (re.compile(r"^/images/create$"), PULL),
)
_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
# HostConfig keys the collector keeps (collector/engines.py _HOST_CONFIG_KEYS).
_HOST_CONFIG_KEYS = (
    "Privileged",
    "CapAdd",
    "CapDrop",
    "SecurityOpt",
    "NetworkMode",
    "PidMode",
    "IpcMode",
    "UTSMode",
    "UsernsMode",
    "Memory",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "PidsLimit",
    "ReadonlyRootfs",
    "RestartPolicy",
    "CgroupParent",
    "PortBindings",
    "Devices",
    "Binds",
    "CgroupnsMode",
)


class RequestError(ValueError):
    """A request the gate must judge but cannot read (the gate refuses it)."""


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
        return _VERSION_PREFIX.sub("", urlsplit(self.uri).path)

    @property
    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.uri).query).items()}


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
    body = _json_body(request)
    if kind == CREATE:
        return create_admission(body, request.query.get("name", ""))
    if kind == UPDATE:
        return update_admission(body, target)
    return exec_admission(body, target)


def _json_body(request: AuthzRequest) -> dict[str, Any]:
    if not request.body:
        raise RequestError("the request body did not reach the gate (missing, not JSON, or over 64 KiB)")
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the request body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise RequestError("the request body is not a JSON object")
    return body


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(f"{what} is not a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(f"{what} is not a JSON list")
    return value


def create_admission(body: dict[str, Any], name: str) -> Admission:
    config = body
    host_config = _mapping(body.get("HostConfig"), "HostConfig")
    reference = str(config.get("Image") or "")
    labels = {str(key): str(value) for key, value in _mapping(config.get("Labels"), "Labels").items()}
    security_options = [str(option) for option in _list(host_config.get("SecurityOpt"), "HostConfig.SecurityOpt")]
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
            "Healthcheck": config.get("Healthcheck"),
            "EnvNames": sorted({str(item).split("=", 1)[0] for item in _list(config.get("Env"), "Env")}),
            "ExposedPorts": sorted(_mapping(config.get("ExposedPorts"), "ExposedPorts")),
            "Labels": sorted(labels),
        },
        "HostConfig": kept_host_config,
        "State": {"Status": "created", "Running": False, "Pid": 0, "Health": None},
        "AppArmorProfile": _apparmor_profile(security_options),
        "ProcessLabel": "",
        "Mounts": _binds(_list(host_config.get("Binds"), "HostConfig.Binds"))
        + _mounts(_list(host_config.get("Mounts"), "HostConfig.Mounts")),
        "Ports": _mapping(host_config.get("PortBindings"), "HostConfig.PortBindings"),
        "Networks": _networks(host_config, body),
    }
    return Admission(CREATE, document, container=document["Name"], image=reference, labels=labels)


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


def _binds(binds: list[Any]) -> list[dict[str, Any]]:
    """``-v source:destination[:options]`` as ``docker inspect`` shows the mount."""
    mounts = []
    for bind in binds:
        parts = str(bind).split(":")
        if len(parts) < 2:
            mounts.append({"Type": "volume", "Source": "", "Destination": parts[0], "RW": True, "Propagation": ""})
            continue
        source, destination = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) > 2 else []
        is_bind = source.startswith("/")
        propagation = next((option for option in options if option in _PROPAGATIONS), _default_propagation(source))
        mounts.append(
            {
                "Type": "bind" if is_bind else "volume",
                "Source": posixpath.normpath(source) if is_bind else "",
                "Destination": destination,
                "RW": "ro" not in options,
                "Propagation": propagation,
                "Mode": ",".join(options),
            }
        )
    return mounts


def _default_propagation(source: str) -> str:
    """What dockerd records for a bind without one (inspect shows rslave for a bind of /)."""
    if not source.startswith("/"):
        return ""
    return "rslave" if posixpath.normpath(source) == "/" else "rprivate"


def _mounts(mounts: list[Any]) -> list[dict[str, Any]]:
    """``--mount type=...,source=...,target=...`` as ``docker inspect`` shows the mount."""
    found = []
    for mount in mounts:
        mount = _mapping(mount, "HostConfig.Mounts entry")
        kind = str(mount.get("Type") or "volume")
        source = str(mount.get("Source") or "")
        bind_options = _mapping(mount.get("BindOptions"), "BindOptions")
        found.append(
            {
                "Type": kind,
                "Source": posixpath.normpath(source)
                if kind == "bind" and source
                else ("" if kind != "bind" else source),
                "Destination": str(mount.get("Target") or ""),
                "RW": not mount.get("ReadOnly"),
                "Propagation": str(
                    bind_options.get("Propagation") or (_default_propagation(source) if kind == "bind" else "")
                ),
                "Mode": "",
            }
        )
    return found


def _networks(host_config: dict[str, Any], body: dict[str, Any]) -> list[str]:
    mode = str(host_config.get("NetworkMode") or "default")
    networking = _mapping(body.get("NetworkingConfig"), "NetworkingConfig")
    if mode.startswith("container:"):
        return []
    # The CLI names the default network "default" in NetworkMode and EndpointsConfig: on Linux, bridge.
    names = {mode, *_mapping(networking.get("EndpointsConfig"), "EndpointsConfig")}
    return sorted("bridge" if name == "default" else name for name in names)


def update_admission(body: dict[str, Any], target: str) -> Admission:
    """``docker update``: resources and restart policy; a zero or empty field leaves the value unchanged."""
    restart = _mapping(body.get("RestartPolicy"), "RestartPolicy")
    set_fields = {key for key in ("Memory", "NanoCpus", "CpuShares", "CpuQuota", "CpusetCpus") if body.get(key)}
    if body.get("PidsLimit") is not None:
        set_fields.add("PidsLimit")
    if restart.get("Name"):
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
