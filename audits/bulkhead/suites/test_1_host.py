"""CIS Docker Benchmark section 1 and BH-1.x: the host around the engine, by ``bulkhead.checks.host``."""

import pytest

CONTROLS = [
    "1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.9", "1.1.10", "1.1.11", "1.1.12",
    "1.1.13", "1.1.14", "1.1.15", "1.1.16", "1.1.17", "1.1.18", "1.2.2", "BH-1.1", "BH-1.2", "BH-1.3", "BH-1.4",
    "BH-1.5", "BH-1.6", "BH-1.7", "BH-1.8", "BH-1.9", "BH-1.10",
]  # fmt: skip


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_host(fleet, control_id):
    fleet.judge(control_id)
