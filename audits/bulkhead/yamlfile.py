"""Reading the YAML files a user hands us (settings, waivers, schedules): one line per problem."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """The document in ``path``; a missing, unreadable or malformed file raises ``error`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read: {getattr(problem, 'strerror', None) or problem}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {' '.join(str(problem).split())}") from None


def yaml_date(value: object) -> date | None:
    """A date as YAML gives it (unquoted 2027-03-31) or as a YYYY-MM-DD string; None for anything else."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None
