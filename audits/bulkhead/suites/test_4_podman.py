"""Our own section 4 controls for Podman, Buildah and Skopeo, by ``bulkhead.checks.podman``."""

import pytest

CONTROLS = ["BH-4.13", "BH-4.14", "BH-4.15"]


@pytest.mark.parametrize("control_id", [pytest.param(c, marks=pytest.mark.control(c), id=c) for c in CONTROLS])
def test_podman(fleet, control_id):
    fleet.judge(control_id)
