"""playbooks/audit.yml against a fleet of three systemd containers reached with the docker connection.

One audit from the control node writes the merged fleet report (a JUnit testsuite per host, JSON,
HTML with the host x section matrix) and one report per host; the dev profile's threshold lets
medium findings pass, the production profile's fails the play on the same targets, after writing
its reports. The controls are chosen for what bare targets (no engine) predictably give:
BH-1.4 and BH-1.6 fail (medium), BH-1.5 passes, 1.1.2, 3.15 and BH-7.1 do not apply.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "audit.yml"
IMAGE = "bulkhead-test/systemd:bookworm"
FLEET = [f"bulkhead-fleet-{number}" for number in (1, 2, 3)]
CONTROLS = "1.1.2,BH-1.4,BH-1.5,BH-1.6,3.15,BH-7.1"
# systemd as PID 1 without --privileged (docs: /work/shared/ENVIRONMENT.md).
SYSTEMD_OPTIONS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
]  # fmt: skip


def _remove(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def fleet(docker_engine):
    """Three systemd containers; removed one at a time afterwards, whatever happened."""
    try:
        for name in FLEET:
            _remove(name)
            subprocess.run(
                ["docker", "run", "-d", "--name", name, *SYSTEMD_OPTIONS, IMAGE, "/lib/systemd/systemd"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        for name in FLEET:
            subprocess.run(["docker", "exec", name, "python3", "-c", "pass"], check=True, timeout=60)
        yield FLEET
    finally:
        for name in FLEET:
            _remove(name)


def profile_inventory(tmp_path: Path, profile: str) -> Path:
    """The profile as a user copies it: its group_vars, the fleet as its hosts."""
    directory = tmp_path / profile
    shutil.copytree(ROOT / "inventories" / profile / "group_vars", directory / "group_vars")
    hosts = {
        "all": {
            "children": {
                "docker_hosts": {
                    "hosts": dict.fromkeys(FLEET),
                    "vars": {"ansible_connection": "docker", "ansible_python_interpreter": "/usr/bin/python3"},
                },
                "bulkhead_audit_targets": {"children": {"docker_hosts": None}},
            }
        }
    }
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return directory / "hosts.yml"


def run_playbook(inventory: Path, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        # the audit the play runs is this tree's bulkhead, whatever the virtualenv's install points at
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "audits"), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
         "-e", f"bulkhead_audit_controls={CONTROLS}", "-e", f"bulkhead_audit_reports_dir={reports}", *extra],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=environment,
    )  # fmt: skip


def dev_waiver_applies() -> bool:
    """The dev profile's sample waiver (BH-1.6) waives until it expires; after that the finding fails."""
    waivers = yaml.safe_load((ROOT / "inventories" / "dev" / "waivers.yml").read_text())
    (waiver,) = [entry for entry in waivers if entry["control"] == "BH-1.6"]
    return datetime.date.today() < waiver["expires"]


def outcomes(document: dict, host: str) -> dict[str, str]:
    return {control["id"]: control["outcome"] for control in document["hosts"][host]["controls"]}


def test_dev_profile_passes_and_writes_merged_and_per_host_reports(fleet, tmp_path):
    reports, history = tmp_path / "reports", tmp_path / "history"
    completed = run_playbook(profile_inventory(tmp_path, "dev"), reports, "-e", f"bulkhead_audit_history_dir={history}")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    (run,) = [entry for entry in history.iterdir() if not entry.name.startswith(".")]
    assert sorted(json.loads((run / "audit.json").read_text())["hosts"]) == fleet  # the run went into the history
    for host in fleet:
        assert f"{host}: compliant at fail_on high" in output
        for suffix in ("json", "xml", "html"):
            assert (reports / "hosts" / f"{host}.{suffix}").is_file(), f"no {suffix} report for {host}"
        alone = json.loads((reports / "hosts" / f"{host}.json").read_text())
        assert list(alone["hosts"]) == [host]

    suites = ET.parse(reports / "fleet.xml").getroot().findall("testsuite")
    assert sorted(suite.get("name") for suite in suites) == fleet
    assert all(suite.get("tests") == "6" for suite in suites)

    merged = json.loads((reports / "fleet.json").read_text())
    assert sorted(merged["hosts"]) == fleet
    waived = dev_waiver_applies()
    for host in fleet:
        assert outcomes(merged, host) == {
            "1.1.2": "not_applicable",
            "BH-1.4": "fail",  # medium: below the dev threshold (high)
            "BH-1.5": "pass",
            "BH-1.6": "waived" if waived else "fail",  # the dev profile's sample waiver
            "3.15": "not_applicable",
            "BH-7.1": "not_applicable",
        }

    page = (reports / "fleet.html").read_text()
    assert 'id="matrix"' in page
    matrix = page[page.index('id="matrix"') : page.index("</table>", page.index('id="matrix"'))]
    assert all(f'<tr data-host="{host}">' in matrix for host in fleet)
    assert matrix.count('class="sec"') == 3  # sections 1, 3 and 7
    assert 'class="cell m-fail" title="1 fail, 0 error' in matrix  # section 1: one failure (BH-1.4)
    assert "<script src" not in page and "<link" not in page


def test_production_profile_fails_the_play_on_the_same_targets_after_writing_reports(fleet, tmp_path):
    reports = tmp_path / "reports"
    completed = run_playbook(profile_inventory(tmp_path, "production"), reports)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    message = f"failed controls at or above severity low on {', '.join(fleet)}; see {reports}/fleet.html"
    assert message in " ".join(output.split()), output  # the YAML callback folds long messages
    merged = json.loads((reports / "fleet.json").read_text())
    for host in fleet:
        assert outcomes(merged, host)["BH-1.6"] == "fail"  # no waivers in production
        assert (reports / "hosts" / f"{host}.xml").is_file()


def test_host_pattern_and_limit_narrow_the_audit_and_stale_host_reports_go_even_in_check_mode(fleet, tmp_path):
    reports = tmp_path / "reports"
    inventory = profile_inventory(tmp_path, "dev")
    first = run_playbook(inventory, reports, "-e", f"bulkhead_audit_hosts={fleet[0]}:{fleet[1]}")  # not the group
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(json.loads((reports / "fleet.json").read_text())["hosts"]) == fleet[:2]
    completed = run_playbook(inventory, reports, "--limit", fleet[1], "--check")  # check mode audits all the same
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert list(json.loads((reports / "fleet.json").read_text())["hosts"]) == [fleet[1]]
    assert sorted(path.name for path in (reports / "hosts").iterdir()) == [
        f"{fleet[1]}.{suffix}" for suffix in ("html", "json", "xml")
    ]


def test_a_misspelt_variable_is_refused_before_anything_runs(fleet, tmp_path):
    reports = tmp_path / "reports"
    completed = run_playbook(profile_inventory(tmp_path, "dev"), reports, "-e", "bulkhead_audit_failon=low")
    assert completed.returncode != 0
    assert "bulkhead_audit_failon" in completed.stdout + completed.stderr
    assert not reports.exists()
