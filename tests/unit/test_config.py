import pytest

from bulkhead.config import ConfigError, load_config


def test_no_file_gives_the_declared_defaults():
    assert load_config(None).get("docker_group_allowlist") == []


def test_values_from_the_file(tmp_path):
    path = tmp_path / "audit.yml"
    path.write_text("docker_group_allowlist: [alice]\n")
    assert load_config(path).get("docker_group_allowlist") == ["alice"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("docker_group_alowlist: [alice]\n", "unknown setting 'docker_group_alowlist'"),
        ("docker_group_allowlist: alice\n", "setting 'docker_group_allowlist' must be a list"),
        ("- alice\n", "expected a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "audit.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.yml: no such file"):
        load_config(tmp_path / "absent.yml")
