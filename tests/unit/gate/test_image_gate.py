"""The gate's image controls (BH-4.17 to BH-4.20) on recorded create requests.

The recorded ``create-compliant`` request starts ``bulkhead-it/busybox:local`` (image ID below, as
the recording engine answered). The gate asks the engine for that image's ID and digests, reads
the scanner reports and ``bulkhead sbom``'s index from directories (``ImageFacts``), and judges
with the audit's own image checks: the reasons are the audit's findings for that image, with the
per-environment thresholds of the inventories' gate policies.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from gate_fixtures import request
from scanreports import grype_report, trivy_report, write

from bulkhead.catalogue import load_catalogue
from bulkhead.checks import REGISTRY, Context
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState
from bulkhead.gate.decide import decide, gated_controls
from bulkhead.gate.host_context import gate_context, image_facts
from bulkhead.gate.log import record
from bulkhead.gate.policy import OFF, Policy, PolicyError, parse_policy

ROOT = Path(__file__).resolve().parents[3]
IMAGE = "bulkhead-it/busybox:local"
IMAGE_ID = "sha256:891670bdcd983bada26ecc6fc187ff66bdc03c00948e432ac8315d7cb7380929"
ASSURANCE = ("BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20")
TODAY = date(2026, 11, 30)
HIGH = ("CVE-2024-0001", "busybox", "1.36.1", "1.36.1-2", "high")
CRITICAL = ("CVE-2024-0004", "busybox", "1.36.1", "1.36.1-3", "critical")
HOST = {"apparmor": False, "selinux": False, "cgroup_version": 1, "daemon_no_new_privileges": False}


def engine_images(reference: str) -> dict[str, Any] | None:
    """The engine's answer for the recorded image (no USER, no HEALTHCHECK, never pulled)."""
    if reference != IMAGE:
        return None
    return {"Id": IMAGE_ID, "RepoTags": [IMAGE], "RepoDigests": [], "User": "", "Healthcheck": None}


def sbom_dir(tmp_path: Path, distro: str = "busybox", version: str = "1.36.1", present: bool = True) -> Path:
    directory = tmp_path / "sbom"
    directory.mkdir(exist_ok=True)
    entries = {}
    if present:
        file_name = IMAGE_ID.replace(":", "-") + ".spdx.json"
        (directory / file_name).write_text("{}")
        entries[IMAGE_ID] = {"file": file_name, "packages": 1, "distro": {"id": distro, "version_id": version}}
    (directory / "index.json").write_text(json.dumps({"images": entries}))
    return directory


def scans_dir(tmp_path: Path, *reports: tuple[str, dict]) -> Path:
    directory = tmp_path / "scans"
    directory.mkdir(exist_ok=True)
    for name, report in reports:
        write(directory, name, report)
    return directory


def policy_of(tmp_path: Path, document: dict[str, Any], scans: Path | None = None, sboms: Path | None = None):
    document = json.loads(json.dumps(document))
    images = document.setdefault("images", {})
    if scans is not None:
        images["scan_reports_dir"] = str(scans)
    if sboms is not None:
        images["sbom_dir"] = str(sboms)
    return parse_policy(document, "test policy", load_catalogue())


def enforced(**images: Any) -> dict[str, Any]:
    return {"default": "audit", "controls": dict.fromkeys(ASSURANCE, "enforce"), "images": images}


def gate(policy: Policy, case: str = "create-compliant", today: date = TODAY, lookup=engine_images):
    context = gate_context({}, policy.approved_registries, HOST, policy.images)
    facts = image_facts(policy.images, policy.sbom_dir)
    return decide(
        request(case), policy, context, today=today, host="node-1", image_configs=lookup, image_context=facts.apply
    )


def results(decision) -> dict[str, Any]:
    return {result.control: result for result in decision.results if result.control in ASSURANCE}


def logged(decision) -> list[dict[str, Any]]:
    """The decision log's entries for the image controls."""
    return [entry for entry in record(decision)["controls"] if entry["control"] in ASSURANCE]


def inventory_policy(profile: str) -> dict[str, Any]:
    variables = yaml.safe_load((ROOT / "inventories" / profile / "group_vars" / "docker_hosts.yml").read_text())
    return {"default": "audit", **variables["docker_engine_gate_policy"]}


def test_image_controls_are_gated_and_off_unless_the_policy_names_them():
    assert set(ASSURANCE) <= gated_controls()
    assert all(Policy(default="enforce").mode(control) == OFF for control in ASSURANCE)
    decision = decide(
        request("create-compliant"), Policy(default="enforce"), Context(), image_configs=engine_images, today=TODAY
    )
    assert not results(decision)


