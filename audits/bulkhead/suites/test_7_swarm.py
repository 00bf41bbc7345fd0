"""Swarm (BH-7.x), by ``bulkhead.checks.swarm``: applies only where the Docker engine takes part in a swarm."""

import pytest

CONTROLS = ["BH-7.1", "BH-7.2"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_swarm(fleet, control_id):
    fleet.judge(control_id)
