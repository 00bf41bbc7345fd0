"""CIS Docker Benchmark section 4 and BH-4.10: the images containers use, by ``bulkhead.checks.container_images``."""

import pytest

CONTROLS = ["4.1", "4.5", "4.6", "4.8", "BH-4.10"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_container_images(fleet, control_id):
    fleet.judge(control_id)
