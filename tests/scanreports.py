"""Trivy and Grype JSON reports for tests, in each tool's documented shape (only the fields that matter).

Trivy (``trivy image --format json``, schema version 2): ``ArtifactName``, ``ArtifactType``,
``CreatedAt``, ``Metadata.{ImageID, RepoDigests, RepoTags, OS}`` and ``Results[]`` with
``Target``, ``Class``, ``Type`` and ``Vulnerabilities[]`` (``VulnerabilityID``, ``PkgName``,
``InstalledVersion``, ``FixedVersion``, ``Status``, ``Severity``).
Grype (``grype -o json``): ``matches[]`` with ``vulnerability.{id, severity, fix.{versions,
state}}`` and ``artifact.{name, version, type}``, ``source.{type, target.{userInput, imageID,
repoDigests, tags}}``, ``distro`` and ``descriptor.{name, version, timestamp}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

# (vulnerability ID, package, installed version, fixed version or "", severity in the tool's spelling)
Vuln = tuple[str, str, str, str, str]


def stamp(days_ago: float = 0, now: datetime | None = None) -> str:
    return ((now or datetime.now(UTC)) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def trivy_report(
    image_id: str, name: str, vulns: list[Vuln], days_ago: float = 0, repo_digests: list[str] | None = None
) -> dict:
    return {
        "SchemaVersion": 2,
        "CreatedAt": stamp(days_ago),
        "ArtifactName": name,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": {"Family": "debian", "Name": "12.5"},
            "ImageID": image_id,
            "RepoTags": [name],
            "RepoDigests": repo_digests or [],
        },
        "Results": [
            {
                "Target": f"{name} (debian 12.5)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": vuln_id,
                        "PkgName": package,
                        "InstalledVersion": installed,
                        **({"FixedVersion": fixed} if fixed else {}),
                        "Status": "fixed" if fixed else "affected",
                        "Severity": severity.upper(),
                    }
                    for vuln_id, package, installed, fixed, severity in vulns
                ],
            }
        ],
    }


def grype_report(
    image_id: str, name: str, vulns: list[Vuln], days_ago: float = 0, repo_digests: list[str] | None = None
) -> dict:
    return {
        "matches": [
            {
                "vulnerability": {
                    "id": vuln_id,
                    "dataSource": f"https://security-tracker.debian.org/tracker/{vuln_id}",
                    "namespace": "debian:distro:debian:12",
                    "severity": severity.capitalize(),
                    "fix": {"versions": [fixed] if fixed else [], "state": "fixed" if fixed else "not-fixed"},
                },
                "artifact": {"name": package, "version": installed, "type": "deb"},
            }
            for vuln_id, package, installed, fixed, severity in vulns
        ],
        "source": {
            "type": "image",
            "target": {"userInput": name, "imageID": image_id, "repoDigests": repo_digests or [], "tags": [name]},
        },
        "distro": {"name": "debian", "version": "12"},
        "descriptor": {"name": "grype", "version": "0.74.0", "timestamp": stamp(days_ago)},
    }


def write(directory: Path, file_name: str, report: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name
    path.write_text(json.dumps(report), encoding="utf-8")
    return path
