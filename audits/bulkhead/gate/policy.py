"""The gate's policy: a mode per control, an allow list of added capabilities, exceptions.

A policy file (YAML)::

    default: audit                       # mode of every control not listed: enforce | audit | off
    controls:                            # catalogue IDs (and the gate's exec controls 5.22, 5.23)
      "5.4": enforce
      "5.26": off
    allowed_capabilities: [NET_BIND_SERVICE]   # CapAdd entries 5.3 accepts
    approved_registries: [registry.example.com] # what BH-4.11 approves (as the audit setting)
    context:                             # host facts the checks need; detected when omitted
      daemon_no_new_privileges: true
    images:                              # what the image controls BH-4.17 to BH-4.20 read (audit settings)
      scan_reports_dir: /var/lib/bulkhead/scans   # Trivy/Grype JSON reports, re-read when they change
      vulnerability_threshold: critical  # dev lenient, production strict (high)
      max_scan_age_days: 7
      approved_base_distributions: [debian]
      sbom_dir: /var/lib/bulkhead/sbom   # bulkhead sbom's index (BH-4.17, BH-4.20)
    exceptions:                          # the waiver format, scoped by container, image or label
      - control: "5.4"
        container: debug                 # fnmatch patterns; label: "key" or "key=value"
        justification: Vendor debug tool (OPS-7)
        expires: 2027-03-31              # from that day on it admits nothing
      - control: BH-4.18
        cve: CVE-2024-1234               # only that vulnerability (the image's others still refuse)
        image: "registry.example.com/app*"
        justification: Not reachable in our use (SEC-12)
        expires: 2027-01-31

Every problem is a ``PolicyError`` naming the file and the key: a malformed policy is refused at
install time (``bulkhead gate check-policy``), never loaded at run time.
"""

from __future__ import annotations

import fnmatch
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bulkhead.catalogue import Catalogue, load_catalogue
from bulkhead.checks.containers import capabilities
from bulkhead.collector.host import SBOM_DIR
from bulkhead.config import KNOWN_KEYS
from bulkhead.scans import SEVERITIES
from bulkhead.yamlfile import yaml_date

ENFORCE = "enforce"
AUDIT = "audit"
OFF = "off"
MODES = (ENFORCE, AUDIT, OFF)
# CIS 5.22 (exec --privileged) and 5.23 (exec as root) concern exec sessions, which the audit cannot
# see afterwards: the catalogue has no entry for them yet, the gate judges them. 5.23 is off unless
# the policy names it ("where configured"): an exec without -u runs as the container's user.
GATE_ONLY_CONTROLS = {"5.22": "Exec sessions are not run --privileged", "5.23": "Exec sessions do not run as root"}
# The image controls (SBOM, fixable vulnerabilities, scan age, base distribution) need SBOMs and
# scanner reports on the host: off unless the policy names them, so that `default: enforce` does
# not refuse every image of a host that has none yet.
IMAGE_ASSURANCE_CONTROLS = ("BH-4.17", "BH-4.18", "BH-4.19", "BH-4.20")
OFF_UNLESS_NAMED = frozenset({"5.23", *IMAGE_ASSURANCE_CONTROLS})
_KEYS = {"default", "controls", "allowed_capabilities", "approved_registries", "context", "images", "exceptions"}
_CONTEXT_KEYS = {"apparmor": bool, "selinux": bool, "cgroup_version": int, "daemon_no_new_privileges": bool}
_EXCEPTION_KEYS = {"control", "host", "container", "image", "label", "cve", "justification", "expires"}
# The audit settings the image controls read, and where the gate finds bulkhead sbom's index.
IMAGE_SETTINGS = ("scan_reports_dir", "vulnerability_threshold", "max_scan_age_days", "approved_base_distributions")
SBOM_DIR_KEY = "sbom_dir"
DEFAULT_SBOM_DIR = SBOM_DIR
# Image controls that need scanner reports: enforcing one with no reports directory would be a no-op.
SCAN_CONTROLS = ("BH-4.18", "BH-4.19")


