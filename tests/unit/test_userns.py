"""The user namespace checks (CIS 2.9, BH-2.21..23) on hand-made host states."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import pytest

from bulkhead.checks.userns import unmapped_lines
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState

SUITE = Path(__file__).resolve().parents[2] / "audits" / "bulkhead" / "suites" / "test_2_userns.py"
_spec = importlib.util.spec_from_file_location("bulkhead_suite_2_userns", SUITE)
suite = importlib.util.module_from_spec(_spec)
with warnings.catch_warnings():  # the control marker is registered by the audit plugin, not here
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    _spec.loader.exec_module(suite)

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


def outcome(check, *args) -> tuple[str, str]:
    try:
        check(*args)
    except pytest.fail.Exception as error:
        return "fail", str(error)
    except pytest.skip.Exception as error:
        return "not_applicable", str(error)
    except FactUnavailable as error:
        return "error", str(error)
    return "pass", ""


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
    got, message = outcome(suite.test_userns_remap_enabled, host)
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
    got, message = outcome(suite.test_rootless_engines_for_designated_users, state(engines), config)
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
    got, message = outcome(
        suite.test_rootless_containers_use_subordinate_ids, state([rootless()], processes, None, subids)
    )
    assert got == expected
    assert reason in message


def test_bh_2_22_without_rootless_engines_is_not_applicable():
    assert outcome(suite.test_rootless_containers_use_subordinate_ids, state([rootful()]))[0] == "not_applicable"


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
    got, message = outcome(suite.test_resource_limits_are_enforced, state(engines))
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
