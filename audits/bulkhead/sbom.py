"""``bulkhead sbom``: one SBOM per image in use on this host's Docker (and rootful Podman) engine, made by Syft.

Run on the container host (as root, by hand or from the audit_schedule role's timer): for every
image a running container uses (``--all-images``: every local image), Syft writes
``DIR/sha256-<id>.spdx.json`` (SPDX JSON; ``podman-<id>.spdx.json`` for ``--engine podman``)
unless the directory already holds that image's SBOM. An image ID is a content digest, so a
rebuilt or re-pulled image is a new ID and gets a new SBOM; SBOMs of images the engine no longer
has are removed. ``DIR/index.json`` records per image ID the file, the package count, the base
distribution (Syft's reading of os-release) and the repo digests: the collector reports that
index, never the SBOMs' contents (BH-4.17, BH-4.20). The directory is 0700 and every file 0600.

Syft runs offline (``SYFT_CHECK_FOR_APP_UPDATE=false``) against the engine's local images: Docker's
through the engine (``docker:ID``); Podman's from ``podman save --format docker-archive`` into a
private scratch directory (``docker-archive:FILE``), which needs no Podman API service. Entries are
keyed by the image ID as each engine reports it (Podman: without ``sha256:``), as the audit's
images fact has it; each engine's run prunes only its own entries.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_DIR = "/var/lib/bulkhead/sbom"
ENGINES = ("docker", "podman")


class SbomError(RuntimeError):
    """Docker or Syft failed: the message says which command and why."""


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SbomError(f"{command[0]}: {error}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise SbomError(f"{' '.join(command[:3])}: exit {done.returncode}: {lines[-1] if lines else ''}")
    return done.stdout


def engine_id(image_id: str, engine: str = "docker") -> str:
    """The image ID as the engine's inspect reports it: Podman's has no ``sha256:`` prefix."""
    return image_id.removeprefix("sha256:") if engine == "podman" else image_id


def images_in_use(docker: str = "docker", engine: str = "docker") -> list[str]:
    """Image IDs that running containers use, sorted, each once (``docker`` is the engine's client)."""
    containers = _run([docker, "ps", "-q", "--no-trunc"]).split()
    if not containers:
        return []
    found = _run([docker, "inspect", "--format", "{{.Image}}", *containers]).split()
    return sorted({engine_id(image_id, engine) for image_id in found})


def all_images(docker: str = "docker", engine: str = "docker") -> list[str]:
    return sorted({engine_id(image_id, engine) for image_id in _run([docker, "images", "-q", "--no-trunc"]).split()})


def image_details(image_ids: list[str], docker: str = "docker") -> dict[str, dict[str, Any]]:
    """Image ID -> {repo_digests, tags} for the images the engine still has."""
    details = {}
    for image_id in image_ids:
        try:
            text = _run([docker, "image", "inspect", "--format", "{{json .RepoDigests}} {{json .RepoTags}}", image_id])
        except SbomError:
            continue
        digests, tags = text.strip().split(" ", 1)
        details[image_id] = {"repo_digests": json.loads(digests) or [], "tags": json.loads(tags) or []}
    return details


def file_name(image_id: str, engine: str = "docker") -> str:
    return ("podman-" if engine == "podman" else "") + image_id.replace(":", "-") + ".spdx.json"


def _write_private(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def generate(
    image_id: str, directory: Path, syft: str = "syft", engine: str = "docker", client: str = "docker"
) -> dict[str, Any]:
    """Run Syft on one image: the SPDX file in ``directory``, and the index entry (count, distro)."""
    environment = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    with tempfile.TemporaryDirectory(dir=directory, prefix=".syft-") as scratch:
        spdx, native = Path(scratch, "sbom.spdx.json"), Path(scratch, "sbom.syft.json")
        source = f"docker:{image_id}"
        if engine == "podman":
            archive = Path(scratch, "image.tar")
            _run([client, "save", "--quiet", "--format", "docker-archive", "-o", str(archive), image_id])
            source = f"docker-archive:{archive}"
        _run([syft, source, "-q", "-o", f"spdx-json={spdx}", "-o", f"syft-json={native}"], environment)
        document = json.loads(native.read_text(encoding="utf-8"))
        os.chmod(spdx, 0o600)
        os.replace(spdx, directory / file_name(image_id, engine))
    distro = document.get("distro") or {}
    return {
        "file": file_name(image_id, engine),
        "engine": engine,
        "format": "spdx-json",
        "packages": len(document.get("artifacts") or []),
        "distro": {"id": distro.get("id") or "", "version_id": distro.get("versionID") or ""},
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def refresh(
    directory: Path,
    image_ids: list[str],
    docker: str = "docker",
    syft: str = "syft",
    force: bool = False,
    engine: str = "docker",
) -> dict[str, Any]:
    """Make the missing SBOMs of ``image_ids``, drop those of images gone from the engine; the new index.

    ``docker`` is the engine's client program (``podman`` for ``engine="podman"``); only that
    engine's entries are pruned."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    index_path = directory / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        index = {"images": {}}
    entries: dict[str, Any] = index.get("images") if isinstance(index.get("images"), dict) else {}
    ours = {image_id for image_id, entry in entries.items() if _engine_of(entry) == engine}
    details = image_details(sorted(set(image_ids) | ours), docker)
    timings = {}
    for image_id in image_ids:
        if image_id not in details:
            continue
        entry = entries.get(image_id)
        if force or not entry or not (directory / entry.get("file", "")).is_file():
            started = time.monotonic()
            entry = generate(image_id, directory, syft, engine, docker)
            timings[image_id] = round(time.monotonic() - started, 3)
        entry.update(details[image_id])
        entries[image_id] = entry
    for image_id in [image_id for image_id in ours if image_id not in details]:
        with contextlib.suppress(FileNotFoundError):
            (directory / os.path.basename(entries[image_id].get("file", ""))).unlink()
        del entries[image_id]
    _write_private(index_path, json.dumps({"images": entries}, indent=1, sort_keys=True) + "\n")
    return {"images": entries, "generated": timings}


def _engine_of(entry: Any) -> str:
    return str(entry.get("engine") or "docker") if isinstance(entry, dict) else "docker"


def run_sbom(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    status = 0
    for engine in args.engine or ["docker"]:
        client = args.podman if engine == "podman" else args.docker
        try:
            wanted = all_images(client, engine) if args.all_images else images_in_use(client, engine)
            result = refresh(directory, wanted, client, args.syft, args.force, engine)
        except (SbomError, OSError) as error:
            print(f"bulkhead sbom: {engine}: {error}", file=sys.stderr)
            status = 2
            continue
        for image_id, entry in sorted(result["images"].items()):
            if _engine_of(entry) != engine:
                continue
            made = result["generated"].get(image_id)
            state = f"generated in {made} s" if made is not None else "kept"
            name = (entry.get("tags") or [image_id[:19]])[0]
            distro = ":".join(part for part in (entry["distro"].get("id"), entry["distro"].get("version_id")) if part)
            print(f"{name}  {entry['file']}  {entry['packages']} packages  {distro or 'distro unknown'}  {state}")
    return status


def add_arguments(commands: Any) -> None:
    parser = commands.add_parser(
        "sbom",
        help="keep one SBOM (Syft, SPDX JSON) per image in use on this host's Docker or rootful Podman engine",
        description="Exit codes: 0 done, 2 docker, podman or syft failed (the other engines are still done).",
    )
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"where the SBOMs and index.json go (default {DEFAULT_DIR})")
    parser.add_argument("--all-images", action="store_true", help="every local image, not only those in use")
    parser.add_argument("--force", action="store_true", help="regenerate SBOMs that exist")
    parser.add_argument("--syft", default="syft", help="the syft program (default: syft on PATH)")
    parser.add_argument("--docker", default="docker", help="the docker client (default: docker on PATH)")
    parser.add_argument(
        "--engine",
        action="append",
        choices=ENGINES,
        help="the engine whose images to cover; repeat for both (default: docker)",
    )
    parser.add_argument("--podman", default="podman", help="the podman client (default: podman on PATH)")
    parser.set_defaults(run=run_sbom)
