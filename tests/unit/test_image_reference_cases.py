"""The audit's image reference rules (bulkhead.images) over the shared cases in tests/data/image_references.yml.

The collection's integrity_baseline module_utils runs over the same file
(collections/.../tests/unit/plugins/module_utils/test_baseline_image_references.py), so the audit and
the baseline agree on which images come from an approved registry.
"""

from pathlib import Path

import pytest
import yaml

from bulkhead.checks.images import split_reference, under_registry

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "image_references.yml").read_text())


@pytest.mark.parametrize(
    "case", CASES["split_reference"], ids=[case["reference"][:60] for case in CASES["split_reference"]]
)
def test_split_reference(case):
    assert split_reference(case["reference"]) == tuple(case["expected"])


@pytest.mark.parametrize(
    "case",
    CASES["under_registry"],
    ids=[f"{case['reference'][:50]} in {case['registry']}" for case in CASES["under_registry"]],
)
def test_under_registry(case):
    assert under_registry(case["reference"], case["registry"]) is case["expected"]
