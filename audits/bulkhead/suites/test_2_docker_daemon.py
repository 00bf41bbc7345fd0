"""CIS Docker Benchmark section 2: the Docker daemon's configuration, by ``bulkhead.checks.docker_daemon``."""

import pytest

CONTROLS = [
    "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17",
    "2.18",
]  # fmt: skip


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_docker_daemon(fleet, control_id):
    fleet.judge(control_id)
