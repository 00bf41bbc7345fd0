"""Image reference logic of the BH-4 audits."""

from pathlib import Path

import pytest

from bulkhead.checks.images import approved, approved_registries, origin_references, pinned_by_digest, under_registry
from bulkhead.config import AuditConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("reference", "registry", "expected"),
    [
        ("registry.good.example/x:1", "registry.good.example", True),
        ("registry.bad.example/x:1", "registry.good.example", False),
        ("registry.good.example/team/x@sha256:" + "a" * 64, "registry.good.example/team", True),
        ("registry.good.example/teamx/x:1", "registry.good.example/team", False),
        ("localhost:5000/approved/busybox:1", "localhost:5000/approved", True),
        ("busybox", "docker.io", True),
        ("library/busybox:1", "docker.io/library", True),
        ("bulkhead/busybox:local", "registry.good.example", False),
    ],
)
def test_under_registry(reference, registry, expected):
    assert under_registry(reference, registry) is expected


def test_a_container_started_by_image_id_is_judged_by_the_image_names():
    container = {"reference": "sha256:" + "b" * 64, "repo_tags": ["registry.good.example/x:1"], "repo_digests": []}
    assert origin_references(container) == ["registry.good.example/x:1"]
    assert approved(origin_references(container), ["registry.good.example"])
    assert not approved(["x:1"], [])


def test_pinned_by_digest():
    assert pinned_by_digest("r.example/x@sha256:" + "c" * 64)
    assert not pinned_by_digest("r.example/x:1")


def test_approved_registries_accept_strings_and_mappings():
    config = AuditConfig({"approved_registries": ["a.example", {"location": "b.example/team", "keys": []}, " "]})
    assert approved_registries(config) == ["a.example", "b.example/team"]
