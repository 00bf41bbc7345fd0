"""bulkhead.checks.image_assurance (BH-4.17 to BH-4.20) on hand-written facts and scanner reports,
the scanner report reader, CVE waivers, the settings and the dev/production profiles.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from scanreports import grype_report, trivy_report, write

from bulkhead.catalogue import load_catalogue
from bulkhead.checks import REGISTRY
from bulkhead.checks.image_assurance import image_inventory, registry_of, sanctioned
from bulkhead.config import AuditConfig, ConfigError, load_config
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.report.html import html_report, images_in_use
from bulkhead.results import Outcome, ResultBook
from bulkhead.scans import ScanReportError, load_scan_reports, parse_report
from bulkhead.waivers import WaiverError, apply_waivers, load_waivers

ROOT = Path(__file__).resolve().parents[3]
APP = "sha256:" + "a" * 64
DB = "sha256:" + "b" * 64
APP_DIGEST = "registry.example.com/platform/app@sha256:" + "c" * 64
HIGH_FIXABLE = ("CVE-2024-0001", "openssl", "3.0.11-1", "3.0.13-1", "high")
HIGH_UNFIXED = ("CVE-2024-0002", "glibc", "2.36-9", "", "high")
MEDIUM_FIXABLE = ("CVE-2024-0003", "zlib", "1.2.13", "1.2.13.dfsg-1", "medium")
CRITICAL_FIXABLE = ("CVE-2024-0004", "curl", "7.88.1-10", "7.88.1-10+deb12u5", "critical")


def container(name: str, image_id: str = APP, running: bool = True) -> dict[str, Any]:
    return {
        "Id": f"{name}-id",
        "Name": name,
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": image_id,
        "Config": {"Image": "app:1"},
        "HostConfig": {},
        "State": {"Running": running},
    }


def image(image_id: str = APP, tags: tuple[str, ...] = ("app:1",), digests: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"Id": image_id, "RepoTags": list(tags), "RepoDigests": list(digests)}


def sbom(distro: str = "debian", version: str = "12", packages: int = 140) -> dict[str, Any]:
    return {"file": "x.spdx.json", "packages": packages, "distro": {"id": distro, "version_id": version}}


def state(containers=None, images=None, sboms: Any = None) -> HostState:
    facts: dict[str, dict[str, Any]] = {
        "containers": {"value": [container("web"), container("worker")] if containers is None else containers},
        "images": {"value": [image()] if images is None else images},
        "image_sboms": {
            "value": {"directory": "/var/lib/bulkhead/sbom", "images": {APP: sbom()} if sboms is None else sboms}
        },
    }
    if sboms == "unreadable":
        facts["image_sboms"] = {"error": "permission denied"}
    return HostState("web-1", facts)


def settings(tmp_path: Path, reports: list[tuple[str, dict]] | None = None, **values: Any) -> AuditConfig:
    directory = tmp_path / "scans"
    directory.mkdir(exist_ok=True)
    for file_name, report in reports or []:
        write(directory, file_name, report)
    return AuditConfig(values, "test", load_scan_reports(directory))


def judge(control_id: str, host: HostState, config: AuditConfig) -> list[str]:
    return REGISTRY[control_id].judge(host, config)


# --- BH-4.17: an SBOM per image in use ------------------------------------------------------------


def test_an_image_with_an_sbom_passes():
    assert judge("BH-4.17", state(), AuditConfig()) == []


def test_an_image_without_an_sbom_fails_naming_its_containers():
    assert judge("BH-4.17", state(sboms={}), AuditConfig()) == [
        "image app:1: no SBOM in /var/lib/bulkhead/sbom (bulkhead sbom) (used by web, worker)"
    ]


def test_sboms_of_other_images_do_not_count_and_stopped_containers_are_not_judged():
    host = state(
        containers=[container("web"), container("old", DB, running=False)],
        images=[image(), image(DB, ("db:1",))],
        sboms={DB: sbom()},
    )
    assert judge("BH-4.17", host, AuditConfig()) == [
        "image app:1: no SBOM in /var/lib/bulkhead/sbom (bulkhead sbom) (used by web)"
    ]


def test_no_running_container_is_not_applicable_and_an_unreadable_index_is_an_error():
    with pytest.raises(NotApplicable):
        judge("BH-4.17", state(containers=[container("web", running=False)]), AuditConfig())
    with pytest.raises(FactUnavailable, match="permission denied"):
        judge("BH-4.17", state(sboms="unreadable"), AuditConfig())


# --- BH-4.18: fixable vulnerabilities at or above the threshold -----------------------------------

FINDING_HIGH = "image app:1: CVE-2024-0001 (high) in openssl 3.0.11-1, fixed in 3.0.13-1 [trivy] (used by web, worker)"


@pytest.mark.parametrize(
    ("threshold", "vulns", "expected"),
    [
        ("high", [HIGH_FIXABLE], [FINDING_HIGH]),
        ("high", [HIGH_UNFIXED], []),  # no fix yet: nothing a rebuild changes
        ("high", [MEDIUM_FIXABLE], []),  # under the threshold
        ("medium", [MEDIUM_FIXABLE], ["CVE-2024-0003 (medium)"]),
        ("critical", [HIGH_FIXABLE], []),
        ("critical", [HIGH_FIXABLE, CRITICAL_FIXABLE], ["CVE-2024-0004 (critical)"]),
        ("high", [], []),
    ],
)
def test_fixable_vulnerabilities_against_the_threshold(tmp_path, threshold, vulns, expected):
    config = settings(
        tmp_path, [("app.trivy.json", trivy_report(APP, "app:1", vulns))], vulnerability_threshold=threshold
    )
    findings = judge("BH-4.18", state(), config)
    assert len(findings) == len(expected)
    for finding, wanted in zip(findings, expected, strict=True):
        assert wanted in finding


def test_the_same_cve_from_both_scanners_is_one_finding(tmp_path):
    config = settings(
        tmp_path,
        [
            ("a.trivy.json", trivy_report(APP, "app:1", [HIGH_FIXABLE])),
            ("a.grype.json", grype_report(APP, "app:1", [HIGH_FIXABLE])),
        ],
    )
    assert judge("BH-4.18", state(), config) == [FINDING_HIGH.replace("[trivy]", "[grype, trivy]")]


def test_a_newer_report_of_the_same_tool_supersedes_an_older_one(tmp_path):
    config = settings(
        tmp_path,
        [
            ("old.json", trivy_report(APP, "app:1", [HIGH_FIXABLE], days_ago=5)),
            ("new.json", trivy_report(APP, "app:1", [], days_ago=1)),
        ],
    )
    assert judge("BH-4.18", state(), config) == []


def test_reports_match_by_repo_digest_and_ignore_other_images(tmp_path):
    host = state(images=[image(digests=(APP_DIGEST,))])
    config = settings(
        tmp_path,
        [
            ("by-digest.json", grype_report("", "app:1", [CRITICAL_FIXABLE], repo_digests=[APP_DIGEST])),
            ("other.json", trivy_report(DB, "db:1", [HIGH_FIXABLE])),
        ],
    )
    findings = judge("BH-4.18", host, config)
    assert len(findings) == 1
    assert "CVE-2024-0004 (critical) in curl 7.88.1-10, fixed in 7.88.1-10+deb12u5 [grype]" in findings[0]


def test_a_podman_image_id_without_its_algorithm_matches_the_scanners_id(tmp_path):
    """Podman's inspect gives the bare hex ID; Trivy and Grype write sha256:<hex>."""
    bare = APP.removeprefix("sha256:")
    host = state(containers=[container("web", image_id=bare)], images=[image(image_id=bare)], sboms={bare: sbom()})
    config = settings(tmp_path, [("trivy.json", trivy_report(APP, "app:1", [HIGH_FIXABLE]))])
    assert [finding.split(":", 2)[2].strip() for finding in judge("BH-4.18", host, config)] == [
        "CVE-2024-0001 (high) in openssl 3.0.11-1, fixed in 3.0.13-1 [trivy] (used by web)"
    ]
    assert judge("BH-4.17", host, config) == []


