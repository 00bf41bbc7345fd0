"""The container_host role and the audit use the same tables.

The role (collections/.../roles/container_host/vars/main.yml) writes audit rules for the engine's
paths and the admin clients and sets kernel parameters; the audit checks those very paths, clients
and parameters. Each table exists on both sides (the audit's collector runs on targets with the
standard library only and cannot read the role's YAML), so this test compares them and names every
difference. The audit's tables are imported from where they are today: bulkhead.collector
(ENGINE_PATH_CANDIDATES, ADMIN_CLIENTS, SYSCTL_KEYS, engine_paths) and bulkhead.checks.kernel
(HARDENED_MINIMUMS).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from bulkhead.checks.kernel import HARDENED_MINIMUMS
from bulkhead.collector import host as collector

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening"
ROLE_VARS = yaml.safe_load((COLLECTION / "roles" / "container_host" / "vars" / "main.yml").read_text())
# The collection's module_utils, as its own unit tests import them (ansible_collections.bulkhead.*).
sys.path.insert(0, str(ROOT / "collections"))


def audit_paths(monkeypatch) -> dict:
    """collector.engine_paths() on a host where every candidate exists as itself and daemon.json is unreadable.

    This is the audit's own code path for what it looks at, so the test does not restate how the
    collector builds its lists (the clients' directories, the sockets).
    """

    def no_daemon_json():
        raise collector.FactError("not read in this test")

    monkeypatch.setattr(collector, "daemon_json", no_daemon_json)
    monkeypatch.setattr(os.path, "exists", lambda path: True)
    monkeypatch.setattr(os.path, "realpath", lambda path: path)
    return collector.engine_paths()


def differences(role: dict[str, list[str]], audit: dict[str, list[str]]) -> list[str]:
    """Per key, what only the role or only the audit has (order within a key does not matter)."""
    found = []
    for key in sorted(set(role) | set(audit), key=str):
        only_role = sorted(set(role.get(key, [])) - set(audit.get(key, [])))
        only_audit = sorted(set(audit.get(key, [])) - set(role.get(key, [])))
        if key not in audit:
            found.append(f"{key}: only the role has it ({', '.join(role[key])})")
        elif key not in role:
            found.append(f"{key}: only the audit has it ({', '.join(audit[key])})")
        else:
            found += [f"{key}: {path} only in the role" for path in only_role]
            found += [f"{key}: {path} only in the audit" for path in only_audit]
    return found


def weaker_than_the_audit(role: dict[str, int], minimums: dict[str, int]) -> list[str]:
    """Parameters the audit requires that the role does not set, or sets below the audit's minimum."""
    found = []
    for name, minimum in sorted(minimums.items()):
        if name not in role:
            found.append(f"{name}: the audit requires at least {minimum}, the role does not set it")
        elif int(role[name]) < minimum:
            found.append(f"{name}: the role sets {role[name]}, the audit requires at least {minimum}")
    found += [f"{name}: the role hardens it, the audit does not check it" for name in sorted(set(role) - set(minimums))]
    return found


def test_engine_paths_cis_1_1_x(monkeypatch):
    role = ROLE_VARS["container_host_engine_path_candidates"]
    audit = {control: list(paths) for control, paths in audit_paths(monkeypatch)["controls"].items()}
    assert differences(role, audit) == []
    assert differences(role, collector.ENGINE_PATH_CANDIDATES) == []


def test_engine_binaries_are_engine_controls():
    assert set(ROLE_VARS["container_host_engine_binaries"]) <= set(collector.ENGINE_PATH_CANDIDATES)


def test_admin_client_binaries_bh_1_2(monkeypatch):
    role = {"clients": ROLE_VARS["container_host_admin_clients"]}
    audit = {"clients": list(audit_paths(monkeypatch)["clients"])}
    assert differences(role, audit) == []
    assert {os.path.basename(path) for path in role["clients"]} == set(collector.ADMIN_CLIENTS)


def test_docker_sockets_bh_1_2(monkeypatch):
    from ansible_collections.bulkhead.hardening.plugins.module_utils.audit_rules import DOCKER_SOCKETS

    assert differences({"sockets": list(DOCKER_SOCKETS)}, {"sockets": list(audit_paths(monkeypatch)["sockets"])}) == []


def test_sysctl_minimums_bh_1_8():
    assert weaker_than_the_audit(ROLE_VARS["container_host_sysctl_hardened"], HARDENED_MINIMUMS) == []


def test_the_collector_reads_every_parameter_the_role_sets():
    role = [*ROLE_VARS["container_host_sysctl_hardened"], "user.max_user_namespaces", "net.ipv4.ip_forward"]
    assert sorted(set(role) - set(collector.SYSCTL_KEYS)) == []


# The comparisons themselves must name what differs.


@pytest.mark.parametrize(
    ("role", "audit", "expected"),
    [
        ({"1.1.3": ["/a", "/b"]}, {"1.1.3": ["/b", "/a"]}, []),
        ({"1.1.3": ["/a", "/b"]}, {"1.1.3": ["/a"]}, ["1.1.3: /b only in the role"]),
        ({"1.1.3": ["/a"]}, {"1.1.3": ["/a", "/c"]}, ["1.1.3: /c only in the audit"]),
        ({"1.1.3": ["/a"], "1.1.99": ["/z"]}, {"1.1.3": ["/a"]}, ["1.1.99: only the role has it (/z)"]),
        ({}, {"1.1.4": ["/run/x"]}, ["1.1.4: only the audit has it (/run/x)"]),
    ],
    ids=["same-in-another-order", "extra-in-role", "extra-in-audit", "control-only-in-role", "control-only-in-audit"],
)
def test_differences_names_them(role, audit, expected):
    assert differences(role, audit) == expected


@pytest.mark.parametrize(
    ("role", "minimums", "expected"),
    [
        ({"fs.protected_regular": 2}, {"fs.protected_regular": 1}, []),
        (
            {"fs.protected_regular": 0},
            {"fs.protected_regular": 1},
            ["fs.protected_regular: the role sets 0, the audit"],
        ),
        ({}, {"kernel.dmesg_restrict": 1}, ["kernel.dmesg_restrict: the audit requires at least 1, the role does not"]),
        ({"vm.x": 1}, {}, ["vm.x: the role hardens it, the audit does not check it"]),
    ],
    ids=["stricter-is-fine", "weaker", "missing-in-role", "unchecked"],
)
def test_weaker_than_the_audit_names_them(role, minimums, expected):
    found = weaker_than_the_audit(role, minimums)
    assert len(found) == len(expected)
    assert all(problem.startswith(prefix) for prefix, problem in zip(expected, found, strict=True))
