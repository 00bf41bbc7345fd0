"""bulkhead.checks.userns_remap: CIS 2.9 and BH-2.21..23 on hand-made host states."""

from __future__ import annotations

from typing import Any

import pytest

from bulkhead.checks import REGISTRY
from bulkhead.checks.userns import unmapped_lines, userns_remap_setting
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable

IDENTITY = [[0, 0, 4294967295]]
ROOTLESS_MAP = [[0, 1000, 1], [1, 165536, 65536]]
INFO_V1_ROOTLESS = {"CgroupDriver": "none", "CgroupVersion": "1", "MemoryLimit": False, "SecurityOptions": []}
INFO_ROOTFUL = {"CgroupDriver": "cgroupfs", "CgroupVersion": "1", "MemoryLimit": True, "SecurityOptions": []}


def rootful(info: dict[str, Any] | None = None, argv: list[str] | None = None) -> dict[str, Any]:
    return {
        "pid": 10,
        "uid": 0,
        "user": "root",
        "rootless": False,
        "argv": argv or ["/usr/sbin/dockerd", "-H", "fd://"],
        "info": info or INFO_ROOTFUL,
    }


def rootless(user: str = "alice", uid: int = 1000) -> dict[str, Any]:
    return {"pid": 20, "uid": uid, "user": user, "rootless": True, "argv": ["dockerd"], "info": INFO_V1_ROOTLESS}


def process(owner: str = "alice", owner_uid: int = 1000, uid: int = 166769, uid_map=None, gid_map=None, **extra):
    entry = {
        "pid": 30,
        "container": "0579adf3bc19718df75167665c8e260e",
        "engine": "docker",
        "owner": owner,
        "owner_uid": owner_uid,
        "owner_gid": owner_uid,
        "uid": uid,
        "gid": uid,
        "uid_map": ROOTLESS_MAP if uid_map is None else uid_map,
        "gid_map": ROOTLESS_MAP if gid_map is None else gid_map,
    }
    return entry | extra


def state(engines, processes=(), daemon_json=None, subids=None) -> HostState:
    ranges = subids if subids is not None else {"alice": [[165536, 65536]]}
    return HostState(
        "h",
        {
            "docker_engines": {"value": list(engines)},
            "container_id_maps": {"value": list(processes)},
            "daemon_json": {"value": {"exists": True, "settings": daemon_json or {}}},
            "subordinate_ids": {"value": {"subuid": ranges, "subgid": ranges}},
        },
    )


def outcome(control_id: str, host: HostState, settings: AuditConfig | None = None) -> tuple[str, str]:
    """(outcome, message): the findings one a line, or the reason."""
    try:
        findings = REGISTRY[control_id].judge(host, settings or AuditConfig())
    except NotApplicable as reason:
        return "not_applicable", str(reason)
    except FactUnavailable as reason:
        return "error", str(reason)
    return ("fail" if findings else "pass"), "\n".join(findings)


UNANSWERED = {key: value for key, value in rootful().items() if key != "info"} | {"info_error": "refused"}
REMAPPED = rootful({**INFO_ROOTFUL, "SecurityOptions": ["name=seccomp,profile=default", "name=userns"]})


@pytest.mark.parametrize(
    ("host", "expected", "reason"),
    [
        (state([REMAPPED], daemon_json={"userns-remap": "dockremap"}), "pass", ""),
        (state([rootful()]), "fail", "does not remap user namespaces: userns-remap is unset"),
        (
            state([rootful()], daemon_json={"userns-remap": "dockremap"}),
            "fail",
            "userns-remap is 'dockremap' (daemon.json) but the rootful engine (pid 10) does not remap (restart due)",
        ),
        (state([rootful(argv=["dockerd", "--userns-remap=default"])]), "fail", "'default' (command line)"),
        (
            state(
                [REMAPPED],
                [process("root", 0, 0, IDENTITY, IDENTITY)],
                daemon_json={"userns-remap": "dockremap"},
            ),
            "fail",
            "container 0579adf3bc19 runs in the host's user namespace (--userns=host)",
        ),
        (
            state(
                [REMAPPED | {"containers": {"0579adf3bc19718df75167665c8e260e": "web"}}],
                [process("root", 0, 0, IDENTITY, IDENTITY)],
                daemon_json={"userns-remap": "dockremap"},
            ),
            "fail",
            "container web (0579adf3bc19) runs in the host's user namespace (--userns=host)",
        ),
        (state([rootless()]), "not_applicable", "no rootful Docker engine runs here"),
        (state([]), "error", "no Docker engine runs on this host"),
        (state([UNANSWERED]), "error", "does not answer: refused"),
    ],
    ids=[
        "remapped",
        "unset",
        "restart-due",
        "flag-only",
        "userns-host",
        "userns-host-named",
        "rootless-only",
        "no-engine",
        "no-answer",
    ],
)
def test_2_9_userns_remap(host, expected, reason):
    got, message = outcome("2.9", host)
    assert got == expected
    assert reason in message


