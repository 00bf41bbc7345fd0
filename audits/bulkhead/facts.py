"""A host's facts as the collector reported them: what every check reads, and nothing else.

Each fact is ``{"value": ...}`` or ``{"error": "why it could not be read"}``. Reading a fact that
is an error raises FactUnavailable, which makes the control an error, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FactUnavailable(Exception):
    """A fact the check needs could not be read: the control is an error, never a pass."""


@dataclass
class HostState:
    host: str
    facts: dict[str, dict[str, Any]]
    seconds: float = 0.0
    collection_error: str | None = None

    def fact(self, name: str) -> Any:
        if self.collection_error:
            raise FactUnavailable(self.collection_error)
        entry = self.facts.get(name)
        if entry is None:
            raise FactUnavailable(f"the collector did not report {name!r}")
        if "error" in entry:
            raise FactUnavailable(f"{name}: {entry['error']}")
        return entry["value"]


class NotApplicable(Exception):
    """The control does not apply on this host; the message says why (no running containers, no AppArmor)."""
