"""molecule/shared/files/host_state.py, the state the check-mode proofs compare (issue 18): a path
given by itself is recorded whatever it is, so that the engines' sockets (CIS 3.15, 3.16, 3.23,
3.24) have their owner and mode compared before and after a check run."""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "molecule" / "shared" / "files" / "host_state.py"
_SPEC = importlib.util.spec_from_file_location("host_state", SCRIPT)
host_state = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(host_state)


def test_a_socket_given_as_a_path_is_recorded_with_its_owner_and_mode(tmp_path):
    path = tmp_path / "containerd.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        os.chmod(path, 0o666)
        lines = list(host_state.files([str(path)]))
    assert lines == [f"file\t{path}\t{os.getuid()}:{os.getgid()} 0666 socket"]


def test_files_links_and_directories_are_recorded_once(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "file").write_text("x")
    os.symlink("dir/file", tmp_path / "link")
    lines = list(host_state.files([str(tmp_path / "dir"), str(tmp_path / "dir" / "file"), str(tmp_path / "link")]))
    assert [line.split("\t")[1] for line in lines] == [
        str(tmp_path / "dir"),
        str(tmp_path / "dir" / "file"),
        str(tmp_path / "link"),
    ]
    assert lines[2].endswith(" link dir/file")


def test_a_missing_path_is_left_out(tmp_path):
    assert list(host_state.files([str(tmp_path / "absent.sock")])) == []
