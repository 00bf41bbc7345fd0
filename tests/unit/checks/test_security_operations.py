"""bulkhead.checks.security_operations: image sprawl (6.1) and container sprawl (6.2) against the thresholds."""

from __future__ import annotations

from typing import Any

import pytest
from checkcases import outcome

from bulkhead.facts import HostState

UNREADABLE = object()


def container(name: str, image: str = "sha256:used", *, running: bool = True) -> dict[str, Any]:
    return {"Id": f"{name}-id", "Name": name, "Image": image, "State": {"Running": running}}


def image(image_id: str, *tags: str) -> dict[str, Any]:
    return {"Id": image_id, "RepoTags": list(tags)}


def unused_images(count: int) -> list[dict[str, Any]]:
    return [image(f"sha256:u{index:02}", f"old:{index:02}") for index in range(count)]


def stopped(count: int) -> list[dict[str, Any]]:
    return [container(f"done-{index:02}", running=False) for index in range(count)]


def host(containers: Any = (), images: Any = ()) -> HostState:
    values = {"containers": containers, "images": images}
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": list(value)}
            for name, value in values.items()
        },
    )


USED = image("sha256:used", "app:1")
ELEVEN = ", ".join(f"old:{index:02}" for index in range(10)) + " ..."

# (control, host, settings, outcome, reasons)
CASES: list[tuple[str, HostState, dict[str, Any], str, list[str]]] = [
    ("6.1", host(), {}, "pass", []),
    ("6.1", host([container("web")], [USED]), {"max_unused_images": 0}, "pass", []),
    # An image used only by a stopped container is still in use.
    ("6.1", host([container("old", running=False)], [USED]), {"max_unused_images": 0}, "pass", []),
    ("6.1", host([], [USED]), {"max_unused_images": 0}, "fail", ["1 images are used by no container (limit 0): app:1"]),
    ("6.1", host([], unused_images(25)), {}, "pass", []),
    ("6.1", host([], unused_images(26)), {}, "fail", ["26 images are used by no container (limit 25): " + ", ".join(f"old:{index:02}" for index in range(10)) + " ..."]),
    ("6.1", host([], unused_images(2)), {"max_unused_images": 2}, "pass", []),
    ("6.1", host([], unused_images(3)), {"max_unused_images": 2}, "fail", ["3 images are used by no container (limit 2): old:00, old:01, old:02"]),
    ("6.1", host([], unused_images(10)), {"max_unused_images": 0}, "fail", ["10 images are used by no container (limit 0): " + ", ".join(f"old:{index:02}" for index in range(10))]),
    ("6.1", host([], unused_images(11)), {"max_unused_images": 0}, "fail", ["11 images are used by no container (limit 0): " + ELEVEN]),
    ("6.1", host([], [image("sha256:0123456789abcdef"), image("sha256:b", "<none>:<none>", "z:1")]), {"max_unused_images": 1}, "fail", ["2 images are used by no container (limit 1): 0123456789ab, z:1"]),
    ("6.2", host(), {}, "pass", []),
    ("6.2", host([container("web"), *stopped(1)]), {"max_stopped_containers": 1}, "pass", []),
    ("6.2", host([container("web"), *stopped(2)]), {"max_stopped_containers": 1}, "fail", ["2 stopped containers (limit 1): done-00, done-01"]),
    ("6.2", host(stopped(25)), {}, "pass", []),
    ("6.2", host(stopped(26)), {}, "fail", ["26 stopped containers (limit 25): " + ", ".join(f"done-{index:02}" for index in range(10)) + " ..."]),
    ("6.2", host([container("b", running=False), container("a", running=None)]), {"max_stopped_containers": 0}, "fail", ["2 stopped containers (limit 0): a, b"]),
    ("6.2", host([container("web")]), {"max_stopped_containers": 0}, "pass", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "state", "settings", "expected", "reasons"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_sprawl_check(control_id, state, settings, expected, reasons):
    assert outcome(control_id, state, settings) == (expected, reasons)


def test_every_sprawl_control_has_a_failing_and_a_passing_case():
    failing = {case[0] for case in CASES if case[3] == "fail"}
    passing = {case[0] for case in CASES if case[3] == "pass"}
    assert {"6.1", "6.2"} <= failing & passing


@pytest.mark.parametrize(
    ("control_id", "state", "reason"),
    [
        ("6.1", host(UNREADABLE, []), "containers: permission denied"),
        ("6.1", host(UNREADABLE, UNREADABLE), "containers: permission denied"),  # containers are read first
        ("6.1", host([], UNREADABLE), "images: permission denied"),
        ("6.2", host(UNREADABLE, []), "containers: permission denied"),
    ],
)
def test_an_unreadable_fact_is_an_error(control_id, state, reason):
    assert outcome(control_id, state) == ("error", [reason])


def test_container_sprawl_does_not_need_the_images():
    assert outcome("6.2", host(stopped(1), UNREADABLE), {"max_stopped_containers": 0})[0] == "fail"