def test_without_scan_reports_the_scan_controls_do_not_apply():
    for control_id in ("BH-4.18", "BH-4.19"):
        with pytest.raises(NotApplicable, match="scan_reports_dir"):
            judge(control_id, state(), AuditConfig())


@pytest.mark.parametrize("control_id", ["BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20"])
def test_an_unreachable_host_is_an_error_whatever_the_settings(control_id):
    unreachable = HostState("web-1", {}, collection_error="cannot reach web-1")
    with pytest.raises(FactUnavailable, match="cannot reach web-1"):
        judge(control_id, unreachable, AuditConfig())


# --- BH-4.19: a recent scan of every image in use ------------------------------------------------


@pytest.mark.parametrize(
    ("ages", "limit", "expected"),
    [
        ([1], 7, None),
        ([6.5], 7, None),
        ([7.5], 7, None),  # 7 whole days: at the limit
        ([8.5], 7, "last scanned 8 days ago (trivy), over the 7-day limit"),
        ([40, 2], 7, None),  # the latest report counts
        ([20], 30, None),
    ],
)
def test_scan_age(tmp_path, ages, limit, expected):
    reports = [(f"r{index}.json", trivy_report(APP, "app:1", [], days_ago=age)) for index, age in enumerate(ages)]
    findings = judge("BH-4.19", state(), settings(tmp_path, reports, max_scan_age_days=limit))
    assert findings == ([] if expected is None else [f"image app:1: {expected} (used by web, worker)"])


