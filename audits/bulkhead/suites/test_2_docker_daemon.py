"""CIS Docker Benchmark section 2: Docker daemon configuration."""

import pytest

from bulkhead.checks import fail
from bulkhead.daemon import default_bridge, effective_setting


@pytest.mark.control("2.2")
def test_icc_disabled(state):
    configured = effective_setting(state, "icc", True, boolean=True)
    if configured.value is not False:
        fail(f"inter-container communication is enabled: icc is {configured.describe()}")
    bridge_icc = default_bridge(state).get("Options", {}).get("com.docker.network.bridge.enable_icc")
    if bridge_icc != "false":
        fail(f"icc is off in the configuration, but the running bridge has enable_icc={bridge_icc} (restart due)")