class _Loader(yaml.SafeLoader):
    """Dates stay strings, so that a bad one is reported with its key rather than as a YAML error."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PolicyError(ValueError):
    """The policy file is malformed."""


@dataclass(frozen=True)
class Exception_:
    """One exception: a control, its scope, why, and until when (excluded)."""

    control: str
    justification: str
    expires: date
    index: int
    host: str = "*"
    container: str | None = None
    image: str | None = None
    label: str | None = None
    cve: str | None = None

    def label_text(self) -> str:
        scope = [f"{name} {value}" for name, value in self.scope().items()]
        return f"exception #{self.index} ({self.control}{', ' if scope else ''}{', '.join(scope)})"

    def scope(self) -> dict[str, str]:
        return {
            name: value
            for name, value in (
                ("container", self.container),
                ("image", self.image),
                ("label", self.label),
                ("cve", self.cve),
            )
            if value is not None
        }

    def covers_reason(self, reason: str) -> bool:
        """A CVE exception covers the reasons naming its CVE only; any other covers every reason."""
        if self.cve is None:
            return True
        return re.search(rf"(?<![\w-]){re.escape(self.cve)}(?![\w-])", reason, re.IGNORECASE) is not None

    def covers(self, container: str, image: str, labels: Mapping[str, str], host: str) -> bool:
        if not fnmatch.fnmatchcase(host, self.host):
            return False
        if self.container is not None and not fnmatch.fnmatchcase(container, self.container):
            return False
        if self.image is not None and not fnmatch.fnmatchcase(image, self.image):
            return False
        if self.label is not None:
            key, has_value, value = self.label.partition("=")
            if key not in labels or (has_value and labels[key] != value):
                return False
        return True


@dataclass(frozen=True)
class Policy:
    default: str = AUDIT
    controls: Mapping[str, str] = field(default_factory=dict)
    allowed_capabilities: frozenset[str] = frozenset()
    approved_registries: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    exceptions: tuple[Exception_, ...] = ()
    source: str = "built-in defaults"
    # The ``images`` section: audit settings (IMAGE_SETTINGS) and ``sbom_dir``.
    images: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sbom_dir(self) -> str:
        return str(self.images.get(SBOM_DIR_KEY) or DEFAULT_SBOM_DIR)

    def mode(self, control_id: str) -> str:
        if control_id in self.controls:
            return self.controls[control_id]
        return OFF if control_id in OFF_UNLESS_NAMED else self.default

    def exceptions_for(self, control_id: str) -> list[Exception_]:
        return [entry for entry in self.exceptions if entry.control == control_id]


def load_policy(path: Path, catalogue: Catalogue | None = None) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror}") from None
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    return parse_policy(document, str(path), catalogue or load_catalogue())


def parse_policy(document: Any, source: str, catalogue: Catalogue) -> Policy:
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a mapping at the top level, got {type(document).__name__}")
    unknown = sorted(set(map(str, document)) - _KEYS)
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    known = {control.id for control in catalogue} | set(GATE_ONLY_CONTROLS)

    def control_id(value: Any, where: str) -> str:
        text = str(value)
        if text not in known:
            raise PolicyError(f"{source}: {where}: control {text!r} is not in the catalogue")
        return text

    def mode(value: Any, where: str) -> str:
        # YAML 1.1 reads a bare `off` as false.
        text = OFF if value is False else str(value)
        if text not in MODES:
            raise PolicyError(f"{source}: {where}: mode {value!r} is not one of {', '.join(MODES)}")
        return text

    controls_document = document.get("controls") or {}
    if not isinstance(controls_document, dict):
        raise PolicyError(f"{source}: controls: expected a mapping of control ID to mode")
    controls = {
        control_id(key, f"controls.{key}"): mode(value, f"controls.{key}") for key, value in controls_document.items()
    }
    images = _images(document.get("images"), source)
    if not images.get("scan_reports_dir"):
        for control in SCAN_CONTROLS:
            if controls.get(control) == ENFORCE:
                raise PolicyError(
                    f"{source}: {control} is enforced but images.scan_reports_dir is not set: "
                    "it would admit every image"
                )
    return Policy(
        default=mode(document.get("default", AUDIT), "default"),
        controls=controls,
        images=images,
        allowed_capabilities=frozenset(capabilities(_strings(document, "allowed_capabilities", source))),
        approved_registries=tuple(_strings(document, "approved_registries", source)),
        context=_context(document.get("context"), source),
        exceptions=tuple(
            _exception(entry, index, source, control_id)
            for index, entry in enumerate(_list(document, "exceptions", source), start=1)
        ),
        source=source,
    )


def _list(document: dict[str, Any], key: str, source: str) -> list[Any]:
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{source}: {key}: expected a list, got {type(value).__name__}")
    return value


def _strings(document: dict[str, Any], key: str, source: str) -> list[str]:
    values = _list(document, key, source)
    for index, value in enumerate(values, start=1):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{source}: {key}[{index}]: expected a non-empty string, got {value!r}")
    return [value.strip() for value in values]


def _context(value: Any, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: context: expected a mapping")
    for key, item in value.items():
        kind = _CONTEXT_KEYS.get(str(key))
        if kind is None:
            raise PolicyError(f"{source}: context.{key}: unknown (known: {', '.join(sorted(_CONTEXT_KEYS))})")
        if type(item) is not kind:
            raise PolicyError(f"{source}: context.{key}: expected {kind.__name__}, got {item!r}")
    return dict(value)


def _images(value: Any, source: str) -> dict[str, Any]:
    """The ``images`` section, typed as the audit settings of the same names."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: images: expected a mapping")
    for key, item in value.items():
        if key == SBOM_DIR_KEY:
            if not isinstance(item, str) or not item.startswith("/"):
                raise PolicyError(f"{source}: images.{key}: expected an absolute path, got {item!r}")
            continue
        if key not in IMAGE_SETTINGS:
            known = ", ".join((*IMAGE_SETTINGS, SBOM_DIR_KEY))
            raise PolicyError(f"{source}: images.{key}: unknown (known: {known})")
        kind = KNOWN_KEYS[key].kind
        if type(item) is not kind:
            raise PolicyError(f"{source}: images.{key}: expected {kind.__name__}, got {item!r}")
    if value.get("scan_reports_dir") and not str(value["scan_reports_dir"]).startswith("/"):
        raise PolicyError(f"{source}: images.scan_reports_dir: expected an absolute path")
    if "vulnerability_threshold" in value and value["vulnerability_threshold"] not in SEVERITIES:
        raise PolicyError(
            f"{source}: images.vulnerability_threshold: {value['vulnerability_threshold']!r} is not one of "
            + ", ".join(SEVERITIES)
        )
    return dict(value)


