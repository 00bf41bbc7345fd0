"""bulkhead.checks.images: image references and approved registries, as the BH-4 checks read them."""

import pytest

from bulkhead.checks.images import (
    approved,
    approved_registries,
    image_names,
    is_image_id,
    named_reference,
    pinned_by_digest,
)
from bulkhead.config import AuditConfig

# under_registry and split_reference: the shared cases in tests/data/image_references.yml
# (tests/unit/test_image_reference_cases.py).


@pytest.mark.parametrize(
    ("reference", "named"),
    [
        ("registry.good.example/x:1", True),
        ("busybox", True),
        ("sha256:" + "b" * 64, False),
        ("b" * 64, False),
        ("0123456789ab", False),
        ("0123456789a", True),  # too short for an image ID: a name
        ("deadbeefcafe:1", True),
        ("", False),
    ],
)
def test_a_reference_names_an_image_unless_it_is_an_image_id(reference, named):
    assert named_reference(reference) is named
    assert is_image_id(reference) is (bool(reference) and not named)


def test_a_container_started_by_image_id_is_judged_by_the_image_names():
    image = {"RepoTags": ["registry.good.example/x:1"], "RepoDigests": ["registry.good.example/x@sha256:" + "d" * 64]}
    assert image_names(image) == ["registry.good.example/x:1", "registry.good.example/x@sha256:" + "d" * 64]
    assert approved(image_names(image), ["registry.good.example"])
    assert image_names(None) == [] and image_names({"RepoTags": None}) == []
    assert not approved(["x:1"], [])


def test_pinned_by_digest():
    assert pinned_by_digest("r.example/x@sha256:" + "c" * 64)
    assert not pinned_by_digest("r.example/x:1")


def test_approved_registries_accept_strings_and_mappings():
    config = AuditConfig({"approved_registries": ["a.example", {"location": "b.example/team", "keys": []}, " "]})
    assert approved_registries(config) == ["a.example", "b.example/team"]