def test_a_scanned_clean_image_with_an_sbom_on_a_sanctioned_base_is_admitted(tmp_path):
    scans = scans_dir(tmp_path, ("trivy.json", trivy_report(IMAGE_ID, IMAGE, [], days_ago=1)))
    policy = policy_of(tmp_path, enforced(approved_base_distributions=["busybox"]), scans, sbom_dir(tmp_path))
    decision = gate(policy)
    assert decision.allow, decision.msg
    assert {control: result.lines() for control, result in results(decision).items()} == {
        control: [] for control in ASSURANCE
    }


def test_each_image_control_refuses_with_the_audit_finding(tmp_path):
    scans = scans_dir(tmp_path, ("grype.json", grype_report(IMAGE_ID, IMAGE, [HIGH], days_ago=40)))
    policy = policy_of(tmp_path, enforced(approved_base_distributions=["debian:12"]), scans, sbom_dir(tmp_path))
    decision = gate(policy)
    assert not decision.allow
    found = {control: result.reasons for control, result in results(decision).items()}
    assert found == {
        "BH-4.17": [],
        "BH-4.18": [f"image {IMAGE}: CVE-2024-0001 (high) in busybox 1.36.1, fixed in 1.36.1-2 [grype]"],
        "BH-4.19": [f"image {IMAGE}: last scanned 40 days ago (grype), over the 7-day limit"],
        "BH-4.20": [f"image {IMAGE}: built on busybox:1.36.1, not a sanctioned base (debian:12)"],
    }
    assert "BH-4.18 not allowed: image bulkhead-it/busybox:local: CVE-2024-0001 (high)" in decision.msg
    # The audit's host form, on a host running that image, gives the same reasons (the same functions).
    state = HostState(
        "node-1",
        {
            "containers": {
                "value": [
                    {
                        "Id": "c1",
                        "Name": "compliant",
                        "Image": IMAGE_ID,
                        "Config": {"Image": IMAGE},
                        "HostConfig": {},
                        "State": {"Running": True},
                        "EngineKind": "docker",
                        "EngineMode": "rootful",
                    }
                ]
            },
            "images": {"value": [{"Id": IMAGE_ID, "RepoTags": [IMAGE], "RepoDigests": []}]},
            "image_sboms": {"value": json.loads(json.dumps(image_facts(policy.images, policy.sbom_dir).sboms()))},
        },
    )
    settings = AuditConfig(dict(policy.images), "test", image_facts(policy.images, policy.sbom_dir).scans())
    for control, reasons in found.items():
        audit = REGISTRY[control].judge(state, settings)
        assert audit == [f"{reason} (used by compliant)" for reason in reasons], control


def test_the_same_reports_pass_the_dev_gate_and_fail_the_production_gate(tmp_path):
    """Per-environment thresholds from the inventories: dev refuses critical only, production high."""
    scans = scans_dir(tmp_path, ("trivy.json", trivy_report(IMAGE_ID, IMAGE, [HIGH], days_ago=10)))
    sboms = sbom_dir(tmp_path, distro="debian", version="12")
    dev = gate(policy_of(tmp_path, inventory_policy("dev"), scans, sboms))
    production = gate(policy_of(tmp_path, inventory_policy("production"), scans, sboms))
    assert dev.allow, dev.msg
    assert not production.allow
    refused = sorted(result.control for result in production.results if result.refuses)
    assert refused == ["BH-4.18", "BH-4.19"]  # a fixable high, and a 10-day-old scan over production's 7


def test_the_inventory_gate_policies_mirror_the_audit_settings():
    for profile in ("dev", "production"):
        settings = yaml.safe_load((ROOT / "inventories" / profile / "audit-settings.yml").read_text())
        images = inventory_policy(profile)["images"]
        for key in ("vulnerability_threshold", "max_scan_age_days", "approved_base_distributions"):
            assert images[key] == settings[key], (profile, key)
        parse_policy(inventory_policy(profile), profile, load_catalogue())


def test_no_scan_refuses_and_no_sbom_refuses_when_enforced(tmp_path):
    policy = policy_of(tmp_path, enforced(), scans_dir(tmp_path), sbom_dir(tmp_path, present=False))
    decision = gate(policy)
    found = {control: result.lines() for control, result in results(decision).items()}
    assert found["BH-4.17"] == [f"image {IMAGE}: no SBOM in {tmp_path / 'sbom'} (bulkhead sbom)"]
    assert found["BH-4.19"] == [f"image {IMAGE}: no Trivy or Grype report in {tmp_path / 'scans'}"]
    assert results(decision)["BH-4.20"].not_applicable  # no allow list: nothing to judge
    assert not decision.allow


def test_audit_mode_admits_and_logs(tmp_path):
    document = {"controls": {"BH-4.17": "audit"}, "images": {}}
    decision = gate(policy_of(tmp_path, document, sboms=sbom_dir(tmp_path, present=False)))
    assert decision.allow
    assert [(entry["control"], entry["outcome"]) for entry in logged(decision)] == [("BH-4.17", "audited")]


