"""The execution environment's build context, from this checkout: ``python scripts/ee_context.py OUT``.

Copies execution-environment/ and constraints.txt into OUT (the repository itself stays clean), puts
the collection tarball and the wheel built from this checkout into OUT/execution-environment/artifacts
(neither is on Galaxy or the package index yet), and runs ``ansible-builder create``: the Containerfile
and its _build directory land in OUT/context. No image is built: ``make ee`` builds one where a base
image can be pulled (these machines cannot). ansible-builder comes from the cached tool venv
(scripts/tool_venv.py), never from the project's venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tool_venv import tool_venv

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening"
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "constraints.txt")
# Nothing of the calling environment may make the builds see another copy of the package or config.
ENVIRONMENT = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def run(command: list[str], **kwargs) -> None:
    completed = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env=ENVIRONMENT, timeout=600, **kwargs
    )
    if completed.returncode != 0:
        sys.exit(f"ee-context: {' '.join(map(str, command))} failed:\n{completed.stdout}{completed.stderr}")


def wheel(into: Path) -> None:
    """The wheel, built from a copy of the package's sources (the build writes nothing into the checkout)."""
    with tempfile.TemporaryDirectory() as temporary:
        source = Path(temporary)
        for name in SOURCES:
            shutil.copy2(ROOT / name, source / name)
        shutil.copytree(ROOT / "audits", source / "audits", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", into, source])


def main(out: Path) -> Path:
    out = out.resolve()
    ee = out / "execution-environment"
    for previous in (ee, out / "context"):  # what an earlier run left
        shutil.rmtree(previous, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "execution-environment", ee, ignore=shutil.ignore_patterns("artifacts", "context"))
    shutil.copy2(ROOT / "constraints.txt", out / "constraints.txt")
    artifacts = ee / "artifacts"
    artifacts.mkdir()
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    run([galaxy, "collection", "build", "--output-path", artifacts, COLLECTION], cwd=out)
    (tarball,) = artifacts.glob("bulkhead-hardening-*.tar.gz")
    tarball.rename(artifacts / "bulkhead-hardening.tar.gz")  # requirements.yml names it without the version
    wheel(artifacts / "wheels")
    builder = tool_venv("galaxy-tools") / "bin" / "ansible-builder"
    run([builder, "create", "--file", ee / "execution-environment.yml", "--context", out / "context"], cwd=out)
    return out / "context"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: ee_context.py OUT")
    print(main(Path(sys.argv[1])))
