"""Recorded authorization requests (tests/data/authz, made by scripts/record-authz-fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bulkhead.gate.request import AuthzRequest

AUTHZ = Path(__file__).resolve().parents[2] / "data" / "authz"


def message(case: str) -> dict[str, Any]:
    return json.loads((AUTHZ / f"{case}.json").read_text())


def request(case: str) -> AuthzRequest:
    return AuthzRequest.from_message(message(case))


def inspected(case: str) -> dict[str, Any]:
    """``docker inspect`` of the container the request created, never started (env values removed)."""
    return json.loads((AUTHZ / "inspect" / f"{case}.json").read_text())


def cases(prefix: str) -> list[str]:
    return sorted(path.stem for path in AUTHZ.glob(f"{prefix}*.json"))