def _exception(entry: Any, index: int, source: str, control_id: Any) -> Exception_:
    where = f"exceptions[{index}]"
    if not isinstance(entry, dict):
        raise PolicyError(f"{source}: {where}: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(map(str, entry)) - _EXCEPTION_KEYS)
    if unknown:
        raise PolicyError(f"{source}: {where}: unknown field(s) {', '.join(unknown)}")
    for name in ("control", "justification", "expires"):
        if entry.get(name) in (None, ""):
            raise PolicyError(f"{source}: {where}: missing field {name!r}")
    for name in ("host", "container", "image", "label", "cve", "justification"):
        if name in entry and not isinstance(entry[name], str):
            raise PolicyError(f"{source}: {where}.{name}: expected a string, got {entry[name]!r}")
    expires = yaml_date(entry["expires"])
    if expires is None:
        raise PolicyError(f"{source}: {where}.expires: {entry['expires']!r} is not a date (YYYY-MM-DD)")
    return Exception_(
        control=control_id(entry["control"], f"{where}.control"),
        justification=" ".join(entry["justification"].split()),
        expires=expires,
        index=index,
        host=entry.get("host", "*"),
        container=entry.get("container"),
        image=entry.get("image"),
        label=entry.get("label"),
        cve=entry.get("cve"),
    )


def this_host() -> str:
    return socket.gethostname()
