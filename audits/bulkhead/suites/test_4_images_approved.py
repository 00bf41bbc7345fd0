"""Our own section 4 controls for Docker: approved registries, digest pinning, the integrity baseline.

Judged by ``bulkhead.checks.images_approved``.
"""

import pytest

CONTROLS = ["BH-4.11", "BH-4.12", "BH-4.16"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_images_approved(fleet, control_id):
    fleet.judge(control_id)
