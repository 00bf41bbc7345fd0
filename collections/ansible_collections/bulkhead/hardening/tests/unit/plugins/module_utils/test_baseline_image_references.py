"""integrity_baseline's image reference rules over the cases the audit is tested with too.

The cases live once, in the Bulkhead repository's tests/data/image_references.yml (the audit runs
bulkhead.images over them in tests/unit/test_image_reference_cases.py): an image the audit counts
as approved must be an image the baseline records.
"""

from pathlib import Path

import pytest
import yaml
from ansible_collections.bulkhead.hardening.plugins.module_utils.integrity_baseline import (
    approved_images,
    registry_matches,
    repository,
    split_reference,
)

DATA = Path(__file__).resolve().parents[8] / "tests" / "data" / "image_references.yml"
if not DATA.is_file():  # the collection outside the Bulkhead repository (an installed tarball)
    pytest.skip(f"the shared cases are in the Bulkhead repository ({DATA} is absent)", allow_module_level=True)
CASES = yaml.safe_load(DATA.read_text())


@pytest.mark.parametrize(
    "case", CASES["split_reference"], ids=[case["reference"][:60] for case in CASES["split_reference"]]
)
def test_split_reference(case):
    assert split_reference(case["reference"]) == tuple(case["expected"])


@pytest.mark.parametrize(
    "case", CASES["split_reference"], ids=[case["reference"][:60] for case in CASES["split_reference"]]
)
def test_repository_has_neither_tag_nor_digest(case):
    host, path = case["expected"]
    name = path.rsplit("/", 1)[-1]
    expected = f"{host}/{path.rsplit(':', 1)[0] if ':' in name else path}"
    assert repository(case["reference"]) == expected


@pytest.mark.parametrize(
    "case",
    CASES["under_registry"],
    ids=[f"{case['reference'][:50]} in {case['registry']}" for case in CASES["under_registry"]],
)
def test_registry_matches(case):
    assert registry_matches(case["reference"], case["registry"]) is case["expected"]


@pytest.mark.parametrize(
    "case",
    CASES["under_registry"],
    ids=[f"{case['reference'][:50]} in {case['registry']}" for case in CASES["under_registry"]],
)
def test_the_baseline_records_exactly_the_approved_images(case):
    image = {"Id": "sha256:1", "RepoTags": [case["reference"]], "RepoDigests": []}
    assert bool(approved_images([image], [case["registry"]])) is case["expected"]
