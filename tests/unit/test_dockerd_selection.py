"""Which dockerd is this host's: dockerd_argv's choice among the dockerd_processes fact.

The collector's side (which processes are this host's dockerds) is in collector/test_collector_docker.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bulkhead.checks.daemon import dockerd_argv
from bulkhead.facts import FactUnavailable, HostState


def dockerd(pid: int, rootless: bool, argv: list[str], user: str = "root") -> dict[str, Any]:
    return {"pid": pid, "uid": 1000 if rootless else 0, "user": user, "rootless": rootless, "argv": argv}


ROOTFUL = dockerd(100, False, ["/usr/sbin/dockerd", "--icc=false"])
ROOTLESS = dockerd(202, True, ["dockerd"], user="alice")  # no --rootless flag: the old choice took it


@pytest.mark.parametrize(
    ("processes", "expected"),
    [
        pytest.param([ROOTFUL], ROOTFUL["argv"], id="rootful"),
        pytest.param([ROOTLESS, ROOTFUL], ROOTFUL["argv"], id="rootless-listed-first"),
        pytest.param([], "no dockerd process runs on this host", id="none"),
        pytest.param([ROOTLESS], "only rootless ones: alice (pid 202)", id="only-rootless"),
        pytest.param(
            [ROOTFUL, dockerd(101, False, ["dockerd"])],
            "several rootful dockerd processes run on this host (pids 100, 101)",
            id="two",
        ),
    ],
)
def test_dockerd_argv_takes_the_one_rootful_engine(processes, expected):
    state = HostState("h", {"dockerd_processes": {"value": processes}})
    if isinstance(expected, list):
        assert dockerd_argv(state) == expected
    else:
        with pytest.raises(FactUnavailable, match=re.escape(expected)):
            dockerd_argv(state)
