"""The catalogue loader refuses every malformed entry with the file, the entry and the problem."""

from pathlib import Path

import pytest
import yaml

from bulkhead.catalogue import CatalogueError, load_catalogue

GOOD_ENTRY = {
    "id": "2.2",
    "title": "Restrict network traffic between containers",
    "severity": "medium",
    "level": 1,
    "rationale": "Containers should not reach each other by default.",
    "remediation": "docker_engine_icc",
    "references": {"cis_docker": "2.2"},
}


def write_section(directory: Path, entries, name="2-daemon.yml", section="2") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"section": section, "title": "Daemon", "controls": entries}))
    return path


def test_the_shipped_catalogue_loads():
    catalogue = load_catalogue()
    assert "2.2" in catalogue
    assert catalogue["2.2"].tag == "cis_2.2"


def test_a_good_entry_loads(tmp_path):
    write_section(tmp_path, [GOOD_ENTRY])
    control = load_catalogue(tmp_path)["2.2"]
    assert (control.section, control.severity, control.cis_id) == ("2", "medium", "2.2")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "missing field 'id'"),
        ({"title": None}, "missing field 'title'"),
        ({"severity": "urgent"}, "severity 'urgent' is not one of low, medium, high, critical"),
        ({"level": 3}, "level 3 is not one of 1, 2"),
        ({"level": True}, "field 'level' must be an integer"),
        ({"rationale": "  "}, "rationale is empty"),
        ({"remediation": "Not A Variable"}, "must be a role variable name or 'audit_only'"),
        ({"references": {}}, "references is empty"),
        ({"references": {"practice": "x"}}, "needs references.cis_docker: '2.2'"),
        ({"id": "two"}, "must be a CIS ID like '2.2'"),
        ({"id": "3.1", "references": {"cis_docker": "3.1"}}, "does not belong to section '2'"),
        ({"owner": "me"}, "unknown field(s) owner"),
    ],
)
def test_a_malformed_entry_names_file_entry_and_problem(tmp_path, change, message):
    entry = {key: value for key, value in (GOOD_ENTRY | change).items() if value is not None}
    path = write_section(tmp_path, [entry])
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(tmp_path)
    text = str(raised.value)
    assert str(path) in text
    assert message in text
    label = f"control {entry['id']!r}" if "id" in entry else "entry #1"
    assert label in text


def test_a_duplicate_id_names_both_files(tmp_path):
    first = write_section(tmp_path, [GOOD_ENTRY], name="2-a.yml")
    second = write_section(tmp_path, [GOOD_ENTRY], name="2-b.yml")
    with pytest.raises(CatalogueError, match="duplicate ID") as raised:
        load_catalogue(tmp_path)
    assert str(first) in str(raised.value)
    assert str(second) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("controls: [", "not valid YAML"),
        ("- a list", "expected a mapping"),
        ("section: '2'\ntitle: Daemon\n", "missing top-level key 'controls'"),
        ("section: '2'\ntitle: Daemon\ncontrols: []\n", "'controls' must be a non-empty list"),
        ("section: '2'\ntitle: Daemon\ncontrols: [just-a-string]\n", "entry #1: expected a mapping"),
    ],
)
def test_a_malformed_file_is_refused(tmp_path, text, message):
    (tmp_path / "2-daemon.yml").write_text(text)
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(tmp_path)


def test_an_empty_catalogue_directory_is_refused(tmp_path):
    with pytest.raises(CatalogueError, match="no catalogue files"):
        load_catalogue(tmp_path)
