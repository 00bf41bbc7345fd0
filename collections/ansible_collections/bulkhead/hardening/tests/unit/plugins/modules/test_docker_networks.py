"""The docker_networks module against a fake docker client (only the commands are faked), and its plan."""

import json

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_networks import (
    NetworkError,
    create_argv,
    current_state,
    differences,
    plan,
    wanted_state,
)
from ansible_collections.bulkhead.hardening.plugins.modules import docker_networks

SHOP = {"name": "shop", "app": "shop", "zone": "public", "subnet": "172.30.1.0/24", "icc": False, "internal": False}
PAY = {"name": "pay", "app": "pay", "zone": "pci", "subnet": None, "icc": False, "internal": True}


def document(name, icc="false", internal=False, subnet="172.30.1.0/24", labels=None, driver="bridge"):
    options = {} if icc is None else {"com.docker.network.bridge.enable_icc": icc}
    return {
        "Name": name,
        "Id": name * 4,
        "Driver": driver,
        "Internal": internal,
        "Options": options,
        "IPAM": {"Config": [{"Subnet": subnet}]},
        "Labels": {"app": name, "zone": "public"} if labels is None else labels,
    }


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (document("shop"), []),
        (document("shop", icc=None), ["icc: true -> false"]),
        (document("shop", icc="true", internal=True), ["icc: true -> false", "internal: true -> false"]),
        (document("shop", subnet="10.9.0.0/16"), ["subnet: 10.9.0.0/16 -> 172.30.1.0/24"]),
        (document("shop", labels={"app": "shop", "zone": "pci", "team": "x"}), ["label zone: pci -> public"]),
        (document("shop", driver="macvlan"), ["driver: macvlan -> bridge"]),
    ],
    ids=["same", "icc-default-on", "icc-and-internal", "subnet", "zone-label", "driver"],
)
def test_differences(current, expected):
    assert differences(wanted_state(SHOP, "app", "zone"), current_state(current)) == expected


def test_any_subnet_is_accepted_when_none_is_declared():
    wanted = wanted_state(PAY, "app", "zone")
    assert (
        differences(wanted, current_state(document("pay", internal=True, labels={"app": "pay", "zone": "pci"}))) == []
    )


@pytest.mark.parametrize(
    ("existing", "attached", "recreate", "actions", "message"),
    [
        ({}, {}, False, ["create", "create"], None),
        ({"shop": document("shop")}, {}, False, ["present", "create"], None),
        (
            {"shop": document("shop", icc="true")},
            {},
            False,
            None,
            "network shop exists with other options \\(icc: true -> false\\)",
        ),
        ({"shop": document("shop", icc="true")}, {"shop": []}, True, ["recreate", "create"], None),
        ({"shop": document("shop", icc="true")}, {"shop": ["web"]}, True, None, "containers are attached \\(web\\)"),
    ],
    ids=["fresh", "one-present", "conflict", "recreate-unattached", "recreate-attached"],
)
def test_plan(existing, attached, recreate, actions, message):
    if message:
        with pytest.raises(NetworkError, match=message) as raised:
            plan([SHOP, PAY], existing, attached, "app", "zone", recreate)
        assert raised.value.args[1] and "shop" in raised.value.args[1][0]
    else:
        assert [
            action for _n, action, _w, _c, _d in plan([SHOP, PAY], existing, attached, "app", "zone", recreate)
        ] == actions


@pytest.mark.parametrize(
    ("networks", "labels", "message"),
    [
        ([SHOP, SHOP], ("app", "zone"), "network shop is declared twice"),
        ([SHOP | {"name": "-x"}], ("app", "zone"), "is not a Docker network name"),
        ([SHOP | {"zone": " "}], ("app", "zone"), "zone must not be empty"),
        ([SHOP | {"subnet": "172.30.1.1/24"}], ("app", "zone"), "is not a network address"),
        ([SHOP], ("app", "app"), "must differ"),
    ],
    ids=["twice", "bad-name", "empty-zone", "host-bits", "same-labels"],
)
def test_invalid_declarations_are_refused(networks, labels, message):
    with pytest.raises(NetworkError, match=message):
        plan(networks, {}, {}, labels[0], labels[1], False)


def test_create_argv_sets_icc_explicitly():
    assert create_argv("docker", "pay", wanted_state(PAY, "app", "zone")) == [
        *("docker", "network", "create", "--driver", "bridge"),
        *("--opt", "com.docker.network.bridge.enable_icc=false", "--internal"),
        *("--label", "app=pay", "--label", "zone=pci", "pay"),
    ]


class FakeDocker:
    def __init__(self, networks, attached=None):
        self.networks = dict(networks)
        self.attached = attached or {}
        self.changes = []

    def __call__(self, argv, **_kwargs):
        args = argv[1:]
        if args[:2] == ["network", "ls"]:
            return 0, "".join(name + "\n" for name in self.networks), ""
        if args[:2] == ["network", "inspect"]:
            return 0, json.dumps([self.networks[name] for name in args[2:]]), ""
        if args[:2] == ["ps", "-a"]:
            name = args[3].split("=", 1)[1]
            return 0, "".join(entry + "\n" for entry in self.attached.get(name, [])), ""
        if args[:2] == ["network", "rm"]:
            self.changes.append(("rm", args[2]))
            del self.networks[args[2]]
            return 0, "", ""
        if args[:2] == ["network", "create"]:
            self.changes.append(("create", args[-1]))
            icc = args[args.index("--opt") + 1].split("=")[1]
            labels = dict(args[i + 1].split("=") for i, token in enumerate(args) if token == "--label")
            subnet = args[args.index("--subnet") + 1] if "--subnet" in args else "172.17.9.0/24"
            self.networks[args[-1]] = document(args[-1], icc, "--internal" in args, subnet, labels)
            return 0, "", ""
        raise AssertionError(argv)


class FakeModule:
    def __init__(self, docker, check_mode=False, **params):
        self.params = {"networks": [SHOP, PAY], "app_label": "app", "zone_label": "zone", "recreate": False} | params
        self.params["docker"] = "docker"
        self.check_mode = check_mode
        self._diff = True
        self.docker = docker

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, argv, **kwargs):
        return self.docker(argv, **kwargs)


def test_creates_then_changes_nothing():
    docker = FakeDocker({"bridge": document("bridge", icc="true", labels={})})
    result = docker_networks.apply(FakeModule(docker))
    assert result["networks"] == {"shop": "create", "pay": "create"}
    assert (
        "pay: absent" in result["diff"]["before"]
        and "pay: driver=bridge icc=false internal=true" in result["diff"]["after"]
    )
    docker.changes.clear()
    again = docker_networks.apply(FakeModule(docker))
    assert not again["changed"] and docker.changes == []


def test_check_mode_predicts_and_changes_nothing():
    docker = FakeDocker({})
    result = docker_networks.apply(FakeModule(docker, check_mode=True))
    assert result["changed"] and docker.changes == [] and docker.networks == {}


def test_recreate_removes_then_creates_only_the_differing_network():
    docker = FakeDocker({"shop": document("shop", icc="true")})
    docker_networks.apply(FakeModule(docker, recreate=True))
    assert docker.changes == [("rm", "shop"), ("create", "shop"), ("create", "pay")]


def test_a_conflict_changes_nothing_at_all():
    docker = FakeDocker({"shop": document("shop", icc="true")})
    with pytest.raises(NetworkError):
        docker_networks.apply(FakeModule(docker))
    assert docker.changes == []
