"""The control catalogue: one YAML file per section under ``bulkhead/controls``.

Every other artefact (task names and tags, pytest markers, report properties, the docs table)
derives from the entries loaded here, so the loader is strict: a malformed or duplicate entry
raises ``CatalogueError`` naming the file, the entry and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_DIR = Path(__file__).parent / "controls"
# libyaml's safe loader when PyYAML has it: the catalogue is parsed on every audit start.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = (1, 2)
AUDIT_ONLY = "audit_only"

# CIS IDs look like "2.2" or "1.1.3"; our own controls are "BH-<section>.<n>".
_ID_PATTERN = re.compile(r"^(\d+(\.\d+)+|BH-\d+(\.\d+)+)$")
_VARIABLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

_REQUIRED_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "id": str,
    "title": str,
    "severity": str,
    "level": int,
    "rationale": str,
    "remediation": str,
    "references": dict,
}
_OPTIONAL_FIELDS: Mapping[str, type | tuple[type, ...]] = {}


class CatalogueError(ValueError):
    """A catalogue file or entry is malformed."""


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    section: str
    section_title: str
    severity: str
    level: int
    rationale: str
    remediation: str
    references: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def is_audit_only(self) -> bool:
        return self.remediation == AUDIT_ONLY

    @property
    def cis_id(self) -> str | None:
        value = self.references.get("cis_docker")
        return str(value) if value is not None else None

    @property
    def tag(self) -> str:
        """The Ansible tag that selects this control's tasks: ``cis_2.2`` or ``bh_4.1``."""
        if self.id.startswith("BH-"):
            return "bh_" + self.id.removeprefix("BH-")
        return "cis_" + self.id

    def references_text(self) -> str:
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in self.references.items())


def _flatten(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class Catalogue:
    """Controls by ID, in file order."""

    def __init__(self, controls: Iterable[Control]):
        self._controls: dict[str, Control] = {}
        for control in controls:
            self._controls[control.id] = control

    def __contains__(self, control_id: object) -> bool:
        return control_id in self._controls

    def __getitem__(self, control_id: str) -> Control:
        return self._controls[control_id]

    def __iter__(self):
        return iter(self._controls.values())

    def __len__(self) -> int:
        return len(self._controls)

    def get(self, control_id: str) -> Control | None:
        return self._controls.get(control_id)

    def sections(self) -> dict[str, str]:
        return {control.section: control.section_title for control in self}


# Per process, by the files' names, sizes and modification times: an audit reads the catalogue
# both to check its options and in its pytest session, and Catalogue and Control never change.
_loaded: dict[tuple[str, tuple[tuple[str, int, int], ...]], Catalogue] = {}


def load_catalogue(directory: Path = CATALOGUE_DIR) -> Catalogue:
    files = sorted(directory.glob("*.yml"), key=_section_sort_key)
    signature = tuple((path.name, path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    key = (str(directory), signature)
    if key not in _loaded:
        _loaded[key] = _load_files(directory, files)
    return _loaded[key]


def _load_files(directory: Path, files: list[Path]) -> Catalogue:
    if not files:
        raise CatalogueError(f"{directory}: no catalogue files (*.yml)")
    controls: list[Control] = []
    seen: dict[str, str] = {}
    for path in files:
        for control in _load_file(path):
            if control.id in seen:
                raise CatalogueError(
                    f"{path}: control {control.id!r}: duplicate ID, already defined in {seen[control.id]}"
                )
            seen[control.id] = str(path)
            controls.append(control)
    return Catalogue(controls)


def _section_sort_key(path: Path) -> tuple[int, str]:
    prefix = path.name.split("-", 1)[0]
    return (int(prefix) if prefix.isdigit() else 1000, path.name)


def _load_file(path: Path) -> list[Control]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise CatalogueError(f"{path}: expected a mapping with section, title and controls")
    for key in ("section", "title", "controls"):
        if key not in document:
            raise CatalogueError(f"{path}: missing top-level key {key!r}")
    section = str(document["section"])
    section_title = document["title"]
    entries = document["controls"]
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: 'controls' must be a non-empty list")
    return [_parse_entry(path, index, entry, section, section_title) for index, entry in enumerate(entries)]


def _parse_entry(path: Path, index: int, entry: Any, section: str, section_title: str) -> Control:
    label = f"{path}: entry #{index + 1}"
    if not isinstance(entry, dict):
        raise CatalogueError(f"{label}: expected a mapping, got {type(entry).__name__}")
    if isinstance(entry.get("id"), str):
        label = f"{path}: control {entry['id']!r}"

    def problem(message: str) -> CatalogueError:
        return CatalogueError(f"{label}: {message}")

    for name, expected in _REQUIRED_FIELDS.items():
        if name not in entry:
            raise problem(f"missing field {name!r}")
        if not isinstance(entry[name], expected) or isinstance(entry[name], bool):
            raise problem(f"field {name!r} must be {_type_name(expected)}, got {entry[name]!r}")
    for name, expected in _OPTIONAL_FIELDS.items():
        if name in entry and not isinstance(entry[name], expected):
            raise problem(f"field {name!r} must be {_type_name(expected)}, got {entry[name]!r}")
    unknown = set(entry) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS)
    if unknown:
        raise problem(f"unknown field(s) {', '.join(sorted(unknown))}")

    control_id = entry["id"]
    if not _ID_PATTERN.match(control_id):
        raise problem(f"id {control_id!r} must be a CIS ID like '2.2' or our own like 'BH-4.1'")
    if not control_id.startswith(("BH-" + section + ".", section + ".")):
        raise problem(f"id {control_id!r} does not belong to section {section!r} of this file")
    if not entry["title"].strip():
        raise problem("title is empty")
    if not entry["rationale"].strip():
        raise problem("rationale is empty")
    if entry["severity"] not in SEVERITIES:
        raise problem(f"severity {entry['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if entry["level"] not in LEVELS:
        raise problem(f"level {entry['level']!r} is not one of {', '.join(map(str, LEVELS))}")
    remediation = entry["remediation"]
    if remediation != AUDIT_ONLY and not _VARIABLE_PATTERN.match(remediation):
        raise problem(f"remediation {remediation!r} must be a role variable name or {AUDIT_ONLY!r}")
    references = entry["references"]
    if not references:
        raise problem("references is empty: name the CIS ID or the practice this control serves")
    if control_id[0].isdigit() and str(references.get("cis_docker")) != control_id:
        raise problem(f"a CIS-numbered control needs references.cis_docker: {control_id!r}")

    return Control(
        id=control_id,
        title=entry["title"].strip(),
        section=section,
        section_title=section_title,
        severity=entry["severity"],
        level=entry["level"],
        rationale=" ".join(entry["rationale"].split()),
        remediation=remediation,
        references=references,
        source=str(path),
    )


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", dict: "a mapping", list: "a list"}
    if isinstance(expected, tuple):
        return " or ".join(names.get(item, item.__name__) for item in expected)
    return names.get(expected, expected.__name__)
