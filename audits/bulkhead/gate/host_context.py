"""The host facts container checks need (``Context``), for the gate: the policy's, else detected.

The image controls (BH-4.17 to BH-4.20) also read files that change while the gate runs: the
scanner reports of ``images.scan_reports_dir`` and ``bulkhead sbom``'s index. ``ImageFacts``
re-reads them when a file's size or modification time changes, and an unreadable one makes those
controls undetermined (refused when enforced), never passed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bulkhead.checks import Context
from bulkhead.checks.registry import ContainerLookup, VolumeLookup
from bulkhead.collector.facts import FactError
from bulkhead.collector.host import image_sboms
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable
from bulkhead.scans import ScanIndex, ScanReportError, load_scan_reports

DAEMON_JSON = Path("/etc/docker/daemon.json")


def detect(root: Path = Path("/")) -> dict[str, Any]:
    """AppArmor, SELinux, the cgroup version and dockerd's no-new-privileges default, read from files."""
    facts: dict[str, Any] = {}
    apparmor = root / "sys/module/apparmor/parameters/enabled"
    facts["apparmor"] = apparmor.exists() and apparmor.read_text().strip().upper().startswith("Y")
    facts["selinux"] = (root / "sys/fs/selinux/enforce").exists()
    facts["cgroup_version"] = 2 if (root / "sys/fs/cgroup/cgroup.controllers").exists() else 1
    try:
        daemon = json.loads((root / DAEMON_JSON.relative_to("/")).read_text())
        facts["daemon_no_new_privileges"] = bool(daemon.get("no-new-privileges", False))
    except FileNotFoundError:
        facts["daemon_no_new_privileges"] = False
    except (OSError, ValueError, AttributeError):
        pass  # unreadable: left unknown, so 5.25 is undetermined (and refused when enforced)
    return facts


def gate_context(
    policy_context: Mapping[str, Any],
    approved_registries: tuple[str, ...],
    detected: Mapping[str, Any],
    image_settings: Mapping[str, Any] | None = None,
    containers: ContainerLookup | None = None,
    volumes: VolumeLookup | None = None,
) -> Context:
    """The policy's facts over the detected ones, and the engine's other containers and volumes
    (``--network container:X``, ``-v name:/path``): without them those controls cannot be judged."""
    values = {**detected, **policy_context}
    settings = {"approved_registries": list(approved_registries)}
    settings.update({key: value for key, value in (image_settings or {}).items() if key != "sbom_dir"})
    return Context(
        settings=AuditConfig(values=settings, source="gate policy"),
        cgroup_version=values.get("cgroup_version"),
        apparmor=values.get("apparmor"),
        selinux=values.get("selinux"),
        daemon_no_new_privileges=values.get("daemon_no_new_privileges"),
        containers=containers,
        volumes=volumes,
    )


class UnreadableScans(ScanIndex):
    """The reports directory could not be read: every image's scans are unknown."""

    def __init__(self, directory: str, problem: str) -> None:
        super().__init__(directory)
        self.problem = problem

    def for_image(self, image_id: str, repo_digests: list[str] | tuple[str, ...] = ()) -> list[Any]:
        raise FactUnavailable(f"the scanner reports cannot be read: {self.problem}")


def _signature(directory: Path, pattern: str) -> tuple[Any, ...]:
    """What changes when a file is added, removed or rewritten (name, size, mtime)."""
    signature = []
    try:
        for entry in sorted(directory.glob(pattern)):
            status = entry.stat()
            signature.append((entry.name, status.st_size, status.st_mtime_ns))
    except OSError as error:
        return (("unreadable", str(error)),)
    return tuple(signature)


class ImageFacts:
    """The scanner reports and the SBOM index the image controls read, cached until they change."""

    def __init__(self, scan_reports_dir: str, sbom_dir: str) -> None:
        self.scan_reports_dir = Path(scan_reports_dir) if scan_reports_dir else None
        self.sbom_dir = Path(sbom_dir)
        self._lock = threading.Lock()
        self._scans: tuple[tuple[Any, ...], ScanIndex] | None = None
        self._sboms: tuple[tuple[Any, ...], dict[str, Any] | None] | None = None

    def scans(self) -> ScanIndex | None:
        if self.scan_reports_dir is None:
            return None
        key = (self.scan_reports_dir.is_dir(), _signature(self.scan_reports_dir, "*.json"))
        if self._scans is None or self._scans[0] != key:
            try:
                index = load_scan_reports(self.scan_reports_dir)
            except (ScanReportError, OSError) as error:
                index = UnreadableScans(str(self.scan_reports_dir), str(error))
            self._scans = (key, index)
        return self._scans[1]

    def sboms(self) -> dict[str, Any] | None:
        """The index as the collector reads it; None (unknown: undetermined) when it is unreadable."""
        key = (_signature(self.sbom_dir, "*"),)
        if self._sboms is None or self._sboms[0] != key:
            try:
                index = image_sboms(str(self.sbom_dir))
            except (FactError, OSError):
                index = None
            self._sboms = (key, index)
        return self._sboms[1]

    def apply(self, context: Context) -> Context:
        with self._lock:
            settings = replace(context.settings, scans=self.scans())
            return replace(context, settings=settings, image_sboms=self.sboms())


def image_facts(images: Mapping[str, Any], sbom_dir: str) -> ImageFacts:
    return ImageFacts(str(images.get("scan_reports_dir") or ""), os.fspath(sbom_dir))
