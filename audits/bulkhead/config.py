"""Audit settings: what "approved" means on this fleet (registries, docker group members, ...).

Read from the YAML file given to ``bulkhead audit --config``. Every key a check may read is
declared in ``KNOWN_KEYS`` with its type and default, so a typo or a wrong type in the file is an
error naming the file and the key, before any host is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkhead.scans import SEVERITIES, ScanIndex, ScanReportError, load_scan_reports
from bulkhead.yamlfile import read_yaml


class ConfigError(ValueError):
    """The audit configuration file is malformed."""


@dataclass(frozen=True)
class Key:
    kind: type
    default: Any
    help: str


# Add a key here when a check needs a fleet-specific value; the README documents them all.
KNOWN_KEYS: dict[str, Key] = {
    "docker_group_allowlist": Key(list, [], "users allowed in the docker group (CIS 1.1.2)"),
    "max_image_age_days": Key(int, 90, "oldest acceptable build date of an image in use, in days (BH-4.10)"),
    "max_unused_images": Key(int, 25, "images no container uses before image sprawl is a finding (CIS 6.1)"),
    "max_stopped_containers": Key(int, 25, "stopped containers before container sprawl is a finding (CIS 6.2)"),
    "swarm_allowed": Key(bool, False, "this fleet runs Docker swarm on purpose (BH-7.1)"),
    "approved_registries": Key(
        list,
        [],
        "registries (host[:port] or host[:port]/namespace, or mappings with a location) whose images may run"
        " (BH-4.11, BH-4.13, BH-4.14); mirrors the Ansible variable bulkhead_approved_registries",
    ),
    "rootless_users": Key(list, [], "users whose Docker engine must run rootless (BH-2.21)"),
    "scan_reports_dir": Key(
        str, "", "directory on the audit host holding Trivy and Grype JSON reports (BH-4.18, BH-4.19); empty: none"
    ),
    "vulnerability_threshold": Key(
        str, "high", "lowest severity (low, medium, high, critical) of a fixable vulnerability that fails BH-4.18"
    ),
    "max_scan_age_days": Key(int, 7, "oldest acceptable vulnerability scan of an image in use, in days (BH-4.19)"),
    "approved_base_distributions": Key(
        list, [], "base distributions images may be built on: os-release ID, or ID:VERSION_ID (BH-4.20)"
    ),
    "gone_containers_days": Key(
        int, 1, "containers that stopped or were removed within this many days are judged too (events recorder)"
    ),
    "engine_max_superseded_days": Key(
        int, 180, "days an upstream engine series may run after a newer series was released (CIS 1.2.2)"
    ),
    "container_app_label": Key(
        str, "", "container label naming a container's application, e.g. app (BH-8.4); empty: BH-8.4 not applicable"
    ),
    "container_zone_label": Key(
        str, "", "container label naming a container's zone, e.g. zone (BH-8.3); empty: from networks only"
    ),
    "network_zone_label": Key(
        str, "", "network label naming a network's zone (BH-8.2, BH-8.3); empty: container_zone_label"
    ),
    "no_egress_zones": Key(list, [], "zones whose networks must be internal: no route out (BH-8.2)"),
    "icc_allowed_networks": Key(
        list, [], "user-defined bridge networks allowed to keep inter-container communication (BH-8.1)"
    ),
    "network_policy_expected": Key(
        bool, False, "this host must carry the Bulkhead policy in DOCKER-USER (BH-8.5); false: not applicable"
    ),
    "network_policy_default_deny": Key(
        bool, False, "the DOCKER-USER policy must end in a DROP/REJECT of traffic from managed bridges (BH-8.5)"
    ),
}


@dataclass
class AuditConfig:
    values: dict[str, Any] = field(default_factory=dict)
    source: str = "defaults"
    # The scanner reports of ``scan_reports_dir``, read once when the settings are loaded.
    scans: ScanIndex | None = None

    def label_names(self) -> tuple[str, ...]:
        """The container labels whose values the collector must report: the application and zone labels."""
        names = (self.get("container_app_label"), self.get("container_zone_label"))
        return tuple(sorted({str(name) for name in names if name}))

    def get(self, key: str) -> Any:
        if key not in KNOWN_KEYS:
            raise KeyError(f"{key!r} is not a declared audit setting (bulkhead/config.py KNOWN_KEYS)")
        return self.values.get(key, KNOWN_KEYS[key].default)


def load_config(path: Path | None) -> AuditConfig:
    if path is None:
        return AuditConfig()
    document = read_yaml(path, ConfigError)
    if document is None:
        return AuditConfig(source=str(path))
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of setting: value")
    for key, value in document.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(sorted(KNOWN_KEYS))}")
        expected = KNOWN_KEYS[key].kind
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(f"{path}: setting {key!r} must be a {expected.__name__}, got {value!r}")
    threshold = document.get("vulnerability_threshold", KNOWN_KEYS["vulnerability_threshold"].default)
    if threshold not in SEVERITIES:
        raise ConfigError(f"{path}: vulnerability_threshold must be one of {', '.join(SEVERITIES)}, got {threshold!r}")
    scans = None
    if document.get("scan_reports_dir"):
        directory = path.parent / Path(document["scan_reports_dir"]).expanduser()
        try:
            scans = load_scan_reports(directory)
        except ScanReportError as error:
            raise ConfigError(f"{path}: scan_reports_dir: {error}") from None
    return AuditConfig(dict(document), str(path), scans)