@pytest.mark.parametrize(
    ("engines", "users", "expected", "reason"),
    [
        ([rootless()], ["alice"], "pass", ""),
        ([rootful(), rootless()], ["alice", "bob"], "fail", "no rootless Docker engine runs for bob"),
        ([rootful()], ["alice"], "fail", "no rootless Docker engine runs for alice"),
        ([rootful()], [], "not_applicable", "audit setting rootless_users"),
    ],
    ids=["runs", "missing-one", "rootful-only", "none-designated"],
)
def test_bh_2_21_rootless_engines(engines, users, expected, reason):
    config = AuditConfig({"rootless_users": users})
    got, message = outcome("BH-2.21", state(engines), config)
    assert (got, reason in message) == (expected, True)


@pytest.mark.parametrize(
    ("processes", "subids", "expected", "reason"),
    [
        ([process()], None, "pass", ""),
        ([], None, "pass", ""),
        ([process(uid_map=[[0, 1000, 1], [1, 100000, 65536]])], None, "fail", "maps uids 1-65536 -> 100000-165535"),
        ([process(uid=0, uid_map=IDENTITY)], None, "fail", "runs as root on the host"),
        ([process()], {"mallory": [[165536, 65536]]}, "fail", "outside alice's own id and /etc/subuid ranges"),
        ([process()], {"1000": [[165536, 65536]]}, "pass", ""),
        ([process(engine="podman")], None, "pass", ""),
        ([process("root", 0, 0, IDENTITY, IDENTITY)], None, "pass", ""),
    ],
    ids=["mapped", "no-containers", "other-range", "root", "not-alices", "numeric-owner", "podman", "rootful-ignored"],
)
def test_bh_2_22_subordinate_ids(processes, subids, expected, reason):
    got, message = outcome("BH-2.22", state([rootless()], processes, None, subids))
    assert got == expected
    assert reason in message


def test_bh_2_22_without_rootless_engines_is_not_applicable():
    assert outcome("BH-2.22", state([rootful()]))[0] == "not_applicable"


@pytest.mark.parametrize(
    ("engines", "expected", "reason"),
    [
        ([rootful()], "pass", ""),
        ([rootful(), rootless()], "fail", "rootless engine of alice (pid 20) has cgroup driver 'none'"),
        ([rootless()], "fail", "NOT enforced"),
        ([], "error", "no Docker engine runs"),
    ],
    ids=["rootful", "rootless-v1", "rootless-only", "none"],
)
def test_bh_2_23_limits_never_pass_unenforced(engines, expected, reason):
    got, message = outcome("BH-2.23", state(engines))
    assert got == expected
    assert reason in message


@pytest.mark.parametrize(
    ("id_map", "allowed", "expected"),
    [
        ([[0, 1000, 1], [1, 165536, 65536]], [(1000, 1), (165536, 65536)], []),
        ([[1, 165536, 65537]], [(165536, 65536)], [[1, 165536, 65537]]),
        ([[0, 0, 4294967295]], [(165536, 65536)], [[0, 0, 4294967295]]),
        ([[0, 100, 10]], [(100, 5), (105, 5)], [[0, 100, 10]]),  # a line must fit one range
    ],
)
def test_unmapped_lines(id_map, allowed, expected):
    assert unmapped_lines(id_map, allowed) == expected


# Exact findings, precedence and edges.

CONTAINER = "0579adf3bc19718df75167665c8e260e"
HOST_USERNS = process("root", 0, 0, IDENTITY, IDENTITY)


def unreadable(host: HostState, fact: str) -> HostState:
    return HostState(host.host, {**host.facts, fact: {"error": "permission denied"}})


def test_2_9_names_each_rootful_engine_and_looks_at_containers_only_once_all_remap():
    second = rootful() | {"pid": 11}
    host = state([REMAPPED, second], [HOST_USERNS], daemon_json={"userns-remap": "dockremap"})
    assert outcome("2.9", host) == (
        "fail",
        "userns-remap is 'dockremap' (daemon.json) but the rootful engine (pid 11) does not remap (restart due)",
    )
    assert outcome("2.9", unreadable(host, "container_id_maps"))[0] == "fail"
    remapped = state([REMAPPED], [HOST_USERNS], daemon_json={"userns-remap": "dockremap"})
    assert outcome("2.9", unreadable(remapped, "container_id_maps")) == (
        "error",
        "container_id_maps: permission denied",
    )


@pytest.mark.parametrize(
    ("argv", "settings", "expected"),
    [
        (["dockerd", "--userns-remap", "alice"], {}, ("fail", "userns-remap is 'alice' (command line)")),
        (["dockerd", "--userns-remap=default"], {"userns-remap": "dockremap"}, ("fail", "'default' (command line)")),
        (["dockerd", "--userns-remap"], {"userns-remap": "dockremap"}, ("fail", "'dockremap' (daemon.json)")),
        (["dockerd", "--userns-remap="], {"userns-remap": "dockremap"}, ("fail", "userns-remap is unset")),
        (["dockerd", "--userns-remap=a", "--userns-remap=b"], {}, ("fail", "'b' (command line)")),
    ],
    ids=["flag", "flag-over-json", "flag-without-value", "flag-empty", "last-flag"],
)
def test_2_9_userns_remap_setting(argv, settings, expected):
    got, message = outcome("2.9", state([rootful(argv=argv)], daemon_json=settings))
    assert (got, expected[1] in message) == (expected[0], True)


