"""CIS Docker Benchmark section 6: image and container sprawl, by ``bulkhead.checks.security_operations``."""

import pytest

CONTROLS = ["6.1", "6.2"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_security_operations(fleet, control_id):
    fleet.judge(control_id)
