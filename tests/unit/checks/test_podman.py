"""bulkhead.checks.podman: BH-4.13 (policy.json), BH-4.14 (registries.conf), BH-4.15 (containers.conf).

The collector brings each file's text; hand-written TOML and policies here cover the cases that
fail and pass, edges included.
"""

from __future__ import annotations

from typing import Any

import pytest
from checkcases import outcome

from bulkhead.facts import HostState

UNREADABLE = object()
POLICY = "/etc/containers/policy.json"
REGISTRIES = "/etc/containers/registries.conf"
CONTAINERS = "/etc/containers/containers.conf"
GOOD = "registry.good.example"
APPROVED = {"approved_registries": [GOOD]}
NO_TOOLS = "none of podman, buildah, skopeo is installed"


def host(**facts: Any) -> HostState:
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": value}
            for name, value in facts.items()
        },
    )


def signed(kind: str = "signedBy") -> list[dict[str, str]]:
    return [{"type": kind, "keyType": "GPGKeys", "keyPath": "/etc/pki/good.gpg"}]


def policy(default: Any = None, docker: dict[str, Any] | None = None, *, exists: bool = True, tools=("podman",)):
    document: dict[str, Any] = {"default": [{"type": "reject"}] if default is None else default}
    if docker is not None:
        document["transports"] = {"docker": docker}
    return host(containers_policy={"exists": exists, "path": POLICY, "tools": list(tools), "policy": document})


def toml_files(fact: str, *files: tuple[str, str], tools=("podman",)) -> HostState:
    return host(**{fact: {"files": [{"path": path, "text": text} for path, text in files], "tools": list(tools)}})


