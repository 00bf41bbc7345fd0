"""The integrity_baseline module end to end on real files (only AnsibleModule is faked): its diff is
the shared file_diff (owner and mode in the headers when they change), its write the shared
settle_file (write, or fix owner and mode in place)."""

import os

import pytest
from ansible_collections.bulkhead.hardening.plugins.modules import integrity_baseline

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the baseline is owned by root")


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = {"files": [], "registries": [], "docker_command": "docker", "update": True, "mode": "0600"}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff


@pytest.fixture
def paths(tmp_path):
    fingerprinted = tmp_path / "dockerd"
    fingerprinted.write_text("binary")
    return tmp_path / "lib" / "baseline.json", fingerprinted


def run(paths, check_mode=False, diff=True, **params):
    baseline, fingerprinted = paths
    params = {"path": str(baseline), "files": [str(fingerprinted)], **params}
    return integrity_baseline.apply(FakeModule(params, check_mode, diff))


# (step: what to do to the existing baseline first; changed; diff headers (before, after) or None for plain)
CASES = [
    ("new", None, True, None),
    ("unchanged", "keep", False, None),
    ("mode-too-open", "chmod-0644", True, ("(owner root:root, mode 0644)", "(owner root:root, mode 0600)")),
    ("content-drifted", "edit", True, None),
]


@pytest.mark.parametrize(("step", "changed", "headers"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_baseline_is_written_or_its_mode_fixed_with_the_shared_diff(paths, step, changed, headers):
    baseline, fingerprinted = paths
    if step is not None:
        run(paths)
        if step == "chmod-0644":
            baseline.chmod(0o644)
        if step == "edit":
            fingerprinted.write_text("another binary")
    before = baseline.read_text() if baseline.exists() else ""
    inode = baseline.stat().st_ino if baseline.exists() else None
    result = run(paths)
    assert result["changed"] is changed
    diff = result["diff"]
    assert diff["before"] == before and diff["after"] == baseline.read_text()
    if headers is None:
        assert (diff["before_header"], diff["after_header"]) == (str(baseline), str(baseline))
    else:
        assert (diff["before_header"], diff["after_header"]) == tuple(f"{baseline} {header}" for header in headers)
    assert baseline.stat().st_mode & 0o7777 == 0o600
    assert (baseline.stat().st_uid, baseline.stat().st_gid) == (0, 0)
    if step == "chmod-0644":
        assert baseline.stat().st_ino == inode  # the mode fixed in place, nothing rewritten
    assert baseline.parent.stat().st_mode & 0o777 == 0o755


def test_check_mode_predicts_and_writes_nothing(paths):
    baseline, _fingerprinted = paths
    result = run(paths, check_mode=True)
    assert result["changed"] and result["diff"]["before"] == "" and not baseline.parent.exists()