def test_a_cve_exception_admits_that_cve_only_until_it_expires(tmp_path):
    scans = scans_dir(tmp_path, ("trivy.json", trivy_report(IMAGE_ID, IMAGE, [HIGH, CRITICAL])))

    def with_exceptions(*entries: dict[str, Any]) -> Policy:
        document = {"controls": {"BH-4.18": "enforce"}, "exceptions": list(entries)}
        return policy_of(tmp_path, document, scans)

    high = {"control": "BH-4.18", "cve": "CVE-2024-0001", "image": "bulkhead-it/*", "justification": "SEC-1"}
    critical = dict(high, cve="CVE-2024-0004", justification="SEC-2")
    tomorrow, today = (TODAY + timedelta(days=1)).isoformat(), TODAY.isoformat()

    partial = gate(with_exceptions(dict(high, expires=tomorrow)))
    assert not partial.allow
    assert "CVE-2024-0004" in partial.msg and "CVE-2024-0001" not in partial.msg
    assert logged(partial)[0]["excepted"] == [
        f"image {IMAGE}: CVE-2024-0001 (high) in busybox 1.36.1, fixed in 1.36.1-2 [trivy] "
        "[exception #1 (BH-4.18, image bulkhead-it/*, cve CVE-2024-0001)]"
    ]

    both = gate(with_exceptions(dict(high, expires=tomorrow), dict(critical, expires=tomorrow)))
    assert both.allow, both.msg
    assert logged(both)[0]["outcome"] == "excepted"

    expired = gate(with_exceptions(dict(high, expires=tomorrow), dict(critical, expires=today)))
    assert not expired.allow
    assert "exception #2 (BH-4.18, image bulkhead-it/*, cve CVE-2024-0004) expired on 2026-11-30" in expired.msg

    other_image = gate(with_exceptions(dict(high, image="other/*", expires=tomorrow)))
    assert "CVE-2024-0001" in other_image.msg


def test_an_image_the_engine_does_not_know_is_refused_when_enforced(tmp_path):
    policy = policy_of(tmp_path, enforced(), scans_dir(tmp_path), sbom_dir(tmp_path))
    decision = gate(policy, lookup=lambda reference: None)
    assert not decision.allow
    assert all(
        result.undetermined == f"the image {IMAGE} is not on the engine: its ID and digests are not known"
        for result in results(decision).values()
    )


def test_reports_are_reread_when_they_change_and_an_unreadable_one_refuses(tmp_path):
    scans = scans_dir(tmp_path, ("trivy.json", trivy_report(IMAGE_ID, IMAGE, [])))
    policy = policy_of(tmp_path, {"controls": {"BH-4.18": "enforce"}}, scans)
    context = gate_context({}, (), HOST, policy.images)
    facts = image_facts(policy.images, policy.sbom_dir)

    def judged() -> Any:
        decision = decide(
            request("create-compliant"),
            policy,
            context,
            today=TODAY,
            host="n",
            image_configs=engine_images,
            image_context=facts.apply,
        )
        return results(decision)["BH-4.18"]

    assert judged().lines() == []
    path = write(scans, "trivy.json", trivy_report(IMAGE_ID, IMAGE, [CRITICAL]))
    os.utime(path, ns=(1, 1))  # a rewrite in the same tick is still seen: size and mtime differ
    assert judged().reasons[0].startswith(f"image {IMAGE}: CVE-2024-0004 (critical)")
    (scans / "broken.json").write_text("{not json")
    assert judged().undetermined.startswith("the scanner reports cannot be read: ")
    (scans / "broken.json").unlink()
    (scans / "index.json").unlink(missing_ok=True)
    assert judged().reasons


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"controls": {"BH-4.18": "enforce"}}, "BH-4.18 is enforced but images.scan_reports_dir is not set"),
        ({"controls": {"BH-4.19": "enforce"}, "images": {}}, "BH-4.19 is enforced but images.scan_reports_dir"),
        ({"images": {"vulnerability_threshold": "severe"}}, "images.vulnerability_threshold: 'severe' is not one"),
        ({"images": {"max_scan_age_days": "7"}}, "images.max_scan_age_days: expected int"),
        ({"images": {"scan_reports_dir": "scans"}}, "images.scan_reports_dir: expected an absolute path"),
        ({"images": {"sbom_dir": "sbom"}}, "images.sbom_dir: expected an absolute path"),
        ({"images": {"registry": "x"}}, "images.registry: unknown"),
        ({"images": []}, "images: expected a mapping"),
        (
            {"exceptions": [{"control": "BH-4.18", "cve": 1, "justification": "x", "expires": "2027-01-01"}]},
            "exceptions[1].cve: expected a string",
        ),
    ],
)
def test_malformed_image_policies_are_refused(document, message):
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_policy(document, "p.yml", load_catalogue())
