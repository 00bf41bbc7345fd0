"""Vulnerability scanner reports (Trivy and Grype JSON) read on the audit host, indexed by image.

Bulkhead does not scan: users run Trivy or Grype (in CI, on a registry, on the host) and drop the
JSON reports in the directory the audit setting ``scan_reports_dir`` names. Each report is matched
to images in use by image ID or repo digest; only the summary below reaches the checks:

- Trivy (``trivy image --format json``): ``Metadata.ImageID``, ``Metadata.RepoDigests``,
  ``CreatedAt``, ``Results[].Vulnerabilities[]`` with ``VulnerabilityID``, ``PkgName``,
  ``InstalledVersion``, ``FixedVersion`` (fixable when not empty), ``Severity``;
- Grype (``grype -o json``): ``source.target.imageID``, ``source.target.repoDigests``,
  ``descriptor.timestamp``, ``matches[].vulnerability`` with ``id``, ``severity``,
  ``fix.state`` (fixable when ``fixed``) and ``fix.versions``, and ``matches[].artifact``.

A report without a time stamp is dated by the file's modification time. A file that is neither is
bad input (the audit stops with exit 2 and names it), never skipped in silence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bulkhead.gotime import go_time

# Lowest first; scanners' UNKNOWN and Grype's Negligible rank below low.
SEVERITIES = ("unknown", "negligible", "low", "medium", "high", "critical")


class ScanReportError(ValueError):
    """A file in the reports directory is not a Trivy or Grype JSON report."""


def image_key(image_id: str) -> str:
    """``sha256:<hex>``: Podman reports image IDs without the algorithm, Docker and the scanners with it."""
    text = str(image_id)
    if len(text) == 64 and all(character in "0123456789abcdef" for character in text):
        return f"sha256:{text}"
    return text


@dataclass(frozen=True)
class Vulnerability:
    id: str
    package: str
    installed: str
    severity: str
    fixed_in: str = ""

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_in)


@dataclass(frozen=True)
class ScanReport:
    tool: str
    path: str
    scanned_at: datetime
    image_id: str
    repo_digests: tuple[str, ...]
    vulnerabilities: tuple[Vulnerability, ...] = ()

    def keys(self) -> set[str]:
        """What images in use are matched on: the image ID and each repo digest (``sha256:...``)."""
        keys = {image_key(self.image_id)} if self.image_id else set()
        keys.update(digest.rsplit("@", 1)[-1] for digest in self.repo_digests)
        return keys


@dataclass
class ScanIndex:
    """Every report read from one directory; ``for_image`` gives an image's reports."""

    directory: str
    reports: list[ScanReport] = field(default_factory=list)

    def for_image(self, image_id: str, repo_digests: list[str] | tuple[str, ...] = ()) -> list[ScanReport]:
        wanted = {image_key(image_id)} | {digest.rsplit("@", 1)[-1] for digest in repo_digests}
        return [report for report in self.reports if report.keys() & wanted]


def severity(text: Any) -> str:
    value = str(text or "unknown").strip().lower()
    return value if value in SEVERITIES else "unknown"


def _timestamp(text: Any, path: Path) -> datetime:
    """When the report says it was made, else when its file was written."""
    return go_time(text) or datetime.fromtimestamp(path.stat().st_mtime, UTC)


def parse_trivy(document: dict[str, Any], path: Path) -> ScanReport:
    metadata = document.get("Metadata") or {}
    found = []
    for result in document.get("Results") or []:
        for entry in result.get("Vulnerabilities") or []:
            found.append(
                Vulnerability(
                    id=str(entry.get("VulnerabilityID", "")),
                    package=str(entry.get("PkgName", "")),
                    installed=str(entry.get("InstalledVersion", "")),
                    severity=severity(entry.get("Severity")),
                    fixed_in=str(entry.get("FixedVersion") or ""),
                )
            )
    return ScanReport(
        tool="trivy",
        path=str(path),
        scanned_at=_timestamp(document.get("CreatedAt"), path),
        image_id=str(metadata.get("ImageID") or ""),
        repo_digests=tuple(metadata.get("RepoDigests") or ()),
        vulnerabilities=tuple(found),
    )


def parse_grype(document: dict[str, Any], path: Path) -> ScanReport:
    target = (document.get("source") or {}).get("target") or {}
    found = []
    for match in document.get("matches") or []:
        vulnerability = match.get("vulnerability") or {}
        artifact = match.get("artifact") or {}
        fix = vulnerability.get("fix") or {}
        versions = [str(version) for version in fix.get("versions") or []]
        fixed = (", ".join(versions) or "a fixed version") if fix.get("state") == "fixed" else ""
        found.append(
            Vulnerability(
                id=str(vulnerability.get("id", "")),
                package=str(artifact.get("name", "")),
                installed=str(artifact.get("version", "")),
                severity=severity(vulnerability.get("severity")),
                fixed_in=fixed,
            )
        )
    return ScanReport(
        tool="grype",
        path=str(path),
        scanned_at=_timestamp((document.get("descriptor") or {}).get("timestamp"), path),
        image_id=str(target.get("imageID") or ""),
        repo_digests=tuple(target.get("repoDigests") or ()),
        vulnerabilities=tuple(found),
    )


def parse_report(path: Path) -> ScanReport:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ScanReportError(f"{path}: not a readable JSON report: {error}") from None
    if isinstance(document, dict) and "Results" in document and "ArtifactName" in document:
        return parse_trivy(document, path)
    if isinstance(document, dict) and "matches" in document and "source" in document:
        return parse_grype(document, path)
    raise ScanReportError(
        f"{path}: neither a Trivy report (ArtifactName, Results) nor a Grype report (matches, source)"
    )


def load_scan_reports(directory: Path) -> ScanIndex:
    """Every ``*.json`` file in ``directory`` (not recursive), parsed; a missing directory is bad input."""
    if not directory.is_dir():
        raise ScanReportError(f"{directory}: no such directory of scanner reports")
    return ScanIndex(str(directory), [parse_report(path) for path in sorted(directory.glob("*.json"))])


def latest_per_tool(reports: list[ScanReport]) -> list[ScanReport]:
    """An image's newest report of each tool: older reports of the same tool are superseded."""
    newest: dict[str, ScanReport] = {}
    for report in reports:
        if report.tool not in newest or report.scanned_at > newest[report.tool].scanned_at:
            newest[report.tool] = report
    return [newest[tool] for tool in sorted(newest)]


def at_or_above(value: str, threshold: str) -> bool:
    return SEVERITIES.index(value) >= SEVERITIES.index(threshold)
