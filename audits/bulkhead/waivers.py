"""Waivers: accepted findings, each with a justification and an expiry date.

A waivers file (YAML) holds a list, or ``{waivers: [...]}``, of entries::

    - control: "5.10"              # required, a catalogue ID
      host: "web-*"                # host name pattern (fnmatch), default "*"
      group: webservers            # or an Ansible inventory group (needs --inventory)
      container: "legacy-*"        # container, image or network name pattern, default: any finding
      cve: CVE-2024-1234           # only findings naming this vulnerability ID (BH-4.18)
      justification: Vendor image, limits set by the orchestrator (TICKET-123)
      expires: 2027-03-31          # required; from that day on the waiver stops waiving

A waived finding is reported as waived with its justification; once every finding of a control on
a host is waived the control is WAIVED. An expired waiver waives nothing and says so in the
report. A waiver for a control that is not in the catalogue is an error.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bulkhead.catalogue import Catalogue
from bulkhead.results import Outcome, ResultBook
from bulkhead.yamlfile import read_yaml, yaml_date

# Findings name their object first: "container web: ...", "image nginx:1.25: ...", and in section 8
# as the subject of a sentence: "network shop-net allows ...", "container pay-api bridges zones ...".
_OBJECT = re.compile(
    r"^(?:container|image|overlay network|network) (?P<name>[^\s:\[]+(?::[^\s:\[]+)?)(?: \[[^\]]*\])?(?::| )"
)
_FIELDS = {"control", "host", "group", "container", "cve", "justification", "expires"}


class WaiverError(ValueError):
    """The waivers file is malformed or names an unknown control."""


@dataclass(frozen=True)
class Waiver:
    control: str
    justification: str
    expires: date
    host: str = "*"
    group: str | None = None
    container: str | None = None
    cve: str | None = None
    index: int = 0

    def label(self) -> str:
        where = f"group {self.group}" if self.group else f"host {self.host}"
        what = f", container {self.container}" if self.container else ""
        what += f", {self.cve}" if self.cve else ""
        return f"waiver #{self.index} ({self.control}, {where}{what})"

    def covers_host(self, host: str, groups: set[str]) -> bool:
        if self.group is not None:
            return self.group in groups
        return fnmatch.fnmatchcase(host, self.host)

    def covers_finding(self, finding: str) -> bool:
        if self.cve is not None and not re.search(rf"(?<![\w-]){re.escape(self.cve)}(?![\w-])", finding, re.IGNORECASE):
            return False
        if self.container is None:
            return True
        match = _OBJECT.match(finding)
        return bool(match) and fnmatch.fnmatchcase(match.group("name"), self.container)


def load_waivers(path: Path, catalogue: Catalogue) -> list[Waiver]:
    document = read_yaml(path, WaiverError)
    if isinstance(document, dict) and set(document) == {"waivers"}:
        document = document["waivers"]
    if document is None:
        return []
    if not isinstance(document, list):
        raise WaiverError(f"{path}: expected a list of waivers (or a mapping with key 'waivers')")
    return [_parse(path, index, entry, catalogue) for index, entry in enumerate(document, start=1)]


def _parse(path: Path, index: int, entry: Any, catalogue: Catalogue) -> Waiver:
    label = f"{path}: waiver #{index}"
    if not isinstance(entry, dict):
        raise WaiverError(f"{label}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise WaiverError(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("control", "justification", "expires"):
        if entry.get(name) in (None, ""):
            raise WaiverError(f"{label}: missing field {name!r}")
    control = str(entry["control"])
    if control not in catalogue:
        raise WaiverError(f"{label}: control {control!r} is not in the catalogue")
    expires = yaml_date(entry["expires"])
    if expires is None:
        raise WaiverError(f"{label}: expires {entry['expires']!r} is not a date (YYYY-MM-DD)")
    if "host" in entry and "group" in entry:
        raise WaiverError(f"{label}: give a host pattern or a group, not both")
    for name in ("host", "group", "container", "cve", "justification"):
        if name in entry and not isinstance(entry[name], str):
            raise WaiverError(f"{label}: {name} must be a string, got {entry[name]!r}")
    return Waiver(
        control=control,
        justification=" ".join(entry["justification"].split()),
        expires=expires,
        host=entry.get("host", "*"),
        group=entry.get("group"),
        container=entry.get("container"),
        cve=entry.get("cve"),
        index=index,
    )


def apply_waivers(
    book: ResultBook,
    waivers: list[Waiver],
    host_groups: Mapping[str, set[str]] | None = None,
    today: date | None = None,
) -> list[str]:
    """Waive matching findings in ``book``; returns one line per expired waiver that matched."""
    today = today or date.today()
    expired_notes: list[str] = []
    for host, by_control in book.hosts.items():
        groups = (host_groups or {}).get(host, set())
        for result in by_control.values():
            if Outcome.FAIL not in result.outcomes:
                continue
            candidates = [w for w in waivers if w.control == result.control_id and w.covers_host(host, groups)]
            for finding in list(result.findings):
                for waiver in candidates:
                    if not waiver.covers_finding(finding):
                        continue
                    if waiver.expires <= today:
                        note = (
                            f"{waiver.label()} expired on {waiver.expires.isoformat()} and no longer waives: {finding}"
                        )
                        if note not in result.notes:
                            result.notes.append(note)
                            expired_notes.append(f"{host}: {note}")
                        continue
                    result.waive(finding, f"{waiver.justification}; until {waiver.expires.isoformat()}")
                    break
    return expired_notes