def with_drop_ins(main: str, texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """The main file, then drop-ins ``main.d/1.conf``, ... (no text at all: no file)."""
    paths = [main] + [f"{main}.d/{index}.conf" for index in range(1, len(texts))]
    return list(zip(paths[: len(texts)], texts, strict=True))


def registries(*texts: str, tools=("podman",)) -> HostState:
    return toml_files("containers_registries_conf", *with_drop_ins(REGISTRIES, texts), tools=tools)


def containers(*texts: str, tools=("podman",)) -> HostState:
    return toml_files("containers_conf", *with_drop_ins(CONTAINERS, texts), tools=tools)


ENFORCING = f'short-name-mode = "enforcing"\nunqualified-search-registries = ["{GOOD}"]\n'
HARDENED = """[containers]
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"]
no_new_privileges = true
pids_limit = 2048
default_ulimits = ["nofile=1024:1024", "nproc=2048:2048"]
log_size_max = 10485760
"""


def hardened(**changes: str) -> str:
    """HARDENED with the named lines replaced or added (an empty string removes the line)."""
    lines = HARDENED.splitlines()
    for key, line in changes.items():
        if any(entry.startswith(key + " ") for entry in lines):
            lines = [line if entry.startswith(key + " ") else entry for entry in lines]
        else:
            lines.append(line)
    return "\n".join(line for line in lines if line) + "\n"


def where(*extra: str) -> str:
    return ", ".join([CONTAINERS, *extra])


# (control, host, settings, outcome, reasons)
CASES: list[tuple[str, HostState, dict[str, Any], str, list[str]]] = [
    ("BH-4.13", policy(docker={GOOD: signed()}), APPROVED, "pass", []),
    ("BH-4.13", policy(docker={GOOD: signed("sigstoreSigned")}), APPROVED, "pass", []),
    ("BH-4.13", policy(), {}, "pass", []),
    ("BH-4.13", policy(exists=False), {}, "fail", [f"{POLICY} does not exist"]),
    ("BH-4.13", policy([{"type": "insecureAcceptAnything"}]), {}, "fail", [f"{POLICY}: the default requirement is ['insecureAcceptAnything'], not reject"]),
    ("BH-4.13", policy([]), {}, "fail", [f"{POLICY}: the default requirement is missing, not reject"]),
    ("BH-4.13", policy(["reject"]), {}, "fail", [f"{POLICY}: the default requirement is missing, not reject"]),
    ("BH-4.13", policy([{"type": "reject"}, {"type": "signedBy"}]), {}, "fail", [f"{POLICY}: the default requirement is ['reject', 'signedBy'], not reject"]),
    ("BH-4.13", policy([{"type": "reject"}, "junk"]), {}, "pass", []),
    ("BH-4.13", policy(docker={}), APPROVED, "fail", [f"{POLICY}: approved registry {GOOD} has no docker transport entry"]),
    ("BH-4.13", policy(docker={GOOD: []}), APPROVED, "fail", [f"{POLICY}: approved registry {GOOD} has no docker transport entry"]),
    ("BH-4.13", policy(docker={GOOD: [{"type": "reject"}]}), APPROVED, "fail", [f"{POLICY}: approved registry {GOOD} does not require a signature (['reject'])"]),
    ("BH-4.13", policy(docker={GOOD: [*signed(), {"type": "insecureAcceptAnything"}]}), APPROVED, "fail", [
        f"{POLICY}: approved registry {GOOD} does not require a signature (['signedBy', 'insecureAcceptAnything'])",
        f"{POLICY}: docker scope {GOOD} accepts images without a signature",
    ]),
    ("BH-4.13", policy(docker={"": [{"type": "insecureAcceptAnything"}], "b.example": [{"type": "insecureAcceptAnything"}]}), {}, "fail", [
        f"{POLICY}: docker scope (all) accepts images without a signature",
        f"{POLICY}: docker scope b.example accepts images without a signature",
    ]),
    # Both halves are judged: a permissive default and an unsigned approved registry.
    ("BH-4.13", policy([{"type": "insecureAcceptAnything"}], {}), APPROVED, "fail", [
        f"{POLICY}: the default requirement is ['insecureAcceptAnything'], not reject",
        f"{POLICY}: approved registry {GOOD} has no docker transport entry",
    ]),
    ("BH-4.14", registries(ENFORCING), APPROVED, "pass", []),
    ("BH-4.14", registries('short-name-mode = "enforcing"\n'), {}, "pass", []),
    ("BH-4.14", registries(ENFORCING, f'[aliases]\n"app" = "{GOOD}/app"\n'), APPROVED, "pass", []),
    ("BH-4.14", registries(f'short-name-mode = "enforcing"\nunqualified-search-registries = ["{GOOD}"]\n'), {"approved_registries": [f"{GOOD}/team"]}, "pass", []),
    ("BH-4.14", registries(""), {}, "fail", [f"short-name-mode is permissive (default), not enforcing ({REGISTRIES})"]),
    ("BH-4.14", registries(ENFORCING, 'short-name-mode = "permissive"\n'), APPROVED, "fail", [f"short-name-mode is permissive, not enforcing ({REGISTRIES}, /etc/containers/registries.conf.d/1.conf)"]),
    ("BH-4.14", registries('short-name-mode = "enforcing"\nunqualified-search-registries = ["docker.io", "quay.io"]\n'), APPROVED, "fail", ["unqualified-search-registries searches unapproved registries: docker.io, quay.io"]),
    ("BH-4.14", registries(ENFORCING, '[aliases]\n"b" = "bad.example/b"\n"a" = "bad.example/a"\n"ok" = "registry.good.example/ok"\n'), APPROVED, "fail", [
        "2 short-name alias(es) resolve outside the approved registries, e.g. a -> bad.example/a (/etc/containers/registries.conf.d/1.conf)",
    ]),
    ("BH-4.14", registries('[aliases]\n"app" = "bad.example/app"\n', ENFORCING), APPROVED, "fail", [
        f"1 short-name alias(es) resolve outside the approved registries, e.g. app -> bad.example/app ({REGISTRIES})",
    ]),
    ("BH-4.14", registries('unqualified-search-registries = ["docker.io"]\n[aliases]\n"x" = "docker.io/x"\n'), {}, "fail", [
        f"short-name-mode is permissive (default), not enforcing ({REGISTRIES})",
        "unqualified-search-registries searches unapproved registries: docker.io",
        f"1 short-name alias(es) resolve outside the approved registries, e.g. x -> docker.io/x ({REGISTRIES})",
    ]),
    ("BH-4.14", registries(tools=["skopeo"]), {}, "fail", ["no /etc/containers/registries.conf: short names resolve as each tool's build defaults say"]),
    ("BH-4.15", containers(HARDENED), {}, "pass", []),
    ("BH-4.15", containers(hardened(log_size_max="", log_driver='log_driver = "journald"')), {}, "pass", []),
    ("BH-4.15", containers(hardened(default_capabilities="default_capabilities = []")), {}, "pass", []),
    ("BH-4.15", containers('[containers]\nno_new_privileges = false\n', HARDENED), {}, "pass", []),
    ("BH-4.15", containers(hardened(default_capabilities="")), {}, "fail", [f"default_capabilities is not set ({where()}): the built-in list applies"]),
    ("BH-4.15", containers(hardened(default_capabilities='default_capabilities = ["CHOWN", "cap_net_raw", "SYS_ADMIN"]')), {}, "fail", [f"default_capabilities grants NET_RAW, SYS_ADMIN ({where()})"]),
    ("BH-4.15", containers(hardened(no_new_privileges="no_new_privileges = false")), {}, "fail", [f"no_new_privileges is not true ({where()})"]),
    ("BH-4.15", containers(hardened(no_new_privileges='no_new_privileges = "true"')), {}, "fail", [f"no_new_privileges is not true ({where()})"]),
    ("BH-4.15", containers(hardened(pids_limit="pids_limit = 0")), {}, "fail", [f"pids_limit is 0, not a positive limit ({where()})"]),
    ("BH-4.15", containers(hardened(pids_limit="pids_limit = -1")), {}, "fail", [f"pids_limit is -1, not a positive limit ({where()})"]),
    ("BH-4.15", containers(hardened(pids_limit='pids_limit = "2048"')), {}, "fail", [f"pids_limit is '2048', not a positive limit ({where()})"]),
    ("BH-4.15", containers(hardened(pids_limit="pids_limit = 1")), {}, "pass", []),
    ("BH-4.15", containers(hardened(default_ulimits="default_ulimits = []")), {}, "fail", [f"default_ulimits is not set ({where()})"]),
    ("BH-4.15", containers(hardened(log_size_max="")), {}, "fail", [f"log_size_max is None: container logs grow without bound ({where()})"]),
    ("BH-4.15", containers(hardened(log_size_max="log_size_max = -1", log_driver='log_driver = "k8s-file"')), {}, "fail", [f"log_size_max is -1: container logs grow without bound ({where()})"]),
    # Drop-ins override the main file, key by key.
    ("BH-4.15", containers(HARDENED, "[containers]\npids_limit = 0\n"), {}, "fail", [f"pids_limit is 0, not a positive limit ({where('/etc/containers/containers.conf.d/1.conf')})"]),
    ("BH-4.15", containers('[engine]\ncgroup_manager = "cgroupfs"\n'), {}, "fail", [
        f"default_capabilities is not set ({where()}): the built-in list applies",
        f"no_new_privileges is not true ({where()})",
        f"pids_limit is None, not a positive limit ({where()})",
        f"default_ulimits is not set ({where()})",
        f"log_size_max is None: container logs grow without bound ({where()})",
    ]),
    ("BH-4.15", containers(tools=["buildah"]), {}, "fail", ["no containers.conf: new containers get each tool's built-in defaults"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("control_id", "state", "settings", "expected", "reasons"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_podman_check(control_id, state, settings, expected, reasons):
    assert outcome(control_id, state, settings) == (expected, reasons)


def test_every_podman_control_has_a_failing_and_a_passing_case():
    failing = {case[0] for case in CASES if case[3] == "fail"}
    passing = {case[0] for case in CASES if case[3] == "pass"}
    assert {"BH-4.13", "BH-4.14", "BH-4.15"} <= failing & passing


@pytest.mark.parametrize(
    ("control_id", "state"),
    [
        ("BH-4.13", policy(exists=False, tools=())),
        ("BH-4.14", registries(tools=[])),
        ("BH-4.15", containers(tools=[])),
    ],
)
def test_a_missing_file_does_not_apply_without_the_tools(control_id, state):
    assert outcome(control_id, state, APPROVED) == ("not_applicable", [NO_TOOLS])


@pytest.mark.parametrize(
    ("control_id", "state"),
    [
        ("BH-4.13", policy([{"type": "insecureAcceptAnything"}], tools=())),
        ("BH-4.14", registries("", tools=[])),
        ("BH-4.15", containers("[containers]\n", tools=[])),
    ],
)
def test_an_existing_file_is_judged_even_without_the_tools(control_id, state):
    assert outcome(control_id, state)[0] == "fail"


@pytest.mark.parametrize(
    ("control_id", "fact"),
    [("BH-4.13", "containers_policy"), ("BH-4.14", "containers_registries_conf"), ("BH-4.15", "containers_conf")],
)
def test_an_unreadable_file_is_an_error(control_id, fact):
    assert outcome(control_id, host(**{fact: UNREADABLE})) == ("error", [f"{fact}: permission denied"])


@pytest.mark.parametrize(("control_id", "state"), [("BH-4.14", registries("[aliases")), ("BH-4.15", containers("x ="))])
def test_invalid_toml_is_an_error_naming_the_file(control_id, state):
    status, reasons = outcome(control_id, state)
    assert status == "error" and reasons[0].startswith("/etc/containers/")
    assert "is not valid TOML" in reasons[0]
