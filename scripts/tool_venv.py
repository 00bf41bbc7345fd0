"""Tools that tests and `make ee-context` run but the project's venv must not hold (galaxy-importer pins
old attrs and flake8): each in a venv of its own under /tmp/bulkhead-tools, built once per content of its
pinned requirements file (tests/tools/NAME.txt) and reused by every later run, concurrent sessions included.

    python scripts/tool_venv.py galaxy-tools     prints the venv's directory (building it when missing)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORED = ("PYTHONPATH", "VIRTUAL_ENV")  # nothing of the calling environment may leak into the venv
CACHE = Path(os.environ.get("BULKHEAD_TOOLS_CACHE", "/tmp/bulkhead-tools"))


def tool_venv(name: str) -> Path:
    """The venv (its directory) with tests/tools/NAME.txt installed; built when missing."""
    requirements = ROOT / "tests" / "tools" / f"{name}.txt"
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"{name}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building the same venv
        if not (venv / "ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            environment = {name: value for name, value in os.environ.items() if name not in IGNORED}
            pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
            for command in ([sys.executable, "-m", "venv", str(venv)], [*pip, "-r", str(requirements)]):
                completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
                if completed.returncode != 0:
                    raise RuntimeError(f"{command}: {completed.stdout}{completed.stderr}")
            (venv / "ready").touch()
    return venv


if __name__ == "__main__":
    print(tool_venv(sys.argv[1]))