def test_an_image_never_scanned_fails(tmp_path):
    config = settings(tmp_path, [("db.json", grype_report(DB, "db:1", []))])
    assert judge("BH-4.19", state(), config) == [
        f"image app:1: no Trivy or Grype report in {tmp_path / 'scans'} (used by web, worker)"
    ]


# --- BH-4.20: sanctioned base distributions -------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "distro", "version", "expected"),
    [
        (["debian"], "debian", "12", None),
        (["debian:12"], "debian", "12", None),
        (["debian:11"], "debian", "12", "built on debian:12, not a sanctioned base (debian:11)"),
        (["debian", "alpine"], "busybox", "1.35.0", "built on busybox:1.35.0, not a sanctioned base (debian, alpine)"),
        (["debian"], "", "", "base distribution unknown (no os-release)"),
        (["deb"], "debian", "12", "built on debian:12, not a sanctioned base (deb)"),  # no prefix matching
    ],
)
def test_sanctioned_base(allowed, distro, version, expected):
    host = state(sboms={APP: sbom(distro, version)})
    findings = judge("BH-4.20", host, AuditConfig({"approved_base_distributions": allowed}))
    assert findings == ([] if expected is None else [f"image app:1: {expected} (used by web, worker)"])


def test_base_of_an_image_without_sbom_is_unknown_and_no_allow_list_is_not_applicable():
    config = AuditConfig({"approved_base_distributions": ["debian"]})
    assert judge("BH-4.20", state(sboms={}), config) == [
        "image app:1: base distribution unknown, no SBOM (used by web, worker)"
    ]
    with pytest.raises(NotApplicable, match="approved_base_distributions"):
        judge("BH-4.20", state(), AuditConfig())


def test_sanctioned_and_registry_helpers():
    assert sanctioned("debian:12", ["debian"]) and not sanctioned("debian:12", ["debian:11"])
    digest = "@sha256:" + "d" * 64
    assert registry_of(image(digests=("registry.example.com:5000/app" + digest,))) == "registry.example.com:5000"
    assert registry_of(image(digests=("app" + digest,))) == "docker.io"
    assert registry_of(image(digests=("library/app" + digest,))) == "docker.io"
    assert registry_of(image(digests=("localhost/app" + digest,))) == "localhost"
    assert registry_of(image(tags=("registry.example.com/app:1",))) == ""  # never pulled: built here


# --- Reports: reading Trivy and Grype ------------------------------------------------------------


def test_parse_trivy_and_grype(tmp_path):
    trivy = parse_report(write(tmp_path, "t.json", trivy_report(APP, "app:1", [HIGH_FIXABLE, HIGH_UNFIXED])))
    grype = parse_report(write(tmp_path, "g.json", grype_report(APP, "app:1", [HIGH_FIXABLE, HIGH_UNFIXED])))
    for report, tool in ((trivy, "trivy"), (grype, "grype")):
        assert report.tool == tool and report.image_id == APP
        assert [(v.id, v.severity, v.fixable) for v in report.vulnerabilities] == [
            ("CVE-2024-0001", "high", True),
            ("CVE-2024-0002", "high", False),
        ]


def test_a_report_without_a_time_stamp_is_dated_by_its_file(tmp_path):
    document = trivy_report(APP, "app:1", [])
    del document["CreatedAt"]
    report = parse_report(write(tmp_path, "t.json", document))
    assert report.scanned_at.date() >= date.today() - timedelta(days=1)


@pytest.mark.parametrize("content", ["{not json", '{"some": "thing"}', "[]"])
def test_a_file_that_is_no_report_is_bad_input(tmp_path, content):
    (tmp_path / "x.json").write_text(content)
    with pytest.raises(ScanReportError, match=r"x\.json"):
        load_scan_reports(tmp_path)


def test_settings_read_the_reports_relative_to_the_settings_file(tmp_path):
    write(tmp_path / "scans", "t.json", trivy_report(APP, "app:1", [HIGH_FIXABLE]))
    (tmp_path / "audit.yml").write_text("scan_reports_dir: scans\nvulnerability_threshold: critical\n")
    config = load_config(tmp_path / "audit.yml")
    assert config.scans is not None and len(config.scans.reports) == 1
    (tmp_path / "bad.yml").write_text("vulnerability_threshold: severe\n")
    with pytest.raises(ConfigError, match="vulnerability_threshold"):
        load_config(tmp_path / "bad.yml")
    (tmp_path / "missing.yml").write_text("scan_reports_dir: nowhere\n")
    with pytest.raises(ConfigError, match="no such directory"):
        load_config(tmp_path / "missing.yml")


# --- CVE waivers ---------------------------------------------------------------------------------


