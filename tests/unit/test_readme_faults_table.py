"""README's "Faults and bad input" table names tests: each one exists (so the table cannot promise a
proof that was renamed away)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTION_TESTS = "collections/ansible_collections/bulkhead/hardening/tests/unit"


def faults_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Faults and bad input", 1)[1].split("\n## ", 1)[0]


def named_tests() -> list[tuple[str, str | None]]:
    """(file, test or None) for every `path[::test]` and `::test` (same file as the one before)."""
    found: list[tuple[str, str | None]] = []
    current = None
    for reference in re.findall(r"`([^`\s]*(?:\.py|\.yml)(?:::\w+)?|::\w+)`", faults_section()):
        path, _, test = reference.partition("::")
        if path:
            current = path.replace("CU/", f"{COLLECTION_TESTS}/", 1)
        assert current is not None, reference
        found.append((current, test or None))
    return found


def test_the_table_names_tests():
    assert len(named_tests()) > 30


def test_every_test_the_table_names_exists():
    missing = []
    for path, test in named_tests():
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif test and not re.search(rf"^def {test}\(", file.read_text(), re.MULTILINE):
            missing.append(f"{path}::{test}")
    assert not missing, missing
