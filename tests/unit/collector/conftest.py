"""A fake /proc for the collector's process facts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

IDENTITY = "0 0 4294967295"
HOST_MNT = "mnt:[4026531841]"
HOST_PID = "pid:[4026531836]"


def write_proc(root: Path, processes: list[dict[str, Any]]) -> str:
    """A /proc with cmdline, status, comm, uid_map, gid_map and ns/{mnt,pid} per process, and self/ns.

    A process is a dict: pid, argv, and optionally ppid (1), uid (0), gid (0), uid_map and gid_map
    (the identity), mnt and pidns (the host's), comm (argv[0]'s basename).
    """
    (root / "self" / "ns").mkdir(parents=True)
    (root / "self" / "ns" / "mnt").symlink_to(HOST_MNT)
    (root / "self" / "ns" / "pid").symlink_to(HOST_PID)
    for process in processes:
        directory = root / str(process["pid"])
        (directory / "ns").mkdir(parents=True)
        (directory / "cmdline").write_bytes(b"\0".join(part.encode() for part in process["argv"]) + b"\0")
        uid, gid = process.get("uid", 0), process.get("gid", 0)
        (directory / "status").write_text(
            f"Name:\tx\nPPid:\t{process.get('ppid', 1)}\nUid:\t{uid} {uid}\nGid:\t{gid} {gid}\n"
        )
        (directory / "comm").write_text(process.get("comm", Path(process["argv"][0]).name if process["argv"] else ""))
        (directory / "uid_map").write_text(process.get("uid_map", IDENTITY) + "\n")
        (directory / "gid_map").write_text(process.get("gid_map", IDENTITY) + "\n")
        (directory / "ns" / "mnt").symlink_to(process.get("mnt", HOST_MNT))
        (directory / "ns" / "pid").symlink_to(process.get("pidns", HOST_PID))
    return str(root)


@pytest.fixture
def fake_proc(tmp_path) -> Callable[[list[dict[str, Any]]], str]:
    """write_proc in a fresh directory: returns the root to hand to proc.take()."""
    counter = iter(range(1000))

    def make(processes: list[dict[str, Any]]) -> str:
        return write_proc(tmp_path / f"proc{next(counter)}", processes)

    return make
