"""The containers_config module end to end on real files (only AnsibleModule is faked)."""

import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.containers_config import ContainersConfigError
from ansible_collections.bulkhead.hardening.plugins.modules import containers_config

POLICY = '{\n    "default": [\n        {\n            "type": "reject"\n        }\n    ]\n}\n'


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = {
            "format": "json",
            "policy": True,
            "on_malformed": "fail",
            "backup": True,
            "owner": str(os.getuid()),
            "group": str(os.getgid()),
            "mode": "0644",
        } | params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def preserved_copy(self, src, dest):
        shutil.copy2(src, dest)

    def warn(self, message):
        self.warnings.append(message)


def run(path, check_mode=False, diff=False, **params):
    module = FakeModule({"path": str(path), "content": POLICY} | params, check_mode, diff)
    return containers_config.apply(module), module


def test_creates_then_changes_nothing(tmp_path):
    path = tmp_path / "policy.json"
    result, _module = run(path)
    assert result["changed"] and path.read_text() == POLICY
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    again, _module = run(path)
    assert not again["changed"]


def test_check_mode_predicts_and_writes_nothing(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    path.chmod(0o644)
    result, _module = run(path, check_mode=True, diff=True)
    assert result["changed"]
    assert result["diff"]["after"] == POLICY
    assert "insecureAcceptAnything" in path.read_text()


def test_a_malformed_file_fails_naming_file_and_position_and_stays(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{\n  "default": [\n    {"type": "reject"},,\n  ]\n}\n')
    with pytest.raises(ContainersConfigError) as raised:
        run(path)
    assert f"{path} is not valid JSON" in str(raised.value)
    assert "line 3 column" in str(raised.value)
    assert ",," in path.read_text()
    assert list(tmp_path.iterdir()) == [path]


def test_a_malformed_file_is_backed_up_when_asked(tmp_path):
    path = tmp_path / "registries.conf"
    path.write_text('short-name-mode = "enforcing\n')
    content = 'short-name-mode = "enforcing"\n'
    result, module = run(path, content=content, format="toml", policy=False, on_malformed="backup")
    assert result["changed"] and "line 1" in result["malformed"]
    assert module.warnings and str(path) in module.warnings[0]
    assert path.read_text() == content
    assert Path(result["backup_file"]).read_text() == 'short-name-mode = "enforcing\n'


@pytest.mark.parametrize(
    ("content", "fmt", "policy", "problem"),
    [
        ('{"default": [', "json", False, "the new content for .* is not valid JSON"),
        ('{"default": [{"type": "signedBy"}]}', "json", True, None),
        ("a = [1,\n", "toml", False, "is not valid TOML"),
    ],
)
def test_invalid_new_content_is_refused_before_anything_changes(tmp_path, content, fmt, policy, problem):
    path = tmp_path / "f"
    if problem is None:
        # a signature requirement in the default is allowed by containers/image; only keys are checked per scope
        run(path, content=content, format=fmt, policy=policy)
        return
    with pytest.raises(ContainersConfigError, match=problem):
        run(path, content=content, format=fmt, policy=policy)
    assert not path.exists()


def test_a_policy_scope_without_a_key_is_refused(tmp_path):
    content = '{"default": [{"type": "reject"}], "transports": {"docker": {"r": [{"type": "sigstoreSigned"}]}}}'
    with pytest.raises(ContainersConfigError, match="exactly one of keyPath"):
        run(tmp_path / "policy.json", content=content)


def test_mode_is_tightened_without_rewriting(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(POLICY)
    path.chmod(0o666)
    result, _module = run(path)
    assert result["changed"] and "backup_file" not in result
    assert oct(path.stat().st_mode & 0o777) == "0o644"
