"""Our own section 4 controls for images in use: SBOMs, vulnerability scans, sanctioned bases.

Judged by ``bulkhead.checks.image_assurance``.
"""

import pytest

CONTROLS = ["BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_image_assurance(fleet, control_id):
    fleet.judge(control_id)
