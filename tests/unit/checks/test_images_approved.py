"""bulkhead.checks.images_approved: BH-4.11 and BH-4.12 on one container (as the gate calls them) and
on a host (as the audit does), BH-4.16 on hand-written integrity baselines.
"""

from __future__ import annotations

from typing import Any

import pytest
from checkcases import outcome

from bulkhead.checks import Context, judge_container
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState

UNREADABLE = object()
GOOD = "registry.good.example"
IMAGE_ID = "sha256:" + "a" * 64
DIGEST = "@sha256:" + "c" * 64
APPROVED = {"approved_registries": [GOOD]}


def container(reference: str = f"{GOOD}/app{DIGEST}", name: str = "web", **fields: Any) -> dict[str, Any]:
    """A running container that passes BH-4.11 (with GOOD approved) and BH-4.12."""
    document = {
        "Id": f"{name}-id",
        "Name": name,
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": IMAGE_ID,
        "Config": {"User": "1000", "Image": reference},
        "HostConfig": {},
        "State": {"Running": True},
    }
    return document | fields


def image(tags: list[str], digests: list[str] | None = None, image_id: str = IMAGE_ID, **fields: Any):
    document = {"Id": image_id, "EngineKind": "docker", "EngineMode": "rootful", "RepoTags": tags}
    return document | {"RepoDigests": digests or []} | fields


def context(settings: dict[str, Any], *images: dict[str, Any]) -> Context:
    return Context(settings=AuditConfig(settings), images={entry["Id"]: entry for entry in images})


def not_approved(shown: str, allowed: str = GOOD) -> list[str]:
    return [f"runs {shown}, not from an approved registry (approved: {allowed})"]


NONE_CONFIGURED = "none configured (audit setting approved_registries)"

# (control, container, context, the reasons the check must give: [] is a pass)
CONTAINER_CASES: list[tuple[str, dict[str, Any], Context, list[str]]] = [
    ("BH-4.11", container(), context(APPROVED), []),
    ("BH-4.11", container(f"{GOOD}/team/app:1"), context(APPROVED), []),
    ("BH-4.11", container("registry.bad.example/app:1"), context(APPROVED), not_approved("registry.bad.example/app:1")),
    ("BH-4.11", container(f"{GOOD}.evil.example/app:1"), context(APPROVED), not_approved(f"{GOOD}.evil.example/app:1")),
    ("BH-4.11", container("busybox"), context(APPROVED), not_approved("busybox")),
    ("BH-4.11", container("busybox"), context({"approved_registries": ["docker.io"]}), []),
    ("BH-4.11", container("busybox"), context({}), not_approved("busybox", NONE_CONFIGURED)),
    ("BH-4.11", container("busybox"), context({"approved_registries": [" ", {"keys": []}]}), not_approved("busybox", NONE_CONFIGURED)),
    ("BH-4.11", container(f"{GOOD}/teamx/app:1"), context({"approved_registries": [f"{GOOD}/team"]}), not_approved(f"{GOOD}/teamx/app:1", f"{GOOD}/team")),
    ("BH-4.11", container("localhost:5000/approved/bb:1"), context({"approved_registries": [GOOD, {"location": "localhost:5000/approved"}]}), []),
    ("BH-4.11", container("busybox"), context({"approved_registries": [GOOD, {"location": "localhost:5000"}]}), not_approved("busybox", f"{GOOD}, localhost:5000")),
    # Started by image ID (or with no reference at all): judged by the names of the image.
    ("BH-4.11", container(IMAGE_ID), context(APPROVED, image([f"{GOOD}/app:1"])), []),
    ("BH-4.11", container(IMAGE_ID[7:19]), context(APPROVED, image(["other/app:1"], [f"{GOOD}/app{DIGEST}"])), []),
    ("BH-4.11", container(""), context(APPROVED, image([f"{GOOD}/app:1"])), []),
    ("BH-4.11", container(IMAGE_ID), context(APPROVED, image(["app:1", "app:2"], [f"app{DIGEST}"])), not_approved(f"app:1, app:2, app{DIGEST}")),
    ("BH-4.11", container(IMAGE_ID), context(APPROVED, image([])), not_approved(IMAGE_ID)),
    ("BH-4.11", container(IMAGE_ID), context(APPROVED), not_approved(IMAGE_ID)),  # image removed while it runs
    ("BH-4.12", container(), Context(), []),
    ("BH-4.12", container(f"{GOOD}/app:1{DIGEST}"), Context(), []),
    ("BH-4.12", container(f"{GOOD}/app:1"), Context(), [f"runs {GOOD}/app:1, not pinned by digest"]),
    ("BH-4.12", container("busybox@sha512:" + "c" * 128), Context(), ["runs busybox@sha512:" + "c" * 128 + ", not pinned by digest"]),
    ("BH-4.12", container(IMAGE_ID), Context(), [f"runs {IMAGE_ID}, not pinned by digest"]),
    ("BH-4.12", container(""), Context(), [f"runs {IMAGE_ID}, not pinned by digest"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "document", "given", "expected"),
    CONTAINER_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CONTAINER_CASES)],
)
def test_each_check_on_one_container(control_id, document, given, expected):
    assert judge_container(document, given, [control_id]).findings == {control_id: expected}


