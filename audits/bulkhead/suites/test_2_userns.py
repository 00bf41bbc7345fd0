"""User namespaces: CIS 2.9 and BH-2.21..23, by ``bulkhead.checks.userns_remap``."""

import pytest

CONTROLS = ["2.9", "BH-2.21", "BH-2.22", "BH-2.23"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_userns(fleet, control_id):
    fleet.judge(control_id)
