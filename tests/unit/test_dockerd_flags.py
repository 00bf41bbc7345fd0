"""The two dockerd flag parsers agree: the checks' (``daemon.command_line_values``) and the collector's.

The collector keeps its own stdlib copy (``collector/facts.py`` ``options``) because it runs on
targets; ``tests/data/dockerd_flags.yml`` is the one table both must answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkhead.checks.daemon import command_line_values, last_value
from bulkhead.collector import docker as collector_docker
from bulkhead.collector import facts as collector_facts

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parents[1] / "data" / "dockerd_flags.yml").read_text())
SHARED = [case for case in CASES if not case.get("boolean")]
TLS_FLAGS = [f"--{key}" for key in collector_docker.TLS_KEYS]


def params(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in cases]


@pytest.mark.parametrize("case", params(CASES))
def test_the_checks_parser(case):
    values = command_line_values(case["argv"], *case["flags"], boolean=case.get("boolean", False))
    assert values == case["values"]
    assert last_value(case["argv"], *case["flags"], boolean=case.get("boolean", False)) == (
        case["values"][-1] if case["values"] else None
    )


@pytest.mark.parametrize("case", params(SHARED))
def test_the_collectors_parser(case):
    assert collector_facts.options(case["argv"], *case["flags"]) == case["values"]


@pytest.mark.parametrize("case", params(SHARED))
def test_the_collector_stats_every_tls_file_the_checks_read(case, monkeypatch):
    """Section 3 judges the TLS files the checks find on dockerd's command line: they must be stat'd."""

    def daemon_json() -> dict[str, Any]:
        raise collector_facts.FactError("no daemon.json")

    monkeypatch.setattr(collector_docker, "DOCKER_FILES", ())
    monkeypatch.setattr(collector_docker, "DOCKER_FILE_GLOBS", ())
    monkeypatch.setattr(collector_docker, "daemon_json", daemon_json)
    monkeypatch.setattr(collector_docker, "stat_paths", list)
    stated = collector_docker.docker_file_stats({"value": [{"argv": case["argv"]}]})
    assert set(stated) == set(command_line_values(case["argv"], *TLS_FLAGS))


def test_the_table_has_cases_for_both_parsers():
    assert len(SHARED) >= 10 and len(CASES) > len(SHARED)


def test_the_program_is_not_a_flag():
    assert command_line_values(["--tlskey=/etc/docker/key.pem", "--icc"], "--tlskey", "--icc") == []