def test_both_are_container_controls_for_the_gate():
    verdict = judge_container(container("registry.bad.example/app:1"), Context(settings=AuditConfig(APPROVED)))
    assert verdict.findings["BH-4.11"] == not_approved("registry.bad.example/app:1")
    assert verdict.findings["BH-4.12"] == ["runs registry.bad.example/app:1, not pinned by digest"]


def test_a_container_started_by_image_id_is_undetermined_without_the_images():
    """The gate must supply the engine's images (Context.images) for such a container, or refuse it."""
    verdict = judge_container(container(IMAGE_ID), Context(settings=AuditConfig(APPROVED)), ["BH-4.11", "BH-4.12"])
    assert verdict.undetermined == {"BH-4.11": "not known here: images"}
    assert verdict.findings == {"BH-4.12": [f"runs {IMAGE_ID}, not pinned by digest"]}


# The host form: every running container, named as the audit has always named it (no colon).


def host(containers: list[dict[str, Any]], images: list[dict[str, Any]] | Any = (), **facts: Any) -> HostState:
    values = {"containers": containers, "images": list(images) if images is not UNREADABLE else UNREADABLE} | facts
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": value}
            for name, value in values.items()
        },
    )


def test_the_host_form_names_each_running_container_and_its_engine():
    state = host(
        [
            container("registry.bad.example/app:1", "bad"),
            container(name="good"),
            container(IMAGE_ID, "by-id"),
            container("busybox", "db", Engine="podman (rootless, user alice)", EngineKind="podman"),
            container("busybox", "stopped", State={"Running": False}),
        ],
        [image([f"{GOOD}/app:1"])],
    )
    assert outcome("BH-4.11", state, APPROVED) == (
        "fail",
        [
            "container bad: runs registry.bad.example/app:1, not from an approved registry (approved: "
            "registry.good.example)",
            "container db [podman (rootless, user alice)]: runs busybox, not from an approved registry (approved: "
            "registry.good.example)",
        ],
    )
    assert outcome("BH-4.12", state) == (
        "fail",
        [
            "container bad: runs registry.bad.example/app:1, not pinned by digest",
            f"container by-id: runs {IMAGE_ID}, not pinned by digest",
            "container db [podman (rootless, user alice)]: runs busybox, not pinned by digest",
        ],
    )


@pytest.mark.parametrize("control_id", ["BH-4.11", "BH-4.12"])
def test_the_host_form_passes_and_needs_running_containers(control_id):
    assert outcome(control_id, host([container()]), APPROVED) == ("pass", [])
    stopped = host([container("busybox", State={"Running": False})])
    assert outcome(control_id, stopped) == ("not_applicable", ["no running containers"])


@pytest.mark.parametrize("control_id", ["BH-4.11"])  # BH-4.12 reads the reference alone
def test_the_host_form_reads_the_images_before_the_containers(control_id):
    assert outcome(control_id, host([], UNREADABLE)) == ("error", ["images: permission denied"])
    assert outcome(control_id, host(UNREADABLE)) == ("error", ["containers: permission denied"])


