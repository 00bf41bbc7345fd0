"""bulkhead.checks.container_images: 4.1 on one container, 4.5, 4.6, 4.8 and BH-4.10 on hand-written hosts.

Documents have the collector's normalised shape (``collector/engines.py`` ``slim_container`` and
``slim_image``). Every control has cases that fail and pass, edges included; not applicable and
unreadable facts come after the tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checkcases import outcome

from bulkhead.checks import Context, judge_container
from bulkhead.checks.containers import image_age_days
from bulkhead.facts import HostState

UNREADABLE = object()
DOCKER = [{"engine": "docker (rootful)", "kind": "docker"}]
PODMAN = [{"engine": "podman (rootful)", "kind": "podman"}]


def built(days: int) -> str:
    """A build date ``days`` (and one hour) ago, in Docker's nanosecond format."""
    return (datetime.now(UTC) - timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def container(name: str = "web", image: str = "sha256:app", *, user: str | None = "1000", running: bool = True):
    return {
        "Id": f"{name}-id",
        "Name": name,
        "Engine": "docker (rootful)",
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "Image": image,
        "Config": {"User": user, "Image": "app:1", "Healthcheck": None},
        "HostConfig": {},
        "State": {"Status": "running" if running else "exited", "Running": running},
    }


def image(image_id: str = "sha256:app", tags: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """An image that passes 4.6 and BH-4.10; ``fields`` break one thing."""
    document = {
        "Id": image_id,
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "RepoTags": ["app:1"] if tags is None else tags,
        "RepoDigests": [],
        "Created": built(10),
        "Healthcheck": {"Test": ["CMD", "true"]},
    }
    return document | fields


def scanned(*files: str) -> dict[str, Any]:
    return {"sha256:app": {"inspectable": True, "files": list(files)}}


def host(containers=None, images=None, **facts: Any) -> HostState:
    """One running container of one image that pass every check here; ``facts`` replace one fact."""
    values: dict[str, Any] = {
        "containers": [container()] if containers is None else containers,
        "images": [image()] if images is None else images,
        "engines": DOCKER,
        "content_trust": {"/etc/environment": "1"},
        "image_setuid_files": scanned(),
    }
    values.update(facts)
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": value}
            for name, value in values.items()
        },
    )


# 4.1, one container at a time: (user, the reasons).
USER_CASES = [
    ("1000", []),
    ("app", []),
    ("1000:1000", []),
    ("", ["runs as root (no USER in its image or --user)"]),
    (None, ["runs as root (no USER in its image or --user)"]),
    ("root", ["runs as root (user 'root')"]),
    ("0", ["runs as root (user '0')"]),
    ("0:0", ["runs as root (user '0:0')"]),
    ("root:0", ["runs as root (user 'root:0')"]),
]


@pytest.mark.parametrize(("user", "expected"), USER_CASES)
def test_4_1_container_user(user, expected):
    assert judge_container(container(user=user), Context(), ["4.1"]).findings == {"4.1": expected}


# 4.1 on a host, every spelling of root: (the container's Config.User, outcome). Config.User is what
# inspect shows, the image's USER included (dockerd and Podman copy it into the container's config
# when --user is not given; the gate fills it from the image): empty means neither named a user.
# A non-root user whose primary group is 0 passes: 4.1 judges the user; group 0 grants no privilege
# by itself (files owned by group root are the image's concern, not this control's).
ROOT_SPELLINGS = [
    ("0", "fail"),
    ("00", "fail"),
    ("0000", "fail"),
    ("root", "fail"),
    ("0:0", "fail"),
    ("root:1000", "fail"),
    ("0:somegroup", "fail"),
    ("00:1000", "fail"),
    (":1000", "fail"),
    ("", "fail"),
    (None, "fail"),
    ("1000", "pass"),
    ("app", "pass"),
    ("1000:0", "pass"),
    ("app:root", "pass"),
    ("10", "pass"),
    ("01000", "pass"),
    ("rootless", "pass"),
]


@pytest.mark.parametrize(("user", "expected"), ROOT_SPELLINGS)
def test_4_1_every_spelling_of_root_fails(user, expected):
    state = host([container("c", user=user)])
    reasons = (
        [f"container c: runs as root (user {user!r})"]
        if user
        else ["container c: runs as root (no USER in its image or --user)"]
    )
    assert outcome("4.1", state) == (expected, reasons if expected == "fail" else [])