@pytest.mark.parametrize(
    "process_changes",
    [{"engine": "podman"}, {"owner_uid": 1000}, {"uid_map": [[0, 100000, 65536]]}],
    ids=["podman", "rootless-owner", "own-userns"],
)
def test_2_9_only_rootful_docker_containers_in_the_host_userns_fail(process_changes):
    host = state([REMAPPED], [HOST_USERNS | process_changes], daemon_json={"userns-remap": "dockremap"})
    assert outcome("2.9", host) == ("pass", "")


def test_bh_2_21_findings_and_precedence():
    config = AuditConfig({"rootless_users": ["bob", "carol"]})
    assert outcome("BH-2.21", state([rootless()]), config) == (
        "fail",
        "no rootless Docker engine runs for bob\nno rootless Docker engine runs for carol",
    )
    # The engines are read before the setting: an unreadable engine list is an error, not "not applicable".
    assert outcome("BH-2.21", unreadable(state([]), "docker_engines"))[0] == "error"


def test_bh_2_22_findings_name_the_container_its_engine_and_owner():
    host = state(
        [rootless() | {"containers": {CONTAINER: "web"}}],
        [process(uid=0, uid_map=[[0, 0, 1], [1, 165536, 65536]], gid_map=[[0, 1000, 1], [1, 300000, 10]])],
    )
    assert outcome("BH-2.22", host) == (
        "fail",
        "docker container web (0579adf3bc19) of alice runs as root on the host\n"
        "docker container web (0579adf3bc19) of alice maps uids 0-0 -> 0-0, outside alice's own id and /etc/subuid ranges\n"
        "docker container web (0579adf3bc19) of alice maps gids 1-10 -> 300000-300009, outside alice's own id and "
        "/etc/subgid ranges",
    )


def test_bh_2_22_without_any_engine_or_process_is_not_applicable():
    assert outcome("BH-2.22", state([])) == ("not_applicable", "no rootless engine runs on this host")
    assert outcome("BH-2.22", state([], [process()]))[0] == "pass"
    assert outcome("BH-2.22", unreadable(state([rootless()], [process()]), "subordinate_ids"))[0] == "error"


def test_bh_2_23_findings_are_exact_and_memory_limit_must_be_reported():
    unknown = rootful({"CgroupDriver": "systemd", "CgroupVersion": "2"})
    assert outcome("BH-2.23", state([unknown])) == (
        "fail",
        "the rootful engine (pid 10) has cgroup driver 'systemd' on cgroup v2: memory, CPU and PIDs limits are "
        "accepted and NOT enforced",
    )
    assert outcome("BH-2.23", state([UNANSWERED])) == ("error", "the rootful engine (pid 10) does not answer: refused")


@pytest.mark.parametrize(
    ("control_id", "host", "settings", "expected"),
    [
        (
            "2.9",
            state([rootless()]),
            None,
            ("not_applicable", "no rootful Docker engine runs here, only rootless ones (BH-2.21)"),
        ),
        ("2.9", state([]), None, ("error", "no Docker engine runs on this host")),
        (
            "BH-2.21",
            state([rootful()]),
            None,
            ("not_applicable", "no users are designated for rootless engines (audit setting rootless_users)"),
        ),
        ("BH-2.23", state([]), None, ("error", "no Docker engine runs on this host")),
        (
            "BH-2.23",
            state([{k: v for k, v in rootful().items() if k != "info"}]),
            None,
            ("error", "the rootful engine (pid 10) does not answer: no answer"),
        ),
    ],
    ids=["2.9-rootless-only", "2.9-none", "BH-2.21-none-designated", "BH-2.23-none", "BH-2.23-silent"],
)
def test_reasons_are_exact(control_id, host, settings, expected):
    assert outcome(control_id, host, settings) == expected


def test_bh_2_22_the_owners_own_id_is_one_id():
    mapped = process(uid_map=[[0, 1000, 2], [2, 165536, 65535]])
    assert outcome("BH-2.22", state([rootless()], [mapped])) == (
        "fail",
        "docker container 0579adf3bc19 of alice maps uids 0-1 -> 1000-1001, outside alice's own id and /etc/subuid ranges",
    )


def test_bh_2_22_a_container_without_an_id_is_named_by_a_question_mark():
    nameless = process(uid=0, container="")
    assert outcome("BH-2.22", state([rootless()], [nameless])) == (
        "fail",
        "docker container ? of alice runs as root on the host",
    )


def test_bh_2_23_driver_none_fails_even_when_memory_limits_are_reported():
    claims = rootful({**INFO_ROOTFUL, "CgroupDriver": "none", "MemoryLimit": True})
    assert outcome("BH-2.23", state([claims]))[0] == "fail"


def test_userns_remap_setting_unset_comes_from_the_default():
    assert userns_remap_setting(state([rootful()]), rootful()) == ("", "default")
