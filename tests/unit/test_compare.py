"""`bulkhead compare`: the before/after table the demo prints, with fixed and regressed controls,
followed by the drift (tests/unit/test_drift.py); a regression is a new failure: exit code 1."""

import json

from bulkhead.cli import main


def report(path, outcomes):
    controls = [
        {"id": control_id, "title": f"title {control_id}", "outcome": outcome} for control_id, outcome in outcomes
    ]
    path.write_text(json.dumps({"hosts": {"web-1": {"controls": controls}}}))
    return str(path)


def test_compare_marks_fixed_and_regressed_controls_and_counts(tmp_path, capsys):
    before = report(tmp_path / "before.json", [("2.2", "fail"), ("2.3", "pass"), ("BH-4.16", "error")])
    after = report(tmp_path / "after.json", [("2.2", "pass"), ("2.3", "fail"), ("BH-4.16", "pass")])
    assert main(["compare", before, after]) == 1
    lines = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert lines[0] == "web-1"
    assert [line.split()[0] for line in lines[2:5]] == ["2.2", "2.3", "BH-4.16"]
    assert lines[2].endswith("fixed") and lines[3].endswith("REGRESSED") and lines[4].endswith("fixed")
    assert lines[-3] == "before  1 pass, 1 fail, 1 error, 0 not_applicable, 0 waived"
    assert lines[-2] == "after   2 pass, 1 fail, 0 error, 0 not_applicable, 0 waived"
    assert lines[-1] == "2 control(s) fixed, 1 regressed"
