"""Audit suites: each test verifies one catalogue control on one host, from the host's state."""

pytest_plugins = ["bulkhead.pytest_plugin"]
