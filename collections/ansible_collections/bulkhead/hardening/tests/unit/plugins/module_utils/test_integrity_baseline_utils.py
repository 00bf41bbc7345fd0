"""Fingerprints and registry matching behind the integrity_baseline module."""

import hashlib

from ansible_collections.bulkhead.hardening.plugins.module_utils.integrity_baseline import (
    approved_images,
    build,
    render,
)

# registry_matches and split_reference: test_baseline_image_references.py, over the cases the
# audit shares (tests/data/image_references.yml in the Bulkhead repository).


def test_only_images_from_approved_registries_are_recorded():
    images = [
        {"Id": "sha256:a", "RepoTags": ["r.example/app:1"], "RepoDigests": ["r.example/app@sha256:d"]},
        {"Id": "sha256:b", "RepoTags": ["other.example/app:1"], "RepoDigests": []},
        {"Id": "sha256:c", "RepoTags": [], "RepoDigests": ["r.example/lib@sha256:e"]},
    ]
    assert approved_images(images, ["r.example"]) == {
        "r.example/app:1": {"id": "sha256:a", "repo_digests": ["r.example/app@sha256:d"]},
        "r.example/lib@sha256:e": {"id": "sha256:c", "repo_digests": ["r.example/lib@sha256:e"]},
    }


def test_build_is_deterministic_and_records_missing_files(tmp_path):
    binary = tmp_path / "dockerd"
    binary.write_bytes(b"engine")
    files = [str(binary), str(tmp_path / "absent")]
    first = render(build(files, [], ["r.example"]))
    assert first == render(build(list(reversed(files)), [], ["r.example"]))
    document = build(files, [], [])
    assert document["files"] == {str(binary): hashlib.sha256(b"engine").hexdigest(), str(tmp_path / "absent"): None}
