"""Our own section 4 controls for images in use: SBOMs, vulnerability scans, sanctioned bases.

Judged by ``bulkhead.checks.image_assurance``.
"""

import pytest

from bulkhead.verdict import judge

CONTROLS = ["BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_image_assurance(state, audit_config, control_id):
    judge(state, audit_config, control_id)
