"""`bulkhead sbom` with stand-ins for docker and syft: one SBOM per image ID, kept while the image
exists, made again when it changed, removed when the engine no longer has the image."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bulkhead import sbom
from bulkhead.cli import main

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64

FAKE_DOCKER = """#!/bin/sh
# ps -q --no-trunc | inspect --format {{.Image}} IDS | images -q | image inspect --format ... ID
case "$1" in
  ps) cat "$STATE/containers" ;;
  inspect) cat "$STATE/in-use" ;;
  images) cat "$STATE/images" ;;
  image) grep -q "$5" "$STATE/images" || { echo "No such image: $5" >&2; exit 1; }
         echo '["registry.example.com/app@sha256:'"$(echo "$5" | cut -c8-)"'"] ["app:1"]' ;;
esac
"""

FAKE_SYFT = """#!/bin/sh
# syft docker:ID -q -o spdx-json=FILE -o syft-json=FILE
echo "$1" >> "$STATE/syft-calls"
spdx=$(echo "$4" | cut -d= -f2); native=$(echo "$6" | cut -d= -f2)
echo '{"spdxVersion": "SPDX-2.3", "packages": []}' > "$spdx"
echo '{"artifacts": [{}, {}, {}], "distro": {"id": "debian", "versionID": "12"}}' > "$native"
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("syft", FAKE_SYFT)):
        program = tmp_path / name
        program.write_text(text)
        program.chmod(0o755)
    monkeypatch.setenv("STATE", str(state))
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return state


def engine(state: Path, images: list[str], in_use: list[str]) -> None:
    (state / "images").write_text("\n".join(images) + "\n")
    (state / "in-use").write_text("\n".join(in_use) + "\n")
    (state / "containers").write_text("c1\n" if in_use else "")


def test_sboms_follow_the_images_in_use(fakes, tmp_path, capsys):
    directory = tmp_path / "sbom"
    engine(fakes, [OLD], [OLD])
    assert main(["sbom", f"--dir={directory}"]) == 0
    index = json.loads((directory / "index.json").read_text())["images"]
    assert index[OLD]["packages"] == 3 and index[OLD]["distro"] == {"id": "debian", "version_id": "12"}
    assert index[OLD]["repo_digests"] == ["registry.example.com/app@" + OLD]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in directory.iterdir())
    assert "generated in" in capsys.readouterr().out

    assert main(["sbom", f"--dir={directory}"]) == 0  # unchanged: kept, Syft not run again
    assert "kept" in capsys.readouterr().out
    assert (fakes / "syft-calls").read_text().splitlines() == [f"docker:{OLD}"]

    engine(fakes, [NEW], [NEW])  # the image was rebuilt: a new ID, the old one is gone
    assert main(["sbom", f"--dir={directory}"]) == 0
    assert sorted(json.loads((directory / "index.json").read_text())["images"]) == [NEW]
    assert sorted(path.name for path in directory.iterdir()) == ["index.json", sbom.file_name(NEW)]


def test_no_container_running_makes_no_sbom_and_a_docker_failure_is_exit_2(fakes, tmp_path, capsys):
    engine(fakes, [OLD], [])
    assert main(["sbom", f"--dir={tmp_path / 'sbom'}"]) == 0
    assert json.loads((tmp_path / "sbom" / "index.json").read_text())["images"] == {}
    (tmp_path / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    assert main(["sbom", f"--dir={tmp_path / 'sbom'}"]) == 2
    assert "Cannot connect to the Docker daemon" in capsys.readouterr().err


FAKE_PODMAN = """#!/bin/sh
# ps -q --no-trunc | inspect --format {{.Image}} IDS | image inspect --format ... ID
# | save --quiet --format docker-archive -o FILE ID
case "$1" in
  ps) cat "$STATE/podman-containers" ;;
  inspect) cat "$STATE/podman-in-use" ;;
  image) grep -q "$5" "$STATE/podman-in-use" || { echo "image not known: $5" >&2; exit 1; }
         echo '[] ["localhost/app:1"]' ;;
  save) echo "archive of $7" > "$6" ;;
esac
"""


def test_podman_images_get_sboms_from_a_saved_archive_and_each_engine_prunes_its_own(fakes, tmp_path, capsys):
    """Podman reports image IDs without sha256:; its SBOMs come from `podman save` + syft docker-archive:."""
    podman = tmp_path / "podman"
    podman.write_text(FAKE_PODMAN)
    podman.chmod(0o755)
    directory = tmp_path / "sbom"
    engine(fakes, [OLD], [OLD])
    (fakes / "podman-containers").write_text("p1\n")
    (fakes / "podman-in-use").write_text(NEW.removeprefix("sha256:") + "\n")
    assert main(["sbom", f"--dir={directory}", "--engine", "docker", "--engine", "podman"]) == 0
    index = json.loads((directory / "index.json").read_text())["images"]
    podman_id = NEW.removeprefix("sha256:")
    assert sorted(index) == sorted([OLD, podman_id])
    assert index[podman_id]["engine"] == "podman" and index[podman_id]["file"] == f"podman-{podman_id}.spdx.json"
    assert index[podman_id]["tags"] == ["localhost/app:1"]
    calls = (fakes / "syft-calls").read_text().splitlines()
    assert calls[0] == f"docker:{OLD}"
    assert calls[1].startswith("docker-archive:") and calls[1].endswith("/image.tar")
    assert not list(directory.glob(".syft-*"))  # the archive went with its scratch directory

    # The Podman container is gone: a Podman run prunes its entry and keeps Docker's.
    (fakes / "podman-containers").write_text("")
    (fakes / "podman-in-use").write_text("")
    assert main(["sbom", f"--dir={directory}", "--engine", "podman"]) == 0
    assert sorted(json.loads((directory / "index.json").read_text())["images"]) == [OLD]


def test_a_failing_engine_is_exit_2_and_the_other_is_still_done(fakes, tmp_path, capsys):
    (tmp_path / "podman").write_text("#!/bin/sh\necho 'cannot connect to podman' >&2\nexit 125\n")
    (tmp_path / "podman").chmod(0o755)
    engine(fakes, [OLD], [OLD])
    assert main(["sbom", f"--dir={tmp_path / 'sbom'}", "--engine", "podman", "--engine", "docker"]) == 2
    assert "bulkhead sbom: podman: " in capsys.readouterr().err
    assert sorted(json.loads((tmp_path / "sbom" / "index.json").read_text())["images"]) == [OLD]
