"""Every bad input of the command line is one line on stderr and exit code 2, in the user's flag names."""

import json
import subprocess
import sys

import pytest

from bulkhead import __version__
from bulkhead.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.yml").write_text("")
    (tmp_path / "broken.yml").write_text("all: [\n")
    (tmp_path / "unknown-setting.yml").write_text("max_image_age: 3\n")
    (tmp_path / "waivers.yml").write_text("- control: '2.2'\n  justification: x\n")
    (tmp_path / "bad-control-waivers.yml").write_text("- control: '9.99'\n  justification: x\n  expires: 2030-01-01\n")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--hosts", "foo://x"], "--hosts foo://x: unknown backend 'foo'"),
        (["--hosts", "web-1"], "--hosts web-1: a host spec without a backend uses paramiko"),
        (["--hosts", "ansible://all"], "--hosts ansible://all: ansible:// hosts need --inventory"),
        (["--connection", "telnet"], "--connection telnet: unknown backend"),
        (["--controls", "9.99"], "--controls: unknown control(s) 9.99"),
        (["--exclude-controls", "2.2,9.99"], "--exclude-controls: unknown control(s) 9.99"),
        (["--sections", "42"], "--sections: unknown section(s) 42"),
        (["--exclude-sections", "0"], "--exclude-sections: unknown section(s) 0"),
        (["--inventory", "{d}/empty.yml"], "--inventory {d}/empty.yml: no host in it"),
        (["--inventory", "{d}/broken.yml"], "--inventory {d}/broken.yml: not an inventory: "),
        (["--inventory", "{d}/missing.yml"], "--inventory {d}/missing.yml: no such file"),
        (["--config", "{d}/broken.yml"], "--config {d}/broken.yml: not valid YAML"),
        (["--config", "{d}/unknown-setting.yml"], "--config {d}/unknown-setting.yml: unknown setting 'max_image_age'"),
        (["--waivers", "{d}/waivers.yml"], "--waivers {d}/waivers.yml: waiver #1: missing field"),
        (["--waivers", "{d}/bad-control-waivers.yml"], "--waivers {d}/bad-control-waivers.yml: "),
        (["--waivers", "{d}/missing.yml"], "--waivers {d}/missing.yml: no such file"),
    ],
)
def test_bad_audit_input_is_one_line_and_exit_2(capsys, files, argv, expected):
    argv = [argument.format(d=files) for argument in argv]
    code, out, err = run(capsys, "audit", *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"bulkhead: {expected.format(d=files)}"), err
    assert "--bulkhead-" not in err  # never the plugin's internal option names
    assert len(err) < 400


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["{d}/missing.json", "{d}/missing.json"], "{d}/missing.json: no such file"),
        (["{d}/broken.yml", "{d}/broken.yml"], "{d}/broken.yml: not JSON"),
        (["{d}/list.json", "{d}/list.json"], "{d}/list.json: not a bulkhead JSON report"),
        (["{d}/list.json"], "compare takes two JSON reports"),
    ],
)
def test_compare_bad_files_are_one_line_and_exit_2(capsys, files, argv, expected):
    (files / "list.json").write_text(json.dumps([1, 2]))
    code, out, err = run(capsys, "compare", *[argument.format(d=files) for argument in argv])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"bulkhead compare: {expected.format(d=files)}"), err


def test_version_and_python_dash_m(tmp_path):
    for command in (["bulkhead", "--version"], [sys.executable, "-m", "bulkhead", "--version"]):
        if command[0] == "bulkhead":
            command[0] = str(__import__("pathlib").Path(sys.executable).parent / "bulkhead")
        completed = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.strip() == f"bulkhead {__version__}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "--fail-on", "bogus"], "bulkhead audit: argument --fail-on: invalid choice: 'bogus'"),
        (["audit", "--parallel", "x"], "bulkhead audit: argument -n/--parallel: invalid int value: 'x'"),
        (["audit", "--no-such-flag"], "bulkhead: unrecognized arguments: --no-such-flag"),
        (["no-such-command"], "bulkhead: argument command: invalid choice: 'no-such-command'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, argv, expected):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and err.startswith(expected), err
