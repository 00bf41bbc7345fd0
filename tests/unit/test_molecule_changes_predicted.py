"""molecule/shared/files/changes_predicted.py, the check-mode proofs' comparison (issue 18): pure logic
on small state and results files. A comparison that fails always says why, in its output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "molecule" / "shared" / "files" / "changes_predicted.py"
_SPEC = importlib.util.spec_from_file_location("changes_predicted", SCRIPT)
changes_predicted = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(changes_predicted)

# Enough unchanged lines for a state that host_state.py really recorded.
FILLER = [f"file\t/etc/default/f{number}\t0:0 0644 file {number:064x}" for number in range(changes_predicted.MIN_ITEMS)]
SCHEDULE = "file\t/etc/bulkhead/schedule.yml\t0:0 0600 file " + "a" * 64
PIP_FILE = "file\t/opt/bulkhead/venv/README.md\t0:0 0644 file " + "b" * 64


def write_state(path: Path, *lines: str) -> str:
    path.write_text("".join(line + "\n" for line in [*FILLER, *lines]))
    return str(path)


def write_results(path: Path, *results: dict) -> str:
    path.write_text("".join(json.dumps(result) + "\n" for result in results))
    return str(path)


def result(check: bool, changed: bool, text: str = "") -> dict:
    return {"check": check, "changed": changed, "action": "ansible.builtin.template", "result": text, "diff": ""}


def run(capsys, *argv: str) -> tuple[int, str]:
    code = changes_predicted.main(list(argv))
    return code, capsys.readouterr().out


def test_same_passes_on_identical_states_and_lists_each_difference(tmp_path, capsys):
    before = write_state(tmp_path / "before", SCHEDULE)
    assert run(capsys, "same", before, before)[0] == 0
    after = write_state(tmp_path / "after")
    code, out = run(capsys, "same", before, after)
    assert code == 1
    assert "file /etc/bulkhead/schedule.yml: 0:0 0600 file" in out and "-> (absent)" in out


def test_same_says_why_a_state_too_small_fails(tmp_path, capsys):
    small = tmp_path / "small"
    small.write_text("file\t/etc/x\t0:0 0644 dir\n")
    code, out = run(capsys, "same", str(small), str(small))
    assert code == 1
    assert "fewer than 50: the host's state was not recorded" in out


def test_predicted_passes_when_the_check_run_named_the_file(tmp_path, capsys):
    before = write_state(tmp_path / "before")
    after = write_state(tmp_path / "after", SCHEDULE)
    results = write_results(
        tmp_path / "r", result(True, True, '"dest": "/etc/bulkhead/schedule.yml"'), result(False, True)
    )
    code, out = run(capsys, "predicted", before, after, results)
    report = json.loads(out)
    assert code == 0
    assert report["failed because"] == []
    assert len(report["changes predicted by the check run"]) == 1


def test_predicted_lists_an_unnamed_change_and_says_why(tmp_path, capsys):
    before = write_state(tmp_path / "before")
    after = write_state(tmp_path / "after", SCHEDULE, PIP_FILE)
    results = write_results(tmp_path / "r", result(True, True, '"dest": "/etc/bulkhead/schedule.yml"'))
    code, out = run(capsys, "predicted", before, after, results)
    report = json.loads(out)
    assert code == 1
    assert report["changes the check run did not list"][0].startswith("file /opt/bulkhead/venv/README.md")
    assert report["failed because"] == ["1 change(s) of the real run were not listed by the check run (below)"]
    # The same file allowed (a service or pip writes it): passes, and is shown as allowed.
    code, out = run(capsys, "predicted", before, after, results, "--allow=/opt/bulkhead/venv/README.md")
    assert code == 0
    assert len(json.loads(out)["changes allowed (a service writes them)"]) == 1


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        # The check run reported nothing changed (run after converge, or not in check mode).
        ([result(True, False, '"/etc/bulkhead/schedule.yml"')], "the check run reported no changed result"),
        # The real run changed nothing the check run could have named.
        ([result(True, True, '"/etc/other"')], None),
    ],
)
def test_predicted_never_fails_with_an_empty_list_of_reasons(tmp_path, capsys, results, expected):
    before = write_state(tmp_path / "before")
    after = write_state(tmp_path / "after", *([] if expected is None else [SCHEDULE]))
    code, out = run(capsys, "predicted", before, after, write_results(tmp_path / "r", *results))
    report = json.loads(out)
    assert code == 1
    assert report["failed because"], out
    expected = expected or "no change of the real run was predicted"
    assert any(reason.startswith(expected) for reason in report["failed because"]), out


def test_a_missing_input_is_named_exit_2(tmp_path, capsys):
    before = write_state(tmp_path / "before")
    code, out = run(capsys, "predicted", before, str(tmp_path / "state-after-converge.txt"), before)
    assert code == 2
    assert "cannot read the input" in out and "state-after-converge.txt" in out
    (tmp_path / "r").write_text("{not json\n")
    code, out = run(capsys, "predicted", before, before, str(tmp_path / "r"))
    assert code == 2
    assert "JSONDecodeError" in out


def test_companions_and_directory_copies_count_as_named():
    text = '"dest": "/opt/bulkhead/wheels/deps/"\n"dest": "/etc/docker/daemon.json"'
    assert changes_predicted.named("file", "/opt/bulkhead/wheels/deps/x.whl", text)
    assert changes_predicted.named("file", "/etc/docker/daemon.json.20261130T064500.bak", text)
    assert not changes_predicted.named("file", "/opt/bulkhead/venv/README.md", text)
