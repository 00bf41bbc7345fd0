"""BH-4.17 to BH-4.20: what is known about each image in use (SBOM, scans, base distribution).

Facts from the target: the images in use and the SBOM index ``bulkhead sbom`` keeps there
(``image_sboms``: per image ID the package count and the base distribution Syft read from
os-release). From the audit host: the Trivy and Grype reports of ``scan_reports_dir``
(``settings.scans``), matched to images by image ID or repo digest. Findings name the image first
and, for vulnerabilities, the CVE, so that a waiver's ``container`` (image) pattern and ``cve`` match.
Each control is an image check: the admission gate calls the same function on the image of a
container about to be created (``bulkhead.gate``, policy section ``images``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bulkhead.checks.containers import Container, Image, image_name, images_in_use
from bulkhead.checks.registry import Context, ImageCheck, Reasons
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable
from bulkhead.scans import ScanIndex, ScanReport, Vulnerability, at_or_above, latest_per_tool

SEVERITY_ORDER = ("critical", "high", "medium", "low", "negligible", "unknown")


def _scans(settings: AuditConfig) -> ScanIndex:
    if settings.scans is None:
        raise NotApplicable("no scanner reports configured (audit setting scan_reports_dir)")
    return settings.scans


def scans_configured(context: Context) -> None:
    _scans(context.settings)


def bases_configured(context: Context) -> None:
    if not context.settings.get("approved_base_distributions"):
        raise NotApplicable("no sanctioned base distributions configured (audit setting approved_base_distributions)")


def image_reports(image: Image, scans: ScanIndex) -> list[ScanReport]:
    return scans.for_image(image["Id"], image.get("RepoDigests") or [])


def _sbom_of(image: Image, sboms: Mapping[str, Any]) -> dict[str, Any] | None:
    return (sboms.get("images") or {}).get(image["Id"])


# Each check judges one image (``docker image inspect``: Id, RepoTags, RepoDigests): the audit on
# every image in use (``image app:1: ... (used by web)``), the admission gate on the image of a
# container about to be created.


def sbom_present(image: Image, context: Context) -> Reasons:
    sboms = context.need("image_sboms")
    if _sbom_of(image, sboms) is None:
        return f"no SBOM in {sboms.get('directory')} (bulkhead sbom)"
    return None


def fixable_vulnerabilities(image: Image, context: Context) -> Reasons:
    threshold = context.settings.get("vulnerability_threshold")
    seen: dict[tuple[str, str], tuple[Vulnerability, list[str]]] = {}
    for report in latest_per_tool(image_reports(image, _scans(context.settings))):
        for vulnerability in report.vulnerabilities:
            if vulnerability.fixable and at_or_above(vulnerability.severity, threshold):
                key = (vulnerability.id, vulnerability.package)
                seen.setdefault(key, (vulnerability, []))[1].append(report.tool)
    return [
        f"{vulnerability.id} ({vulnerability.severity}) in {vulnerability.package} {vulnerability.installed}, "
        f"fixed in {vulnerability.fixed_in} [{', '.join(tools)}]"
        for (_cve, _package), (vulnerability, tools) in sorted(seen.items())
    ]


def scan_age_days(report: ScanReport, now: datetime | None = None) -> int:
    return ((now or datetime.now(UTC)) - report.scanned_at).days


def scanned_recently(image: Image, context: Context) -> Reasons:
    scans = _scans(context.settings)
    limit = context.settings.get("max_scan_age_days")
    reports = image_reports(image, scans)
    if not reports:
        return f"no Trivy or Grype report in {scans.directory}"
    latest = max(reports, key=lambda report: report.scanned_at)
    age = scan_age_days(latest)
    if age > limit:
        return f"last scanned {age} days ago ({latest.tool}), over the {limit}-day limit"
    return None


def distribution(sbom: Mapping[str, Any] | None) -> str:
    """``id:version_id`` as Syft read the image's os-release; '' when unknown."""
    distro = (sbom or {}).get("distro") or {}
    return ":".join(str(part) for part in (distro.get("id"), distro.get("version_id")) if part)


def sanctioned(distro: str, allowed: list[str]) -> bool:
    """``debian`` allows every Debian release; ``debian:12`` only that one."""
    name = distro.split(":", 1)[0]
    return any(str(entry) in (distro, name) for entry in allowed)


def sanctioned_base(image: Image, context: Context) -> Reasons:
    allowed = context.settings.get("approved_base_distributions")
    sbom = _sbom_of(image, context.need("image_sboms"))
    distro = distribution(sbom)
    if sbom is None:
        return "base distribution unknown, no SBOM"
    if not distro:
        return "base distribution unknown (no os-release)"
    if not sanctioned(distro, allowed):
        return f"built on {distro}, not a sanctioned base ({', '.join(map(str, allowed))})"
    return None


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
    "BH-4.17": ImageCheck(sbom_present, needs=("image_sboms",)),
    "BH-4.18": ImageCheck(fixable_vulnerabilities, precondition=scans_configured),
    "BH-4.19": ImageCheck(scanned_recently, precondition=scans_configured),
    "BH-4.20": ImageCheck(sanctioned_base, needs=("image_sboms",), precondition=bases_configured),
}
