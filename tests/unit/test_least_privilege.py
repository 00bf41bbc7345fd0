"""The toolkit's own least privilege: commands are argv lists (never a shell with interpolated
input), and the files it writes are readable by their owner only."""

import ast
import os
import stat
from pathlib import Path

import pytest

from bulkhead.report.files import write_atomically

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening"
SHELL_KEYWORDS = {"shell", "use_unsafe_shell"}
SHELL_FUNCTIONS = {"system", "popen", "getoutput", "getstatusoutput"}  # os.*, subprocess.getoutput
COMMAND_FUNCTIONS = {"run", "Popen", "call", "check_call", "check_output", "run_command"}


def python_sources() -> list[Path]:
    sources = [*(ROOT / "audits" / "bulkhead").rglob("*.py"), *(COLLECTION / "plugins").rglob("*.py")]
    for script in (COLLECTION / "roles").glob("*/files/*"):
        if script.is_file() and script.read_bytes().startswith(b"#!") and b"python" in script.read_bytes()[:80]:
            sources.append(script)
    return sorted(sources)


def _is_text_command(node: ast.expr) -> bool:
    """A command given as one string: a literal, an f-string, %-formatting, + or .format()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_text_command(node.left)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _testinfra_quoted(node: ast.Call) -> bool:
    """testinfra's ``host.run("cmd %s", value)``: a constant template whose values testinfra quotes
    for the target's shell (the only way testinfra runs anything)."""
    first = node.args[0]
    return (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and first.value.count("%s") == len(node.args) - 1 > 0
    )


def shell_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        for keyword in node.keywords:
            if keyword.arg in SHELL_KEYWORDS and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{where}: {name}(..., {keyword.arg}=...)")
        if name in SHELL_FUNCTIONS and isinstance(node.func, ast.Attribute):
            found.append(f"{where}: {name}() runs a shell")
        if name in COMMAND_FUNCTIONS and node.args and _is_text_command(node.args[0]) and not _testinfra_quoted(node):
            found.append(f"{where}: {name}() with a command string instead of an argv list")
    return found


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os, subprocess\n"
        "subprocess.run('ls ' + d, shell=True)\n"
        "os.system('id')\n"
        "module.run_command('docker inspect %s' % name)\n"
        "module.run_command(f'docker {verb}')\n"
        "subprocess.run(['docker', 'inspect', name])\n"
        "host.run('python3 -c %s', program)\n"
    )
    relative = sample.relative_to(tmp_path)
    found = [line.replace(str(tmp_path) + "/", "") for line in shell_uses_at(sample, tmp_path)]
    assert [entry.split(": ", 1)[0] for entry in found] == [
        f"{relative}:2",
        f"{relative}:2",
        f"{relative}:3",
        f"{relative}:4",
        f"{relative}:5",
    ], found


def shell_uses_at(path: Path, root: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return shell_uses(path)
    finally:
        ROOT = saved


# Each exception names its file and why the shell is not fed interpolated input.
JUSTIFIED_SHELL = {
    # testinfra's run_local, which this replaces to add a deadline, runs its command through /bin/sh:
    # the command is testinfra's own, built by backend.quote() (shlex quoting), as it always was.
    "audits/bulkhead/fleet.py": "Popen(..., shell=...)",
}


def test_no_command_goes_through_a_shell():
    sources = python_sources()
    assert len(sources) > 50
    found = [
        use
        for path in sources
        for use in shell_uses(path)
        if not use.endswith(JUSTIFIED_SHELL.get(str(path.relative_to(ROOT)), "\0"))
    ]
    assert not found, "\n".join(found)


def test_no_role_task_uses_the_shell_module():
    """Role tasks run commands with ansible.builtin.command (argv, no shell); the shell module would
    interpret any templated value."""
    found = []
    for path in sorted((COLLECTION / "roles").glob("*/tasks/*.yml")) + sorted(
        (COLLECTION / "roles").glob("*/handlers/*.yml")
    ):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip().startswith(("ansible.builtin.shell:", "shell: |", "shell: >", "ansible.builtin.raw:")):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000])
def test_reports_are_readable_by_their_owner_only_whatever_the_umask(tmp_path, umask):
    """Reports name containers, images and users: never world- or group-readable."""
    previous = os.umask(umask)
    try:
        write_atomically(tmp_path / "reports" / "r.json", "{}\n")
        (tmp_path / "old.html").write_text("old")
        write_atomically(tmp_path / "old.html", "<p>new</p>\n")
    finally:
        os.umask(previous)
    for path in (tmp_path / "reports" / "r.json", tmp_path / "old.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
