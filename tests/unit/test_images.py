"""Image reference logic of the BH-4 audits."""

from pathlib import Path

from bulkhead.config import AuditConfig
from bulkhead.images import approved, approved_registries, origin_references, pinned_by_digest

ROOT = Path(__file__).resolve().parents[2]


# under_registry and split_reference: the shared cases in tests/data/image_references.yml
# (tests/unit/test_image_reference_cases.py).


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