def test_4_1_host_form_names_each_running_container():
    state = host([container("app"), container("admin", user="root"), container("old", user="", running=False)])
    assert outcome("4.1", state) == ("fail", ["container admin: runs as root (user 'root')"])


SEVEN_USERS = [container(f"c{index}") for index in range(7)]
NO_HEALTHCHECK = "image app:1: no HEALTHCHECK (used by web)"

# (control, host, settings, outcome, reasons)
CASES: list[tuple[str, HostState, dict[str, Any], str, list[str]]] = [
    ("4.5", host(), {}, "pass", []),
    ("4.5", host(content_trust={"/etc/environment": "0", "/etc/profile.d/trust.sh": "1"}), {}, "pass", []),
    ("4.5", host(content_trust={}), {}, "fail", ["DOCKER_CONTENT_TRUST=1 is not set for the host's users (set: nowhere)"]),
    ("4.5", host(content_trust={"/etc/environment": "0", "collector environment": "true"}), {}, "fail", ["DOCKER_CONTENT_TRUST=1 is not set for the host's users (set: /etc/environment=0, collector environment=true)"]),
    ("4.5", host(engines=PODMAN + DOCKER, content_trust={}), {}, "fail", ["DOCKER_CONTENT_TRUST=1 is not set for the host's users (set: nowhere)"]),
    ("4.6", host(), {}, "pass", []),
    ("4.6", host(images=[image(Healthcheck=None)]), {}, "fail", [NO_HEALTHCHECK]),
    ("4.6", host(images=[image(Healthcheck={})]), {}, "fail", [NO_HEALTHCHECK]),
    ("4.6", host(images=[image(Healthcheck={"Test": []})]), {}, "fail", [NO_HEALTHCHECK]),
    ("4.6", host(images=[image(Healthcheck={"Test": ["NONE"]})]), {}, "fail", [NO_HEALTHCHECK]),
    ("4.6", host(images=[image(Healthcheck={"Test": ["CMD-SHELL", "curl -f localhost"]})]), {}, "pass", []),
    ("4.6", host([container("b"), container("a")], [image(Healthcheck=None)]), {}, "fail", ["image app:1: no HEALTHCHECK (used by a, b)"]),
    ("4.6", host(SEVEN_USERS, [image(Healthcheck=None)]), {}, "fail", ["image app:1: no HEALTHCHECK (used by c0, c1, c2, c3, c4 and 2 more)"]),
    ("4.6", host(images=[image(tags=[], Healthcheck=None)]), {}, "fail", ["image app: no HEALTHCHECK (used by web)"]),
    ("4.6", host(images=[image("sha256:0123456789abcdef", tags=["<none>:<none>"], Healthcheck=None)], containers=[container(image="sha256:0123456789abcdef")]), {}, "fail", ["image 0123456789ab: no HEALTHCHECK (used by web)"]),
    ("4.6", host([container(running=False)], [image(Healthcheck=None)]), {}, "not_applicable", ["no running containers"]),
    # An image removed while its container runs (docker rmi -f) has nothing left to inspect.
    ("4.6", host([container(image="sha256:gone")], [image(Healthcheck=None)]), {}, "pass", []),
    ("4.8", host(), {}, "pass", []),
    ("4.8", host(image_setuid_files=scanned("/usr/bin/su", "/usr/bin/passwd")), {}, "fail", ["image app:1: 2 setuid/setgid files: /usr/bin/su, /usr/bin/passwd"]),
    ("4.8", host(image_setuid_files=scanned(*"abcdef")), {}, "fail", ["image app:1: 6 setuid/setgid files: a, b, c, d, e, f"]),
    ("4.8", host(image_setuid_files=scanned(*"abcdefgh")), {}, "fail", ["image app:1: 8 setuid/setgid files: a, b, c, d, e, f and 2 more"]),
    ("4.8", host(image_setuid_files={}), {}, "not_applicable", ["image layers not inspectable here: app:1 (not scanned)"]),
    ("4.8", host(image_setuid_files={"sha256:app": {"inspectable": False, "reason": "more than 200000 files"}}), {}, "not_applicable", ["image layers not inspectable here: app:1 (more than 200000 files)"]),
    ("4.8", host([container("a"), container("b", "sha256:other")], [image(), image("sha256:other", ["other:1"])], image_setuid_files={"sha256:other": {"inspectable": False, "reason": "vfs"}}), {}, "not_applicable", ["image layers not inspectable here: app:1 (not scanned); other:1 (vfs)"]),
    # A finding in one image fails the control even though another image could not be scanned.
    ("4.8", host([container("a"), container("b", "sha256:other")], [image(), image("sha256:other", ["other:1"])], image_setuid_files=scanned("/bin/su")), {}, "fail", ["image app:1: 1 setuid/setgid files: /bin/su"]),
    ("BH-4.10", host(), {}, "pass", []),
    ("BH-4.10", host(images=[image(Created=built(400))]), {"max_image_age_days": 90}, "fail", ["image app:1: built 400 days ago, over the 90-day limit (used by web)"]),
    ("BH-4.10", host(images=[image(Created=built(400))]), {"max_image_age_days": 500}, "pass", []),
    ("BH-4.10", host(images=[image(Created=built(90))]), {}, "pass", []),
    ("BH-4.10", host(images=[image(Created=built(91))]), {}, "fail", ["image app:1: built 91 days ago, over the 90-day limit (used by web)"]),
    ("BH-4.10", host(images=[image(Created=built(1))]), {"max_image_age_days": 0}, "fail", ["image app:1: built 1 days ago, over the 0-day limit (used by web)"]),
    ("BH-4.10", host(images=[image(Created=None)]), {}, "fail", ["image app:1: build date unknown (None)"]),
    ("BH-4.10", host(images=[image(Created="last tuesday")]), {}, "fail", ["image app:1: build date unknown ('last tuesday')"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "state", "settings", "expected", "reasons"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_image_check_on_a_host(control_id, state, settings, expected, reasons):
    assert outcome(control_id, state, settings) == (expected, reasons)


def test_every_image_host_control_has_a_failing_and_a_passing_case():
    failing = {case[0] for case in CASES if case[3] == "fail"}
    passing = {case[0] for case in CASES if case[3] == "pass"}
    assert {"4.5", "4.6", "4.8", "BH-4.10"} <= failing & passing


@pytest.mark.parametrize("engines", [[], PODMAN])
def test_content_trust_needs_a_docker_engine(engines):
    reason = "no Docker engine on this host (Podman verifies images through policy.json)"
    assert outcome("4.5", host(engines=engines, content_trust=UNREADABLE)) == ("not_applicable", [reason])


@pytest.mark.parametrize(
    ("control_id", "facts"),
    [
        ("4.5", {"engines": UNREADABLE}),
        ("4.5", {"content_trust": UNREADABLE}),
        ("4.6", {"images": UNREADABLE}),
        ("4.6", {"containers": UNREADABLE}),
        ("4.8", {"image_setuid_files": UNREADABLE}),
        ("4.8", {"images": UNREADABLE}),
        ("BH-4.10", {"images": UNREADABLE}),
    ],
)
def test_an_unreadable_fact_is_an_error_not_a_pass(control_id, facts):
    assert outcome(control_id, host(**facts)) == ("error", [f"{next(iter(facts))}: permission denied"])


@pytest.mark.parametrize(
    ("control_id", "facts"),
    [
        ("4.6", {"images": UNREADABLE}),
        ("4.8", {"image_setuid_files": UNREADABLE}),
        ("BH-4.10", {"images": UNREADABLE}),
    ],
)
def test_image_facts_are_read_before_the_containers(control_id, facts):
    """An unreadable image fact is an error even where no container runs (not 'not applicable')."""
    assert outcome(control_id, host([], **facts))[0] == "error"


@pytest.mark.parametrize(
    "created",
    ["2026-01-01T00:00:00.123456789Z", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00.5+01:00", "2026-01-01T00:00:00"],
)
def test_image_build_dates_in_the_formats_engines_write(created):
    assert image_age_days({"Created": created}, datetime(2026, 1, 11, 0, 0, 1, tzinfo=UTC)) == 10


@pytest.mark.parametrize("created", [None, "", "yesterday", "2026-13-01T00:00:00Z"])
def test_unreadable_build_dates_have_no_age(created):
    assert image_age_days({"Created": created}) is None
