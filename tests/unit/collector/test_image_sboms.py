"""The collector's image_sboms fact: the index `bulkhead sbom` keeps, never the SBOMs' contents."""

import json

import pytest

from bulkhead.collector import host
from bulkhead.collector.facts import FactError

IMAGE = "sha256:" + "a" * 64
GONE = "sha256:" + "b" * 64


def test_entries_whose_sbom_exists_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKHEAD_SBOM_DIR", str(tmp_path))
    (tmp_path / "a.spdx.json").write_text('{"packages": ["secret contents"]}')
    entry = {"file": "a.spdx.json", "packages": 3, "distro": {"id": "debian", "version_id": "12"}, "repo_digests": []}
    index = {"images": {IMAGE: entry, GONE: {**entry, "file": "b.spdx.json"}}}
    (tmp_path / "index.json").write_text(json.dumps(index))
    fact = host.image_sboms()
    assert fact["directory"] == str(tmp_path)
    assert list(fact["images"]) == [IMAGE]
    assert fact["images"][IMAGE]["packages"] == 3 and fact["images"][IMAGE]["distro"]["id"] == "debian"
    assert "secret contents" not in json.dumps(fact)


def test_no_index_is_no_sbom_and_a_malformed_one_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKHEAD_SBOM_DIR", str(tmp_path / "none"))
    assert host.image_sboms()["images"] == {}
    monkeypatch.setenv("BULKHEAD_SBOM_DIR", str(tmp_path))
    (tmp_path / "index.json").write_text("{")
    with pytest.raises(FactError, match="not valid JSON"):
        host.image_sboms()
    (tmp_path / "index.json").write_text("[]")
    with pytest.raises(FactError, match="not a Bulkhead SBOM index"):
        host.image_sboms()
