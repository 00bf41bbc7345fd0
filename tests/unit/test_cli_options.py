"""`bulkhead audit` options turned into the audit run: reports, selection, parallelism, bad input."""

import pytest

from bulkhead.audit import BadInput, pytest_arguments, report_paths
from bulkhead.cli import build_parser


def parse(*argv):
    return build_parser().parse_args(["audit", *argv])


def test_reports_directory_writes_every_format_unless_told():
    assert report_paths(parse("--reports", "out")) == {
        "junit": "out/audit.xml",
        "json": "out/audit.json",
        "html": "out/audit.html",
    }
    assert report_paths(parse("--reports", "out", "--formats", "html", "--json", "x.json")) == {
        "json": "x.json",
        "html": "out/audit.html",
    }


def test_an_unknown_format_is_bad_input():
    with pytest.raises(BadInput, match="unknown format"):
        report_paths(parse("--reports", "out", "--formats", "pdf"))


def test_selection_waivers_and_parallelism_reach_the_plugin():
    arguments = pytest_arguments(
        parse("--sections", "4,5", "--exclude-controls", "5.14", "--waivers", "w.yml", "-n", "3", "--html", "r.html")
    )
    for expected in (
        "--bulkhead-sections=4,5",
        "--bulkhead-exclude-controls=5.14",
        "--bulkhead-waivers=w.yml",
        "--bulkhead-html=r.html",
        "--bulkhead-parallel=3",
        "--bulkhead-host-timeout=120",
        "--hosts=local://",
    ):
        assert expected in arguments


def test_an_inventory_without_hosts_audits_all_of_it(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    web-1: {}\n")
    assert "--hosts=ansible://all" in pytest_arguments(parse("--inventory", str(inventory)))


def test_limit_needs_an_inventory():
    with pytest.raises(BadInput, match="--limit needs --inventory"):
        pytest_arguments(parse("--limit", "web*"))


def test_limit_narrows_ansible_hosts(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    web: {hosts: {web-1: {}, web-2: {}}}\n    db: {hosts: {db-1: {}}}\n")
    arguments = pytest_arguments(parse("--inventory", str(inventory), "--limit", "web-2,db-1"))
    hosts = next(argument for argument in arguments if argument.startswith("--hosts="))
    assert sorted(hosts.removeprefix("--hosts=").split(",")) == ["ansible://db-1", "ansible://web-2"]
