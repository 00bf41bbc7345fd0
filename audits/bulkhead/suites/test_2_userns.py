"""User namespaces: userns-remap for the rootful engine (CIS 2.9) and rootless engines (BH-2.21..23)."""

import pytest

from bulkhead.checks import userns
from bulkhead.facts import FactUnavailable
from bulkhead.verdict import fail, fail_for_each, not_applicable


@pytest.mark.control("2.9")
def test_userns_remap_enabled(state):
    rootful = userns.rootful_engines(state)
    if not rootful:
        if userns.rootless_engines(state):
            not_applicable("no rootful Docker engine runs here, only rootless ones (BH-2.21)")
        raise FactUnavailable("no Docker engine runs on this host")
    findings = []
    for engine in rootful:
        value, source = userns.userns_remap_setting(state, engine)
        security = userns.engine_info(engine).get("SecurityOptions") or []
        if not value:
            findings.append(f"{userns.describe_engine(engine)} does not remap user namespaces: userns-remap is unset")
        elif "name=userns" not in security:
            findings.append(
                f"userns-remap is {value!r} ({source}) but {userns.describe_engine(engine)} does not remap "
                "(restart due)"
            )
    if not findings:
        findings.extend(
            f"container {userns.container_name(state, process['container'])} runs in the host's user namespace "
            "(--userns=host)"
            for process in state.fact("container_id_maps")
            if process["engine"] == "docker" and process["owner_uid"] == 0 and process["uid_map"] == userns.IDENTITY_MAP
        )
    fail_for_each(findings)


@pytest.mark.control("BH-2.21")
def test_rootless_engines_for_designated_users(state, audit_config):
    rootless = {engine["user"] for engine in userns.rootless_engines(state)}
    users = audit_config.get("rootless_users")
    if not users:
        not_applicable("no users are designated for rootless engines (audit setting rootless_users)")
    fail_for_each(f"no rootless Docker engine runs for {user}" for user in users if user not in rootless)


@pytest.mark.control("BH-2.22")
def test_rootless_containers_use_subordinate_ids(state):
    processes = [process for process in state.fact("container_id_maps") if process["owner_uid"] != 0]
    if not processes and not userns.rootless_engines(state):
        not_applicable("no rootless engine runs on this host")
    findings = []
    for process in processes:
        owner, owner_uid = process["owner"], process["owner_uid"]
        name = f"{process['engine']} container {userns.container_name(state, process['container'])} of {owner}"
        if process["uid"] == 0:
            findings.append(f"{name} runs as root on the host")
        for kind, id_map, own_id in (
            ("subuid", process["uid_map"], owner_uid),
            ("subgid", process["gid_map"], process["owner_gid"]),
        ):
            allowed = [(own_id, 1), *userns.subordinate_ranges(state, kind, owner, owner_uid)]
            findings.extend(
                f"{name} maps {kind[3:]}s {userns.describe_map_line(line)}, outside {owner}'s own id "
                f"and /etc/{kind} ranges"
                for line in userns.unmapped_lines(id_map, allowed)
            )
    fail_for_each(findings)


@pytest.mark.control("BH-2.23")
def test_resource_limits_are_enforced(state):
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
    if findings:
        fail("\n".join(findings))
