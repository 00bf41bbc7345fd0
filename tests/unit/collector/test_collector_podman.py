"""collector/podman.py: the /etc/containers facts on real files in a temporary directory, read by the checks."""

import pytest

from bulkhead.checks.podman_config import containers_conf, registries_conf
from bulkhead.collector import podman
from bulkhead.collector.facts import fact
from bulkhead.facts import FactUnavailable, HostState


def collected(*names: str) -> HostState:
    """A HostState holding what the collector reports, here, for the named facts."""
    return HostState("test", {name: fact(getattr(podman, name)) for name in names})


@pytest.fixture
def etc(tmp_path, monkeypatch):
    directory = tmp_path / "containers"
    directory.mkdir()
    monkeypatch.setattr(podman, "CONTAINERS_DIR", str(directory))
    return directory


def test_a_malformed_policy_is_an_error_naming_file_and_position(etc):
    (etc / "policy.json").write_text('{\n  "default": [\n    {"type": "reject"},,\n  ]\n}\n')
    result = fact(podman.containers_policy)
    assert result["error"].startswith(f"{etc}/policy.json is not valid JSON")
    assert "line 3 column" in result["error"]


def test_a_missing_policy_is_reported_as_missing(etc):
    value = fact(podman.containers_policy)["value"]
    assert value["exists"] is False and "tools" in value


def test_registries_conf_drop_ins_override_the_main_file(etc):
    (etc / "registries.conf").write_text(
        'short-name-mode = "permissive"\nunqualified-search-registries = ["a.example"]\n'
        '[[registry]]\nlocation = "a.example"\n'
    )
    (etc / "registries.conf.d").mkdir()
    (etc / "registries.conf.d" / "50-site.conf").write_text('short-name-mode = "enforcing"\n')
    conf = registries_conf(collected("containers_registries_conf"))
    assert conf.settings == {"short-name-mode": "enforcing", "unqualified-search-registries": ["a.example"]}
    assert conf.registries == [{"location": "a.example"}]
    assert len(conf.files) == 2


def test_a_malformed_registries_conf_is_an_error_naming_file_and_line(etc):
    (etc / "registries.conf").write_text('a = 1\nshort-name-mode = "enforcing\n')
    with pytest.raises(FactUnavailable) as raised:
        registries_conf(collected("containers_registries_conf"))
    assert str(raised.value).startswith(f"{etc}/registries.conf is not valid TOML")
    assert "line 2" in str(raised.value)


def test_aliases_are_collected_with_their_file(etc):
    (etc / "registries.conf.d").mkdir()
    (etc / "registries.conf.d" / "shortnames.conf").write_text('[aliases]\n"busybox" = "docker.io/library/busybox"\n')
    assert registries_conf(collected("containers_registries_conf")).aliases == {
        "busybox": {"target": "docker.io/library/busybox", "file": f"{etc}/registries.conf.d/shortnames.conf"}
    }


def test_containers_conf_drop_ins_override_the_main_file(etc):
    (etc / "containers.conf").write_text("[containers]\npids_limit = 100\nno_new_privileges = true\n")
    (etc / "containers.conf.d").mkdir()
    (etc / "containers.conf.d" / "50-site.conf").write_text("[containers]\npids_limit = 2048\n")
    conf = containers_conf(collected("containers_conf"))
    assert conf.containers["pids_limit"] == 2048
    assert conf.containers["no_new_privileges"] is True
