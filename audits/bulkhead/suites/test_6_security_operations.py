"""CIS Docker Benchmark section 6: image and container sprawl, against the fleet's thresholds."""

import pytest

from bulkhead.checks.containers import all_containers, image_name
from bulkhead.verdict import fail


@pytest.mark.control("6.1")
def test_image_sprawl(state, audit_config):
    limit = audit_config.get("max_unused_images")
    used = {container["Image"] for container in all_containers(state)}
    unused = sorted(image_name(image) for image in state.fact("images") if image["Id"] not in used)
    if len(unused) > limit:
        shown = ", ".join(unused[:10]) + (" ..." if len(unused) > 10 else "")
        fail(f"{len(unused)} images are used by no container (limit {limit}): {shown}")


@pytest.mark.control("6.2")
def test_container_sprawl(state, audit_config):
    limit = audit_config.get("max_stopped_containers")
    stopped = sorted(container["Name"] for container in all_containers(state) if not container["State"].get("Running"))
    if len(stopped) > limit:
        shown = ", ".join(stopped[:10]) + (" ..." if len(stopped) > 10 else "")
        fail(f"{len(stopped)} stopped containers (limit {limit}): {shown}")
