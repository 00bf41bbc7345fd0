"""CIS Docker Benchmark section 5 and BH-5.x: every running container, by ``bulkhead.checks.container_runtime``."""

import pytest

CONTROLS = [
    "5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.9", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15",
    "5.16", "5.17", "5.19", "5.20", "5.21", "5.24", "5.25", "5.26", "5.28", "5.29", "5.30", "5.31", "BH-5.10",
    "BH-5.11",
]  # fmt: skip


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_container_runtime(fleet, control_id):
    fleet.judge(control_id)
