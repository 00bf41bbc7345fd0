"""User namespaces: userns-remap for the rootful engine (CIS 2.9) and rootless engines (BH-2.21..23)."""

from __future__ import annotations

from typing import Any

from bulkhead.checks import userns
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable


def userns_remap_enabled(state: HostState, settings: AuditConfig) -> Findings:
    rootful = userns.rootful_engines(state)
    if not rootful:
        if userns.rootless_engines(state):
            raise NotApplicable("no rootful Docker engine runs here, only rootless ones (BH-2.21)")
        raise FactUnavailable("no Docker engine runs on this host")
    findings = [finding for engine in rootful for finding in _remap_findings(state, engine)]
    # Containers are looked at only once every engine remaps: until then the engine's finding says it all.
    return findings or _host_userns_containers(state)


def _remap_findings(state: HostState, engine: dict[str, Any]) -> Findings:
    value, source = userns.userns_remap_setting(state, engine)
    security = userns.engine_info(engine).get("SecurityOptions") or []
    if not value:
        return [f"{userns.describe_engine(engine)} does not remap user namespaces: userns-remap is unset"]
    if "name=userns" not in security:
        return [
            f"userns-remap is {value!r} ({source}) but {userns.describe_engine(engine)} does not remap (restart due)"
        ]
    return []


def _host_userns_containers(state: HostState) -> Findings:
    return [
        f"container {userns.container_name(state, process['container'])} runs in the host's user namespace "
        "(--userns=host)"
        for process in state.fact("container_id_maps")
        if process["engine"] == "docker" and process["owner_uid"] == 0 and process["uid_map"] == userns.IDENTITY_MAP
    ]


def rootless_engines_for_designated_users(state: HostState, settings: AuditConfig) -> Findings:
    rootless = {engine["user"] for engine in userns.rootless_engines(state)}
    users = settings.get("rootless_users")
    if not users:
        raise NotApplicable("no users are designated for rootless engines (audit setting rootless_users)")
    return [f"no rootless Docker engine runs for {user}" for user in users if user not in rootless]


def rootless_containers_use_subordinate_ids(state: HostState, settings: AuditConfig) -> Findings:
    processes = [process for process in state.fact("container_id_maps") if process["owner_uid"] != 0]
    if not processes and not userns.rootless_engines(state):
        raise NotApplicable("no rootless engine runs on this host")
    return [finding for process in processes for finding in _subordinate_id_findings(state, process)]


def _subordinate_id_findings(state: HostState, process: dict[str, Any]) -> Findings:
    owner, owner_uid = process["owner"], process["owner_uid"]
    name = f"{process['engine']} container {userns.container_name(state, process['container'])} of {owner}"
    findings = [f"{name} runs as root on the host"] if process["uid"] == 0 else []
    for kind, id_map, own_id in (
        ("subuid", process["uid_map"], owner_uid),
        ("subgid", process["gid_map"], process["owner_gid"]),
    ):
        allowed = [(own_id, 1), *userns.subordinate_ranges(state, kind, owner, owner_uid)]
        findings.extend(
            f"{name} maps {kind[3:]}s {userns.describe_map_line(line)}, outside {owner}'s own id and /etc/{kind} ranges"
            for line in userns.unmapped_lines(id_map, allowed)
        )
    return findings


def resource_limits_are_enforced(state: HostState, settings: AuditConfig) -> Findings:
    engines = userns.engines(state)
    if not engines:
        raise FactUnavailable("no Docker engine runs on this host")
    findings = []
    for engine in engines:
        info = userns.engine_info(engine)
        driver = info.get("CgroupDriver")
        if driver == "none" or not info.get("MemoryLimit", False):
            findings.append(
                f"{userns.describe_engine(engine)} has cgroup driver {driver!r} on cgroup v{info.get('CgroupVersion')}:"
                " memory, CPU and PIDs limits are accepted and NOT enforced"
            )
    return findings


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "2.9": HostCheck(userns_remap_enabled),
    "BH-2.21": HostCheck(rootless_engines_for_designated_users),
    "BH-2.22": HostCheck(rootless_containers_use_subordinate_ids),
    "BH-2.23": HostCheck(resource_limits_are_enforced),
}
