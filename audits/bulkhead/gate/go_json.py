"""Request bodies read the way dockerd reads them: Go's encoding/json, not Python's.

Go fills a struct field from a JSON key that matches its name case-insensitively (``privileged``
sets ``Privileged``), the last key for a field winning, and ignores other keys. A gate that read
exact keys only would let ``{"hostconfig": {"privileged": true}}`` through, so every object that
dockerd decodes into a struct is folded onto its field names here before anything reads it. Maps
(labels, port bindings, endpoints) keep their keys: those are data, not field names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


class RequestError(ValueError):
    """A request the gate must judge but cannot read (the gate refuses it)."""


class _Pairs(dict):  # type: ignore[type-arg]
    """A JSON object that remembers every key in order, duplicates included (Go reads them all)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def loads(raw: bytes) -> Any:
    return json.loads(raw, object_pairs_hook=_Pairs)


def fold(value: Any, fields: Iterable[str], what: str) -> dict[str, Any]:
    """``value`` as Go decodes it into a struct with these field names: {field: value} for the keys
    that name a field in any case (the last one winning), other keys dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(f"{what} is not a JSON object")
    by_folded = {name.casefold(): name for name in fields}
    pairs = value.pairs if isinstance(value, _Pairs) else list(value.items())
    folded: dict[str, Any] = {}
    for key, item in pairs:
        name = by_folded.get(str(key).casefold())
        if name is not None:
            folded[name] = item
    return folded


def mapping(value: Any, what: str) -> dict[str, Any]:
    """A JSON object decoded into a Go map: keys as they are (duplicates: the last wins)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(f"{what} is not a JSON object")
    return dict(value.pairs if isinstance(value, _Pairs) else value)


def strings(value: Any, what: str) -> list[Any]:
    """A JSON list decoded into a Go slice (null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(f"{what} is not a JSON list")
    return value


def str_slice(value: Any, what: str) -> list[str] | None:
    """Docker's StrSlice (CapAdd, CapDrop): a list of strings, or one string."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(item) for item in strings(value, what)]