# BH-4.16: the integrity baseline of engine files and approved images.

BASE = "/var/lib/bulkhead/baseline.json"
OLD, NEW = "a" * 64, "b" * 64


def baseline(recorded: dict[str, Any], current: dict[str, Any] | None = None, images: Any = None) -> dict[str, Any]:
    document = {"path": BASE, "recorded": {"files": recorded}, "current": {"files": current or {}}}
    if images is not None:
        document["recorded"]["images"] = images
    return document


def recorded_image(image_id: str = IMAGE_ID, digests: list[str] | None = None) -> dict[str, Any]:
    return {"id": image_id, "repo_digests": digests or []}


ENGINE_FILES = {"/usr/sbin/dockerd": OLD, "/etc/docker/daemon.json": OLD}
SAME = baseline(ENGINE_FILES, ENGINE_FILES)
APP = image(["app:1"], [f"app{DIGEST}"])

# (baseline, images, reasons: [] is a pass)
BASELINE_CASES: list[tuple[dict[str, Any], list[dict[str, Any]], list[str]]] = [
    (SAME, [], []),
    (baseline({}), [], [f"the baseline {BASE} records no file"]),
    (baseline(ENGINE_FILES, {"/usr/sbin/dockerd": NEW, "/etc/docker/daemon.json": OLD}), [], [f"/usr/sbin/dockerd changed: sha256 {NEW[:12]}..., baseline {OLD[:12]}..."]),
    (baseline(ENGINE_FILES, {"/usr/sbin/dockerd": OLD}), [], ["/etc/docker/daemon.json was removed since the baseline was recorded"]),
    (baseline({"/etc/docker/daemon.json": None}, {"/etc/docker/daemon.json": NEW}), [], ["/etc/docker/daemon.json appeared since the baseline was recorded"]),
    (baseline({"/etc/docker/daemon.json": None}, {}), [], []),  # absent then, absent now
    (baseline(ENGINE_FILES, {}), [], ["/etc/docker/daemon.json was removed since the baseline was recorded", "/usr/sbin/dockerd was removed since the baseline was recorded"]),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image(digests=[f"app{DIGEST}"])}), [APP], []),
    (baseline(ENGINE_FILES, ENGINE_FILES, {f"app{DIGEST}": recorded_image(digests=[f"app{DIGEST}"])}), [APP], []),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image(digests=["x", "y"])}), [image(["app:1"], ["y", "x"])], []),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image()}), [], ["image app:1 from the baseline is gone"]),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image("sha256:old")}), [APP], [f"image app:1 is now {IMAGE_ID}, baseline sha256:old"]),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image()}), [APP], ["image app:1 has other repo digests than in the baseline"]),
    # Only the rootful Docker engine's images are in the baseline.
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image()}), [image(["app:1"], EngineKind="podman")], ["image app:1 from the baseline is gone"]),
    (baseline(ENGINE_FILES, ENGINE_FILES, {"app:1": recorded_image()}), [image(["app:1"], EngineMode="rootless")], ["image app:1 from the baseline is gone"]),
    (baseline(ENGINE_FILES, ENGINE_FILES, {}), [], []),
    # Both parts are judged: a baseline without files still reports its images.
    (baseline({}, {}, {"b:1": recorded_image(), "a:1": recorded_image()}), [], [f"the baseline {BASE} records no file", "image a:1 from the baseline is gone", "image b:1 from the baseline is gone"]),
]  # fmt: skip


@pytest.mark.parametrize(("recorded", "images", "expected"), BASELINE_CASES)
def test_integrity_baseline(recorded, images, expected):
    state = host([], images, integrity_baseline=recorded)
    assert outcome("BH-4.16", state) == (("fail" if expected else "pass"), expected)


def test_an_unreadable_baseline_or_image_list_is_an_error():
    unreadable = host([], [], integrity_baseline=UNREADABLE)
    assert outcome("BH-4.16", unreadable) == ("error", ["integrity_baseline: permission denied"])
    changed = baseline(ENGINE_FILES, {})
    assert outcome("BH-4.16", host([], UNREADABLE, integrity_baseline=changed)) == (
        "error",
        ["images: permission denied"],
    )
