"""The containers/* parsers: the TOML reader against tomllib, positions in errors, policy checks."""

import tomllib

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.containers_config import (
    ContainersConfigError,
    TomlError,
    _TomlReader,
    check_policy,
    parse,
)

DOCUMENTS = [
    'unqualified-search-registries = ["registry.example.com"]\nshort-name-mode = "enforcing"\n',
    '# comment\n[[registry]]\nlocation = "a.example"  # trailing\ninsecure = false\n\n[[registry]]\nlocation = "b"\n'
    "blocked = true\n",
    '[containers]\ndefault_capabilities = [\n  "CHOWN",\n  "KILL", # why\n]\npids_limit = 2_048\nlog_size_max = -1\n',
    "[aliases]\n\"short\" = 'docker.io/library/short'\n[a.b]\nc.d = 1.5\ne = { f = true, g = [1, 2] }\n",
    'key = "esc \\" \\\\ \\n \\u00e9"\nempty = []\nhex = 0x1f\n',
    "m = '''\nline one\nline two'''\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_reader_agrees_with_tomllib(text):
    assert _TomlReader(text).parse() == tomllib.loads(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('short-name-mode = "enforcing\n', "line 1 column"),
        ("a = 1\nb = [1, 2\nc = 3\n", "line 3 column"),
        ("a = 1\na = 2\n", "line 2 column 1"),
        ("[containers\n", "line 1 column"),
        ("x = 1 2\n", "line 1 column 7"),
    ],
)
def test_reader_names_line_and_column(text, where):
    with pytest.raises(TomlError) as raised:
        _TomlReader(text).parse()
    assert where in str(raised.value)
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)


def test_reader_refuses_dates_rather_than_misreading_them():
    # valid TOML, but no containers/* file uses dates: say so instead of returning a wrong value
    with pytest.raises(TomlError, match="line 1 column 5: unsupported or malformed value"):
        _TomlReader("x = 1979-05-27\n").parse()


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ('{"default": [}', "json", "/x is not valid JSON (Expecting value: line 1 column 14"),
        ('a = "b', "toml", "/x is not valid TOML ("),
        ("a: [b", "yaml", "/x is not valid YAML (line"),
    ],
)
def test_parse_errors_name_file_and_position(text, fmt, expected):
    with pytest.raises(ContainersConfigError) as raised:
        parse(text, fmt, "/x")
    assert str(raised.value).startswith(expected)


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ([], "must hold a JSON object"),
        ({}, "'default' must be a non-empty list"),
        ({"default": [{"type": "reject"}], "transports": {"docker": []}}, "must map scopes"),
        ({"default": [{"type": "reject"}], "transports": {"docker": {"r": []}}}, "non-empty list"),
        ({"default": [{"type": "reject"}], "transports": {"docker": {"r": [{}]}}}, "needs a 'type'"),
        ({"default": [{"type": "reject"}], "transports": {"docker": {"r": [{"type": "signedBy"}]}}}, "exactly one"),
    ],
)
def test_check_policy_refuses(policy, problem):
    with pytest.raises(ContainersConfigError, match=problem):
        check_policy(policy, "/p")


def test_check_policy_accepts_a_sound_policy():
    check_policy(
        {
            "default": [{"type": "reject"}],
            "transports": {"docker": {"r.example": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k"}]}},
        },
        "/p",
    )
