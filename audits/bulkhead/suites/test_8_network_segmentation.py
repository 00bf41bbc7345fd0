"""Network segmentation (BH-8.x), by ``bulkhead.checks.network_segmentation``: networks per application and zone."""

import pytest

CONTROLS = ["BH-8.1", "BH-8.2", "BH-8.3", "BH-8.4", "BH-8.5"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_network_segmentation(fleet, control_id):
    fleet.judge(control_id)