def waived_book(tmp_path: Path, waiver: str, findings: list[str], today: date | None = None):
    path = tmp_path / "waivers.yml"
    path.write_text(waiver)
    waivers = load_waivers(path, load_catalogue())
    book = ResultBook()
    for finding in findings:
        book.record("web-1", "BH-4.18", Outcome.FAIL, finding, 0.0)
    notes = apply_waivers(book, waivers, today=today)
    return book.hosts["web-1"]["BH-4.18"], notes


def test_a_cve_waiver_waives_that_cve_on_matching_images_until_it_expires(tmp_path):
    other = FINDING_HIGH.replace("CVE-2024-0001", "CVE-2024-0009")
    waiver = (
        "- control: BH-4.18\n  container: 'app:*'\n  cve: CVE-2024-0001\n"
        "  justification: Not reachable, no TLS in this image (SEC-7)\n  expires: 2099-01-01\n"
    )
    result, _notes = waived_book(tmp_path, waiver, [FINDING_HIGH, other])
    assert result.outcome == Outcome.FAIL and result.findings == [other]
    result, _notes = waived_book(tmp_path, waiver, [FINDING_HIGH])
    assert result.outcome == Outcome.WAIVED
    result, notes = waived_book(tmp_path, waiver, [FINDING_HIGH], today=date(2099, 1, 1))
    assert result.outcome == Outcome.FAIL and "expired on 2099-01-01" in notes[0]


def test_a_cve_waiver_matches_the_whole_id_only(tmp_path):
    waiver = "- control: BH-4.18\n  cve: CVE-2024-000\n  justification: x\n  expires: 2099-01-01\n"
    result, _notes = waived_book(tmp_path, waiver, [FINDING_HIGH])
    assert result.outcome == Outcome.FAIL
    (tmp_path / "w.yml").write_text("- control: BH-4.18\n  cve: 7\n  justification: x\n  expires: 2099-01-01\n")
    with pytest.raises(WaiverError, match="cve must be a string"):
        load_waivers(tmp_path / "w.yml", load_catalogue())


# --- Profiles: production fails where dev passes, on the same reports ------------------------------


def profile(tmp_path: Path, name: str) -> AuditConfig:
    text = (ROOT / "inventories" / name / "audit-settings.yml").read_text()
    path = tmp_path / f"{name}.yml"
    path.write_text(text + f"scan_reports_dir: {tmp_path / 'scans'}\n")
    return load_config(path)


def test_the_production_profile_fails_where_the_dev_profile_passes(tmp_path):
    write(tmp_path / "scans", "app.trivy.json", trivy_report(APP, "app:1", [HIGH_FIXABLE, MEDIUM_FIXABLE], days_ago=10))
    host = state(sboms={APP: sbom("debian", "11")})
    dev, production = profile(tmp_path, "dev"), profile(tmp_path, "production")
    for control_id in ("BH-4.18", "BH-4.19", "BH-4.20"):
        assert judge(control_id, host, dev) == [], control_id
        assert judge(control_id, host, production), control_id


# --- The images-in-use table of the reports ------------------------------------------------------


def test_image_inventory_and_the_html_table(tmp_path):
    config = settings(
        tmp_path,
        [
            ("t.json", trivy_report(APP, "app:1", [HIGH_FIXABLE, HIGH_UNFIXED], days_ago=3)),
            ("g.json", grype_report(APP, "app:1", [HIGH_FIXABLE, CRITICAL_FIXABLE], days_ago=2)),
        ],
    )
    host = state(images=[image(tags=("registry.example.com/platform/app:1",), digests=(APP_DIGEST,))])
    [row] = image_inventory(host, config)
    assert row["registry"] == "registry.example.com" and row["base"] == "debian:12" and row["packages"] == 140
    assert row["scan_age_days"] == 2 and row["containers"] == ["web", "worker"]
    assert row["vulnerabilities"]["high"] == 2 and row["vulnerabilities"]["critical"] == 1
    merged = images_in_use({"web-1": {"images_in_use": [row]}, "web-2": {"images_in_use": [row]}})
    assert merged[0]["containers"] == ["web-1: web", "web-1: worker", "web-2: web", "web-2: worker"]
    json.dumps(merged)  # it goes into the JSON report as it is
    page = html_report(ResultBook(), load_catalogue(), {"web-1": {"images_in_use": [row]}})
    assert "Images in use" in page and "registry.example.com" in page and "web-1: worker" in page
    assert "critical 1, high 2" in page and f'title="{APP_DIGEST}"' in page
    assert image_inventory(state(containers=[]), AuditConfig()) == []
    assert image_inventory(HostState("web-1", {}, collection_error="cannot reach web-1"), AuditConfig()) == []
    [unknown] = image_inventory(state(sboms="unreadable"), AuditConfig())
    assert unknown["packages"] is None and unknown["vulnerabilities"] is None
