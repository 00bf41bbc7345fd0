"""CIS Docker Benchmark section 3: the engine's files (owners and modes), by ``bulkhead.checks.docker_files``."""

import pytest

CONTROLS = [f"3.{number}" for number in range(1, 25)]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_docker_files(fleet, control_id):
    fleet.judge(control_id)
