"""bulkhead.checks.registry: how a CHECKS table becomes the one function every caller judges with.

Registration normally happens once, at import; these tests register small tables into an empty
registry so that what registration builds (and refuses) is exercised directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from bulkhead.checks import registry
from bulkhead.checks.registry import ContainerCheck, Context, HostCheck, judge_container, register
from bulkhead.config import AuditConfig
from bulkhead.facts import FactUnavailable, HostState, NotApplicable


@pytest.fixture
def empty_registry(monkeypatch):
    table: dict[str, registry.Check] = {}
    monkeypatch.setattr(registry, "REGISTRY", table)
    return table


def running(name: str, **host_config: Any) -> dict[str, Any]:
    return {
        "Id": f"{name}-id",
        "Name": name,
        "EngineKind": "docker",
        "EngineMode": "rootful",
        "State": {"Running": True},
        "HostConfig": host_config,
    }


def host(*containers: dict[str, Any], **facts: Any) -> HostState:
    values = {"containers": {"value": list(containers)}}
    values.update({name: {"value": value} for name, value in facts.items()})
    return HostState("test", values)


def privileged(container, context):
    return "runs --privileged" if container["HostConfig"].get("Privileged") else None


def sees_settings(container, context):
    return f"limit is {context.settings.get('max_stopped_containers')}"


def needs_cgroups(container, context):
    return f"cgroup v{context.need('cgroup_version')}"


def only_where_apparmor(context):
    if not context.need("apparmor"):
        raise NotApplicable("no AppArmor here")


def host_wide(state, settings):
    return [f"{len(state.fact('containers'))} containers"]


def test_a_host_check_is_registered_as_it_is(empty_registry):
    register({"X.1": HostCheck(host_wide)})
    check = empty_registry["X.1"]
    assert (check.control_id, check.judge, check.container, check.needs, check.precondition) == (
        "X.1",
        host_wide,
        None,
        frozenset(),
        None,
    )
    assert check.judge(host(running("a")), AuditConfig()) == ["1 containers"]


def test_a_container_check_gets_a_host_form_that_names_each_running_container(empty_registry):
    register({"X.2": ContainerCheck(privileged)})
    check = empty_registry["X.2"]
    assert (check.control_id, check.container, check.needs, check.precondition) == (
        "X.2",
        privileged,
        frozenset(),
        None,
    )
    state = host(running("a", Privileged=True), running("b"), running("c", Privileged=True))
    assert check.judge(state, AuditConfig()) == ["container a: runs --privileged", "container c: runs --privileged"]
    assert registry.container_controls() == ["X.2"]


def test_the_host_form_passes_the_settings_and_the_facts_the_check_needs(empty_registry):
    register(
        {
            "X.3": ContainerCheck(sees_settings),
            "X.4": ContainerCheck(needs_cgroups, needs=["cgroup_version"]),
        }
    )
    state = host(running("a"), kernel_security={"apparmor": False, "selinux": False, "cgroup_version": 1})
    settings = AuditConfig({"max_stopped_containers": 7})
    assert empty_registry["X.3"].judge(state, settings) == ["container a: limit is 7"]
    assert empty_registry["X.4"].judge(state, settings) == ["container a: cgroup v1"]
    assert empty_registry["X.4"].needs == frozenset({"cgroup_version"})


def test_the_precondition_runs_before_the_containers_are_listed(empty_registry):
    register({"X.5": ContainerCheck(privileged, needs=["apparmor"], precondition=only_where_apparmor)})
    assert empty_registry["X.5"].precondition is only_where_apparmor
    no_apparmor = host(kernel_security={"apparmor": False, "selinux": False, "cgroup_version": 2})
    with pytest.raises(NotApplicable, match="no AppArmor here"):
        empty_registry["X.5"].judge(no_apparmor, AuditConfig())
    with_apparmor = host(kernel_security={"apparmor": True, "selinux": False, "cgroup_version": 2})
    with pytest.raises(NotApplicable, match="no running containers"):
        empty_registry["X.5"].judge(with_apparmor, AuditConfig())


def test_a_control_with_two_checks_is_refused(empty_registry):
    register({"X.6": HostCheck(host_wide)})
    with pytest.raises(ValueError, match=r"^control X\.6 has two checks$"):
        register({"X.6": ContainerCheck(privileged)})


def test_a_container_check_naming_an_unknown_context_field_is_refused():
    with pytest.raises(ValueError, match=r"^privileged: unknown context fields \['cgroups', 'kernel'\]$"):
        ContainerCheck(privileged, needs=["kernel", "cgroups", "apparmor"])


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("cgroup_version", "not known here: cgroup version"),
        ("daemon_no_new_privileges", "not known here: daemon no new privileges"),
    ],
)
def test_a_context_field_not_known_is_an_error_naming_it(field, message):
    with pytest.raises(FactUnavailable) as raised:
        Context().need(field)
    assert str(raised.value) == message


def test_judge_container_sorts_each_control_into_findings_not_applicable_or_undetermined(empty_registry):
    register(
        {
            "X.7": ContainerCheck(privileged),
            "X.8": ContainerCheck(needs_cgroups, needs=["cgroup_version"]),
            "X.9": ContainerCheck(privileged, needs=["apparmor"], precondition=only_where_apparmor),
            "X.10": HostCheck(host_wide),
        }
    )
    verdict = judge_container(running("debug", Privileged=True), Context(apparmor=False))
    assert verdict.findings == {"X.7": ["runs --privileged"]}
    assert verdict.undetermined == {"X.8": "not known here: cgroup version"}
    assert verdict.not_applicable == {"X.9": "no AppArmor here"}
    with pytest.raises(KeyError, match=r"X\.10 is not a container control"):
        judge_container(running("debug"), Context(), ["X.10"])
