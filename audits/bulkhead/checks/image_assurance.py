"""BH-4.17 to BH-4.20: what is known about each image in use (SBOM, scans, base distribution).

Facts from the target: the images in use and the SBOM index ``bulkhead sbom`` keeps there
(``image_sboms``: per image ID the package count and the base distribution Syft read from
os-release). From the audit host: the Trivy and Grype reports of ``scan_reports_dir``
(``settings.scans``), matched to images by image ID or repo digest. Findings name the image first
and, for vulnerabilities, the CVE, so that a waiver's ``container`` (image) pattern and ``cve`` match.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bulkhead.checks.containers import Container, Image, image_name, images_in_use, users_of
from bulkhead.checks.registry import Findings, HostCheck
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.scans import ScanIndex, ScanReport, Vulnerability, at_or_above, latest_per_tool

SEVERITY_ORDER = ("critical", "high", "medium", "low", "negligible", "unknown")


def _scans(settings: AuditConfig) -> ScanIndex:
    if settings.scans is None:
        raise NotApplicable("no scanner reports configured (audit setting scan_reports_dir)")
    return settings.scans


def image_reports(image: Image, scans: ScanIndex) -> list[ScanReport]:
    return scans.for_image(image["Id"], image.get("RepoDigests") or [])


def _sbom_of(image: Image, sboms: dict[str, Any]) -> dict[str, Any] | None:
    return (sboms.get("images") or {}).get(image["Id"])


def sbom_present(state: HostState, settings: AuditConfig) -> Findings:
    sboms = state.fact("image_sboms")
    return [
        f"image {image_name(image)}: no SBOM in {sboms.get('directory')} (bulkhead sbom) "
        f"(used by {users_of(containers)})"
        for image, containers in images_in_use(state).values()
        if _sbom_of(image, sboms) is None
    ]


def fixable_vulnerabilities(state: HostState, settings: AuditConfig) -> Findings:
    used = images_in_use(state)  # first: an unreachable host is an error, never not applicable
    scans = _scans(settings)
    threshold = settings.get("vulnerability_threshold")
    findings = []
    for image, containers in used.values():
        seen: dict[tuple[str, str], tuple[Vulnerability, list[str]]] = {}
        for report in latest_per_tool(image_reports(image, scans)):
            for vulnerability in report.vulnerabilities:
                if vulnerability.fixable and at_or_above(vulnerability.severity, threshold):
                    key = (vulnerability.id, vulnerability.package)
                    seen.setdefault(key, (vulnerability, []))[1].append(report.tool)
        for (_cve, _package), (vulnerability, tools) in sorted(seen.items()):
            findings.append(
                f"image {image_name(image)}: {vulnerability.id} ({vulnerability.severity}) in "
                f"{vulnerability.package} {vulnerability.installed}, fixed in {vulnerability.fixed_in} "
                f"[{', '.join(tools)}] (used by {users_of(containers)})"
            )
    return findings


def scan_age_days(report: ScanReport, now: datetime | None = None) -> int:
    return ((now or datetime.now(UTC)) - report.scanned_at).days


def scanned_recently(state: HostState, settings: AuditConfig, now: datetime | None = None) -> Findings:
    used = images_in_use(state)
    scans = _scans(settings)
    limit = settings.get("max_scan_age_days")
    findings = []
    for image, containers in used.values():
        reports = image_reports(image, scans)
        if not reports:
            findings.append(
                f"image {image_name(image)}: no Trivy or Grype report in {scans.directory} "
                f"(used by {users_of(containers)})"
            )
            continue
        latest = max(reports, key=lambda report: report.scanned_at)
        age = scan_age_days(latest, now)
        if age > limit:
            findings.append(
                f"image {image_name(image)}: last scanned {age} days ago ({latest.tool}), over the {limit}-day "
                f"limit (used by {users_of(containers)})"
            )
    return findings


def distribution(sbom: dict[str, Any] | None) -> str:
    """``id:version_id`` as Syft read the image's os-release; '' when unknown."""
    distro = (sbom or {}).get("distro") or {}
    return ":".join(str(part) for part in (distro.get("id"), distro.get("version_id")) if part)


def sanctioned(distro: str, allowed: list[str]) -> bool:
    """``debian`` allows every Debian release; ``debian:12`` only that one."""
    name = distro.split(":", 1)[0]
    return any(str(entry) in (distro, name) for entry in allowed)


def sanctioned_base(state: HostState, settings: AuditConfig) -> Findings:
    used = images_in_use(state)
    allowed = settings.get("approved_base_distributions")
    if not allowed:
        raise NotApplicable("no sanctioned base distributions configured (audit setting approved_base_distributions)")
    sboms = state.fact("image_sboms")
    findings = []
    for image, containers in used.values():
        sbom = _sbom_of(image, sboms)
        distro = distribution(sbom)
        if sbom is None:
            findings.append(
                f"image {image_name(image)}: base distribution unknown, no SBOM (used by {users_of(containers)})"
            )
        elif not distro:
            findings.append(
                f"image {image_name(image)}: base distribution unknown (no os-release) (used by {users_of(containers)})"
            )
        elif not sanctioned(distro, allowed):
            findings.append(
                f"image {image_name(image)}: built on {distro}, not a sanctioned base ({', '.join(map(str, allowed))}) "
                f"(used by {users_of(containers)})"
            )
    return findings


def registry_of(image: Image) -> str:
    """The registry the image was pulled from (its first repo digest; 'docker.io' for short names);
    '' for an image with no repo digest: built or imported locally, never pulled."""
    digests = [digest for digest in image.get("RepoDigests") or [] if "<none>" not in digest]
    if not digests:
        return ""
    first = digests[0].split("/", 1)[0]
    return first if "/" in digests[0] and ("." in first or ":" in first or first == "localhost") else "docker.io"


def image_inventory(state: HostState, settings: AuditConfig, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per image in use, for reports: digest, registry, base, SBOM package count, scan age, vulnerabilities."""
    try:
        used = images_in_use(state)
    except (NotApplicable, FactUnavailable):  # no running containers, or facts unreadable: nothing to list
        return []
    try:
        sboms = state.fact("image_sboms")
    except FactUnavailable:
        sboms = {}
    rows = []
    for image, containers in used.values():
        sbom = _sbom_of(image, sboms)
        row: dict[str, Any] = {
            "image": image_name(image),
            "id": image["Id"],
            "digests": list(image.get("RepoDigests") or []),
            "registry": registry_of(image),
            "base": distribution(sbom) if sbom else None,
            "packages": sbom.get("packages") if sbom else None,
            "containers": sorted(_name(container) for container in containers),
            "scan_age_days": None,
            "vulnerabilities": None,
        }
        reports = image_reports(image, settings.scans) if settings.scans is not None else []
        if reports:
            row["scan_age_days"] = scan_age_days(max(reports, key=lambda report: report.scanned_at), now)
            counts = dict.fromkeys(SEVERITY_ORDER, 0)
            unique = {
                (v.id, v.package): v.severity for report in latest_per_tool(reports) for v in report.vulnerabilities
            }
            for severity in unique.values():
                counts[severity] += 1
            row["vulnerabilities"] = counts
        rows.append(row)
    return sorted(rows, key=lambda row: row["image"])


def _name(container: Container) -> str:
    return str(container["Name"])


# Control ID -> the function that judges it (registered by bulkhead.checks).
CHECKS = {
    "BH-4.17": HostCheck(sbom_present),
    "BH-4.18": HostCheck(fixable_vulnerabilities),
    "BH-4.19": HostCheck(scanned_recently),
    "BH-4.20": HostCheck(sanctioned_base),
}
