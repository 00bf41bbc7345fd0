"""bulkhead.gate.decide on recorded requests: the gate's verdict is the audit's verdict.

Each recorded request (tests/data/authz) is judged by the gate, and the container it asked for is
judged by the audit's own entry point (``judge_container``, and for a few controls the host form
the audit suites run) on the equivalent inspect document: the real ``docker inspect`` of the
created container (through the collector's ``slim_container``) where it was recorded, else that
document with the one setting the request changes. Same controls, same reasons.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from gate_fixtures import cases, inspected, request

from bulkhead.checks import REGISTRY, Context, judge_container
from bulkhead.collector.engines import slim_container
from bulkhead.config import AuditConfig
from bulkhead.facts import HostState
from bulkhead.gate.decide import RUNTIME_ONLY, UPDATE_FIELDS, decide
from bulkhead.gate.gate_checks import IMAGE_CONTROLS, image_check
from bulkhead.gate.policy import Exception_, Policy
from bulkhead.gate.request import AuthzRequest

APPROVED = ["docker.io/bulkhead-it", "registry.example.com"]
EXAMPLE_POLICY = (
    Path(__file__).resolve().parents[3] / "audits" / "bulkhead" / "gate" / "files" / "gate-policy.example.yml"
)
# This machine, where the requests were recorded: no AppArmor, no SELinux, cgroup v1, and the test
# engine has no no-new-privileges default.
HOST = Context(
    settings=AuditConfig(values={"approved_registries": APPROVED}),
    cgroup_version=1,
    apparmor=False,
    selinux=False,
    daemon_no_new_privileges=False,
)
ENFORCE_ALL = Policy(default="enforce", approved_registries=tuple(APPROVED))
ENGINE = {"kind": "docker", "mode": "rootful", "user": None}
# bulkhead-it/busybox:local has neither USER nor HEALTHCHECK (its inspect documents show both empty).
BUSYBOX_CONFIG = {"User": "", "Healthcheck": None}
TODAY = date(2026, 11, 30)


def images(reference: str) -> dict[str, Any] | None:
    return dict(BUSYBOX_CONFIG) if reference.startswith("bulkhead-it/busybox") else None


def mounts_of(container: str) -> list[dict[str, Any]] | None:
    """The engine's answer for --volumes-from: etcsource's recorded inspect, nothing else exists."""
    return slim("create-etc-source")["Mounts"] if container == "etcsource" else None


def gate(case: str, policy: Policy = ENFORCE_ALL, **options: Any):
    options.setdefault("container_mounts", mounts_of)
    return decide(request(case), policy, HOST, today=TODAY, host="node-1", image_configs=images, **options)


def gate_verdict(case: str) -> dict[str, list[str]]:
    """Control -> reasons (an undetermined control as its one reason), every judged control."""
    return {result.control: result.lines() for result in gate(case).results}


def audit_verdict(document: dict[str, Any], controls: list[str]) -> dict[str, list[str]]:
    registered = [control for control in controls if control not in IMAGE_CONTROLS]
    verdict = judge_container(document, HOST, registered)
    found = {control: verdict.findings.get(control, []) for control in registered}
    for control, why in verdict.undetermined.items():
        found[control] = [f"cannot be judged: {why}"]
    for control in controls:
        if control in IMAGE_CONTROLS:
            reasons = image_check(control)(document, HOST)
            found[control] = [reasons] if isinstance(reasons, str) else list(reasons or [])
    return found


def slim(case: str) -> dict[str, Any]:
    return slim_container(inspected(case), ENGINE)


def bare(name: str, **changes: Any) -> dict[str, Any]:
    """The inspected bare busybox container (only --cap-add SYS_ADMIN set), renamed and changed."""
    document = copy.deepcopy(slim("create-cap-sys-admin"))
    document["Name"] = name
    document["HostConfig"]["CapAdd"] = None
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            document[section][field] = value
        else:
            document[section] = value
    return document


# case -> the inspect document of the container the request creates.
EQUIVALENT = {
    "create-compliant": lambda: slim("create-compliant"),
    "create-root-mount": lambda: slim("create-root-mount"),
    "create-docker-sock": lambda: slim("create-docker-sock"),
    "create-etc-mount-shared": lambda: slim("create-etc-mount-shared"),
    "create-cap-sys-admin": lambda: slim("create-cap-sys-admin"),
    "create-nnp-false": lambda: slim("create-nnp-false"),
    "create-device-uts-ipc": lambda: slim("create-device-uts-ipc"),
    # dockerd adds label=disable to a privileged container or one sharing the host's PID namespace.
    "create-privileged": lambda: bare("debug", HostConfig__Privileged=True, HostConfig__SecurityOpt=["label=disable"]),
    "create-pid-host": lambda: bare("pidhost", HostConfig__PidMode="host", HostConfig__SecurityOpt=["label=disable"]),
    "create-network-host": lambda: bare("nethost", HostConfig__NetworkMode="host", Networks=["host"]),
    "create-seccomp-unconfined": lambda: bare("noseccomp", HostConfig__SecurityOpt=["seccomp=unconfined"]),
    "create-unapproved-registry": lambda: bare("evil", Config__Image="evil.example.com/tool:1"),
    # Ports appear in inspect once the container runs; published as requested.
    "create-ports": lambda: bare(
        "ports",
        Ports={"80/tcp": [{"HostIp": "", "HostPort": "80"}], "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
    ),
    # Started before inspection: -P published the exposed 8080 on a host port dockerd chose (32768).
    "create-publish-all": lambda: slim("create-publish-all"),
    "create-etc-source": lambda: slim("create-etc-source"),
    # --volumes-from etcsource:ro: the inherited bind of /etc, read-only.
    "create-volumes-from": lambda: slim("create-volumes-from"),
    "create-cap-net-bind": lambda: dict(
        slim("create-compliant"),
        Name="netbind",
        HostConfig=dict(slim("create-compliant")["HostConfig"], CapAdd=["NET_BIND_SERVICE"]),
    ),
    # BH-5.10 (NET_RAW) as the gate policy control of issue 16: kept, dropped, dropped then added back.
    "create-net-raw-kept": lambda: slim("create-net-raw-kept"),
    "create-net-raw-dropped": lambda: slim("create-net-raw-dropped"),
    "create-net-raw-added": lambda: slim("create-net-raw-added"),
}


def test_every_recorded_create_request_has_an_equivalent_document():
    assert set(cases("create-")) == set(EQUIVALENT)


@pytest.mark.parametrize("case", sorted(EQUIVALENT))
def test_create_gate_verdict_equals_audit_verdict(case):
    gate_found = gate_verdict(case)
    assert "5.6" not in gate_found  # sshd: judged on running processes only (RUNTIME_ONLY)
    expected = [control for control in REGISTRY if REGISTRY[control].container and control not in RUNTIME_ONLY]
    assert set(expected) <= set(gate_found)
    audit_found = audit_verdict(EQUIVALENT[case](), sorted(gate_found))
    if case == "create-unapproved-registry":
        # The image is not on the engine (dockerd would answer 404): its USER and HEALTHCHECK, which
        # the container inherits, are unknown to the gate, so 4.1 and 5.26 are undetermined there.
        for control in ("4.1", "5.26"):
            assert gate_found.pop(control)[0].startswith("cannot be judged: the image evil.example.com/tool:1")
            audit_found.pop(control)
    if case == "create-publish-all":
        # The host port -P takes is chosen at start: the gate's finding says host port 0.
        assert audit_found["5.13"][0] == "publishes 8080/tcp on all interfaces (host port 32768)"
        audit_found["5.13"][0] = "publishes 8080/tcp on all interfaces (host port 0)"
    assert gate_found == audit_found


def test_the_real_inspect_documents_match_the_translated_request_field_by_field():
    """What the checks read: mounts, networks, namespaces, security options, limits."""
    from bulkhead.gate.request import admission

    for case in ("create-compliant", "create-root-mount", "create-etc-mount-shared", "create-device-uts-ipc"):
        translated = admission(request(case)).document
        real = slim(case)
        assert translated["Name"] == real["Name"]
        assert translated["Networks"] == real["Networks"]
        assert [
            {k: m[k] for k in ("Type", "Source", "Destination", "RW", "Propagation")} for m in translated["Mounts"]
        ] == [{k: m[k] for k in ("Type", "Source", "Destination", "RW", "Propagation")} for m in real["Mounts"]]
        # IpcMode "" becomes the daemon's default-ipc-mode (private or shareable): 5.16 looks for "host" only.
        for key in ("Privileged", "CapAdd", "CapDrop", "SecurityOpt", "PidMode", "UTSMode", "Memory"):
            assert translated["HostConfig"][key] == real["HostConfig"][key], (case, key)
        assert translated["HostConfig"]["PidsLimit"] == real["HostConfig"]["PidsLimit"]


@pytest.mark.parametrize(
    ("case", "name", "control", "reason"),
    [
        ("create-privileged", "debug", "5.4", "runs --privileged"),
        ("create-pid-host", "pidhost", "5.15", "shares the host's pid namespace (--pid=host)"),
        ("create-network-host", "nethost", "5.9", "shares the host's network namespace (--network=host)"),
        ("create-root-mount", "rootmount", "5.5", "mounts host / at /host (read-write)"),
        (
            "create-docker-sock",
            "sockmount",
            "5.31",
            "mounts the engine socket /var/run/docker.sock at /var/run/docker.sock",
        ),
        ("create-cap-sys-admin", "sysadmin", "5.3", "adds capabilities SYS_ADMIN"),
        ("create-seccomp-unconfined", "noseccomp", "5.21", "runs with seccomp=unconfined"),
        ("create-nnp-false", "nnpfalse", "5.25", "sets no-new-privileges=false explicitly"),
        (
            "create-unapproved-registry",
            "evil",
            "BH-4.11",
            "runs evil.example.com/tool:1, not from an approved registry",
        ),
        ("create-etc-mount-shared", "etcshared", "5.19", "mounts /host-etc with rshared propagation"),
        ("create-device-uts-ipc", "hostish", "5.17", "has host device /dev/null (rwm)"),
        ("create-ports", "ports", "5.7", "publishes 80/tcp on privileged host port 80"),
    ],
)
def test_each_violation_is_refused_with_its_control_and_reason(case, name, control, reason):
    policy = Policy(default="off", controls={control: "enforce"}, approved_registries=tuple(APPROVED))
    decision = gate(case, policy)
    assert not decision.allow
    assert decision.msg.startswith(f"{control} not allowed: {reason}")
    assert decision.msg.endswith(f"(container {name})")
    assert gate("create-compliant", policy).allow


@pytest.mark.parametrize(
    ("case", "control"),
    [
        ("create-privileged", "5.4"),
        ("create-root-mount", "5.5"),
        ("create-docker-sock", "5.31"),
        ("create-pid-host", "5.15"),
    ],
)
def test_refusal_lines_equal_the_audit_suites_findings(case, control):
    """The host form the audit suites run names the container the same way the gate does."""
    running = copy.deepcopy(EQUIVALENT[case]())
    running["State"] = {"Status": "running", "Running": True, "Pid": 7, "Health": None}
    state = HostState("node-1", {"containers": {"value": [running]}})
    findings = REGISTRY[control].judge(state, HOST.settings)
    policy = Policy(default="off", controls={control: "enforce"})
    message = gate(case, policy).msg
    assert [f"{control} not allowed: {line.split(': ', 1)[1]} ({line.split(': ', 1)[0]})" for line in findings] == [
        message
    ]


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("create-net-raw-kept", "BH-5.10 not allowed: keeps NET_RAW (add --cap-drop NET_RAW) (container netraw)"),
        ("create-net-raw-added", "BH-5.10 not allowed: adds NET_RAW (container addnetraw)"),
        ("create-net-raw-dropped", None),
        ("create-compliant", None),  # --cap-drop ALL
    ],
)
def test_net_raw_is_dropped_for_every_container_where_the_policy_enforces_bh_5_10(case, refusal):
    """Issue 16: raw sockets (forged packets, ARP and DNS spoofing between containers) are a gate control."""
    policy = Policy(default="off", controls={"BH-5.10": "enforce"})
    decision = gate(case, policy)
    assert (decision.allow, decision.msg or None) == (refusal is None, refusal)
    example = yaml.safe_load(EXAMPLE_POLICY.read_text())
    assert example["controls"]["BH-5.10"] == "enforce"  # the shipped example policy enforces it


def test_volumes_from_inherits_the_source_mounts_or_cannot_be_judged():
    policy = Policy(default="off", controls={"5.5": "enforce"})
    assert gate("create-volumes-from", policy).msg == (
        "5.5 not allowed: mounts host /etc at /host-etc (read-only) (container borrower)"
    )
    blind = gate("create-volumes-from", policy, container_mounts=lambda name: None)
    assert blind.msg.startswith("5.5 not allowed: cannot be judged: --volumes-from etcsource: the mounts of")


def test_a_compliant_request_is_admitted_under_the_ten_enforced_controls():
    ten = ("5.3", "5.4", "5.5", "5.9", "5.15", "5.21", "5.25", "5.31", "BH-4.11", "5.22")
    policy = Policy(default="audit", controls=dict.fromkeys(ten, "enforce"), approved_registries=tuple(APPROVED))
    decision = gate("create-compliant", policy)
    assert decision.allow and decision.msg == ""
    # audit mode: what the compliant container still breaks is logged, not refused (no digest: BH-4.12)
    assert {result.control for result in decision.notable} == {"BH-4.12"}


def test_allowed_capabilities_are_accepted_by_5_3_only():
    policy = Policy(
        default="off",
        controls={"5.3": "enforce", "BH-5.10": "enforce"},
        allowed_capabilities=frozenset({"NET_BIND_SERVICE"}),
    )
    assert gate("create-cap-net-bind", policy).allow
    assert not gate("create-cap-net-bind", Policy(default="off", controls={"5.3": "enforce"})).allow
    assert not gate("create-cap-sys-admin", policy).allow


@pytest.mark.parametrize(
    ("case", "control", "field", "value"),
    [
        ("update-pids-unlimited", "5.28", "PidsLimit", -1),
        ("update-restart-always", "5.14", "RestartPolicy", {"Name": "always", "MaximumRetryCount": 0}),
        ("update-memory", "5.10", "Memory", 134217728),
    ],
)
def test_update_gate_verdict_equals_audit_verdict_after_the_update(case, control, field, value):
    after = slim("create-compliant")
    after["HostConfig"][field] = value
    gate_found = gate_verdict(case)
    assert list(gate_found) == [control]  # only what the request sets is judged
    assert gate_found == audit_verdict(after, [control])
    assert set(UPDATE_FIELDS) >= set(gate_found)


def test_an_update_that_breaks_a_control_is_refused_and_one_that_does_not_is_admitted():
    assert gate("update-pids-unlimited").msg == "5.28 not allowed: has no PIDs limit (container compliant)"
    assert gate("update-restart-always").msg.startswith("5.14 not allowed: restart policy is always")
    assert gate("update-memory").allow


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("root", True),
        ("0", True),
        ("00", True),
        ("root:1000", True),
        ("0:0", True),
        ("1000", False),
        ("1000:0", False),
        ("app", False),
    ],
)
def test_exec_as_root_however_the_user_is_written(user, root):
    from bulkhead.gate.gate_checks import exec_as_root

    assert (exec_as_root({"User": user, "Privileged": False}, HOST) is not None) is root


def test_exec_privileged_and_as_root_are_refused_where_configured():
    policy = Policy(default="enforce", controls={"5.23": "enforce"})
    assert gate("exec-privileged", policy).msg.startswith(
        "5.22 not allowed: execs a command --privileged (container compliant); "
    )
    assert gate("exec-root", policy).msg == "5.23 not allowed: execs a command as root (container compliant)"
    assert gate("exec-user", policy).allow
    # 5.23 is off unless the policy names it: an exec without -u runs as the container's user
    assert gate("exec-root", Policy(default="enforce")).allow
    # named and enforced, an exec without -u cannot be judged: refused (fail closed)
    assert "5.23 not allowed: cannot be judged" in gate("exec-privileged", policy).msg


@pytest.mark.parametrize(
    ("case", "reference"),
    [
        ("pull-unapproved", "evil.example.com/tool:1"),
        ("pull-tag", "registry.example.com/app:2"),
        ("pull-digest", "registry.example.com/app@sha256:" + "a" * 64),
    ],
)
def test_pull_gate_verdict_equals_audit_verdict_on_a_container_of_that_image(case, reference):
    decision = gate(case)
    assert decision.image == reference
    gate_found = {result.control: result.lines() for result in decision.results}
    assert gate_found == audit_verdict(bare("x", Config__Image=reference), list(IMAGE_CONTROLS))


def test_pull_refusals_name_the_image():
    assert gate("pull-unapproved").msg.startswith("BH-4.11 not allowed: runs evil.example.com/tool:1, not from")
    assert gate("pull-unapproved").msg.endswith("(image evil.example.com/tool:1)")
    assert gate("pull-digest").allow
    assert gate("pull-tag").msg == (
        "BH-4.12 not allowed: runs registry.example.com/app:2, not pinned by digest (image registry.example.com/app:2)"
    )


def test_fail_closed_on_an_unreadable_body_and_an_undeterminable_control():
    truncated = AuthzRequest("POST", "/v1.41/containers/create?name=big", body=None)
    decision = decide(truncated, ENFORCE_ALL, HOST, today=TODAY, host="node-1")
    assert not decision.allow and decision.msg.startswith("cannot read the request, refused:")
    garbage = AuthzRequest("POST", "/v1.41/containers/create", body=b"{not json")
    assert not decide(garbage, ENFORCE_ALL, HOST, today=TODAY, host="node-1").allow
    # the image's USER is unknown (not on the engine): 4.1 cannot be judged, so it is refused
    blind = decide(request("create-compliant"), ENFORCE_ALL, HOST, today=TODAY, host="node-1")
    assert "4.1 not allowed" not in blind.msg  # the request sets --user 1000: nothing to look up
    unknown = decide(
        request("create-privileged"), Policy(default="off", controls={"4.1": "enforce"}), HOST, today=TODAY
    )
    assert unknown.msg.startswith("4.1 not allowed: cannot be judged: the image bulkhead-it/busybox:local is not on")
    # an unknown host fact: 5.25 needs the daemon's default, the gate could not read it
    unsure = Context(settings=HOST.settings, cgroup_version=1, apparmor=False, selinux=False)
    refused = decide(
        request("create-compliant"), Policy(default="off", controls={"5.25": "enforce"}), unsure, today=TODAY
    )
    assert refused.allow  # the request sets no-new-privileges itself
    refused = decide(
        request("create-privileged"), Policy(default="off", controls={"5.25": "enforce"}), unsure, today=TODAY
    )
    assert not refused.allow


def test_other_api_calls_are_allowed_untouched():
    for method, uri in (("GET", "/v1.41/containers/json"), ("POST", "/v1.41/containers/abc/start"), ("GET", "/_ping")):
        assert decide(AuthzRequest(method, uri), ENFORCE_ALL, HOST).allow


def test_an_exception_admits_its_container_until_it_expires():
    exception = Exception_("5.4", "Vendor debug tool (OPS-7)", date(2026, 12, 1), 1, container="debug")
    policy = Policy(default="off", controls={"5.4": "enforce"}, exceptions=(exception,))
    admitted = gate("create-privileged", policy)
    assert admitted.allow and admitted.results[0].exception == exception
    assert admitted.logged  # allowed by exception: in the decision log
    expired = decide(request("create-privileged"), policy, HOST, today=date(2026, 12, 1), host="node-1")
    assert not expired.allow
    assert expired.msg.endswith("[exception #1 (5.4, container debug) expired on 2026-12-01]")
    other = Policy(
        default="off",
        controls={"5.4": "enforce"},
        exceptions=(Exception_("5.4", "x", date(2027, 1, 1), 1, container="web"),),
    )
    assert not gate("create-privileged", other).allow


def test_exceptions_scoped_by_image_or_label():
    by_image = Exception_("5.4", "x", date(2027, 1, 1), 1, image="bulkhead-it/*")
    by_label = Exception_("5.4", "x", date(2027, 1, 1), 2, label="team=ops")
    assert gate("create-privileged", Policy(default="off", controls={"5.4": "enforce"}, exceptions=(by_image,))).allow
    assert not gate(
        "create-privileged", Policy(default="off", controls={"5.4": "enforce"}, exceptions=(by_label,))
    ).allow


def test_audit_mode_allows_and_marks_the_decision_for_the_log():
    decision = gate("create-privileged", Policy(default="off", controls={"5.4": "audit"}))
    assert decision.allow and decision.logged
    assert [(result.control, result.mode, result.reasons) for result in decision.notable] == [
        ("5.4", "audit", ["runs --privileged"])
    ]
    assert not gate("create-privileged", Policy(default="off")).logged


def test_break_glass_admits_what_enforce_refuses_and_is_marked():
    decision = gate("create-privileged", Policy(default="off", controls={"5.4": "enforce"}), break_glass=True)
    assert decision.allow and decision.break_glass and decision.logged
