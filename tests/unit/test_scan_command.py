"""`bulkhead scan` with stand-ins for docker, trivy and grype (these machines cannot fetch the
scanners' databases): one report per image in use in the format scan_reports_dir reads, kept while
fresh, and a scanner that fails or writes no report is exit 2, never an empty pass."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from scanreports import grype_report, trivy_report

from bulkhead.cli import main
from bulkhead.scans import load_scan_reports

IMAGE = "sha256:" + "3" * 64

FAKE_DOCKER = """#!/bin/sh
case "$1" in
  ps) echo c1 ;;
  inspect) echo "$IMAGE" ;;
  images) echo "$IMAGE" ;;
esac
"""
# trivy image --quiet --format json --output FILE [--skip-db-update --offline-scan] ID
FAKE_TRIVY = """#!/bin/sh
echo "$@" >> "$STATE/trivy-calls"
[ -e "$STATE/fail" ] && { echo "FATAL: DB error: failed to download vulnerability DB" >&2; exit 1; }
[ -e "$STATE/empty" ] && exit 0
cp "$STATE/trivy.json" "$6"
"""
# grype docker:ID --quiet --output json --file FILE
FAKE_GRYPE = """#!/bin/sh
echo "$@ db-auto-update=$GRYPE_DB_AUTO_UPDATE" >> "$STATE/grype-calls"
cp "$STATE/grype.json" "$6"
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("trivy", FAKE_TRIVY), ("grype", FAKE_GRYPE)):
        program = tmp_path / name
        program.write_text(text)
        program.chmod(0o755)
    vulns = [("CVE-2099-0001", "busybox", "1.35.0", "1.36.1", "HIGH")]
    (state / "trivy.json").write_text(json.dumps(trivy_report(IMAGE, "app:1", vulns)))
    (state / "grype.json").write_text(json.dumps(grype_report(IMAGE, "app:1", vulns)))
    monkeypatch.setenv("STATE", str(state))
    monkeypatch.setenv("IMAGE", IMAGE)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return state


def test_reports_of_both_scanners_feed_the_audit_and_are_kept_while_fresh(fakes, tmp_path, capsys):
    reports = tmp_path / "scans"
    assert main(["scan", f"--dir={reports}", "--offline"]) == 0
    assert main(["scan", "--tool=grype", f"--dir={reports}", "--offline"]) == 0
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in reports.iterdir())
    index = load_scan_reports(reports)
    assert sorted(report.tool for report in index.for_image(IMAGE)) == ["grype", "trivy"]
    assert (fakes / "trivy-calls").read_text().split()[-3:] == ["--skip-db-update", "--offline-scan", IMAGE]
    assert (fakes / "grype-calls").read_text().split()[0] == f"docker:{IMAGE}"
    assert "db-auto-update=false" in (fakes / "grype-calls").read_text()

    assert main(["scan", f"--dir={reports}"]) == 0  # fresh: not scanned again
    assert len((fakes / "trivy-calls").read_text().splitlines()) == 1
    old = time.time() - 21 * 3600
    os.utime(reports / f"trivy-{'3' * 64}.json", (old, old))
    assert main(["scan", f"--dir={reports}"]) == 0  # older than 20 hours: scanned again
    assert len((fakes / "trivy-calls").read_text().splitlines()) == 2
    assert "scanned in" in capsys.readouterr().out


@pytest.mark.parametrize(("marker", "message"), [("fail", "failed to download"), ("empty", "no readable report")])
def test_a_failing_scanner_or_no_report_is_exit_2(fakes, tmp_path, capsys, marker, message):
    (fakes / marker).write_text("")
    reports = tmp_path / "scans"
    assert main(["scan", f"--dir={reports}", "--offline"]) == 2
    assert message in capsys.readouterr().err
    assert [path.name for path in reports.iterdir()] == []  # nothing half-written
