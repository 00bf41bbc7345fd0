"""Test reports of audit tests without a formatted traceback.

pytest formats every failure's and skip's traceback (it walks and prunes the frames and stats their
files) even with ``--tb=no``. An audit has a failure or skip for most controls of most hosts, and
its reports carry the reason, never a traceback: at 100 hosts that formatting was a large part of
the control node's CPU. This plugin makes the report of a control's test from the outcome alone.
"""

from __future__ import annotations

import pytest


class ShortReports:
    """Registered by the audit plugin; only tests with a ``control`` marker are reported this way."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        if item.get_closest_marker("control") is None:
            return None
        excinfo = call.excinfo
        longrepr: tuple[str, int, str] | str | None = None
        outcome = "passed"
        if excinfo is not None:
            message = str(getattr(excinfo.value, "msg", None) or excinfo.value)
            if isinstance(excinfo.value, pytest.skip.Exception):
                outcome = "skipped"
                path, line = item.location[0], (item.location[1] or 0) + 1
                longrepr = (path, line, f"Skipped: {message}")
            else:
                outcome = "failed"
                longrepr = f"{excinfo.type.__name__}: {message}"
        sections = [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]
        return pytest.TestReport(
            item.nodeid,
            item.location,
            {item.name: 1},
            outcome,  # type: ignore[arg-type]
            longrepr,
            call.when,  # type: ignore[arg-type]
            sections,
            call.duration,
            call.start,
            call.stop,
            user_properties=item.user_properties,
        )
