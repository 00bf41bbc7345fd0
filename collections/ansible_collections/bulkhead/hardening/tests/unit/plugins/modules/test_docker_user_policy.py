"""The docker_user_policy module end to end against a fake iptables and docker (only commands are faked).

The fake keeps a DOCKER-USER chain and applies iptables-restore scripts to it the way iptables-restore
does (-D by rule, -I by position, a chain declaration flushes), so the tests see what the module's
commands would leave in a real chain. Real iptables runs in the molecule scenario network_segmentation.
"""

import json
import shlex

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_user_policy import PolicyError, key
from ansible_collections.bulkhead.hardening.plugins.modules import docker_user_policy

NETWORKS = {
    "shop": {"Name": "shop", "Id": "aaaaaaaaaaaa0000", "Driver": "bridge", "Internal": False},
    "pay": {"Name": "pay", "Id": "bbbbbbbbbbbb0000", "Driver": "bridge", "Internal": True},
}
OPERATOR = "-A DOCKER-USER -s 203.0.113.7/32 -m comment --comment operator-rule -j DROP"


class FakeHost:
    """docker network ls/inspect, iptables -S and iptables-restore over an in-memory chain."""

    def __init__(self, chain, networks=None, fail=None):
        self.chain = [line for line in chain if line]
        self.networks = NETWORKS if networks is None else networks
        self.fail = fail or {}  # 'test', 'apply', 'rollback' -> iptables-restore fails at that step
        self.calls = []

    def __call__(self, argv, data=None, **_kwargs):
        command = argv[0].rsplit("/", 1)[-1]
        self.calls.append((command, list(argv[1:])))
        if command == "docker" and argv[1:3] == ["network", "ls"]:
            return 0, "".join(name + "\n" for name in self.networks), ""
        if command == "docker" and argv[1:3] == ["network", "inspect"]:
            return 0, json.dumps([self.networks[name] for name in argv[3:]]), ""
        if command == "iptables":
            return 0, "-N DOCKER-USER\n" + "".join(line + "\n" for line in self.chain), ""
        if command == "iptables-restore":
            return self.restore(argv, data.decode())
        raise AssertionError("unexpected command %r" % (argv,))

    def restore(self, argv, script):
        rollback = ":DOCKER-USER - [0:0]" in script
        step = "test" if "--test" in argv else "rollback" if rollback else "apply"
        if self.fail.get(step):
            return 1, "", "iptables-restore: line 2 failed"
        if step == "test":
            return 0, "", ""
        chain = list(self.chain)
        for line in script.splitlines():
            tokens = shlex.split(line)
            if line.startswith(":DOCKER-USER"):
                chain = []
            elif tokens[:2] == ["-A", "DOCKER-USER"]:
                chain.append(line)
            elif tokens[:2] == ["-D", "DOCKER-USER"]:
                wanted = key(tokens[2:])
                index = next(i for i, rule in enumerate(chain) if key(shlex.split(rule)[2:]) == wanted)
                del chain[index]
            elif tokens[:2] == ["-I", "DOCKER-USER"]:
                chain.insert(int(tokens[2]) - 1, "-A DOCKER-USER " + line.split(" ", 3)[3])
        self.chain = chain
        return 0, "", ""


class FakeModule:
    def __init__(self, host, params, check_mode=False, diff=True):
        self.params = {
            "rules": [],
            "networks": [],
            "recreated": [],
            "default_deny_east_west": False,
            "default_deny_egress": False,
            "save_path": None,
            "docker": "docker",
        } | params
        self.check_mode = check_mode
        self._diff = diff
        self.host = host

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name

    def run_command(self, argv, **kwargs):
        return self.host(argv, **kwargs)


POLICY = {
    "networks": ["shop", "pay"],
    "rules": [{"name": "web", "from": "shop", "to": "shop", "ports": [8080], "proto": "tcp"}],
    "default_deny_east_west": True,
    "default_deny_egress": True,
}


def run(host, check_mode=False, **params):
    return docker_user_policy.apply(FakeModule(host, POLICY | params, check_mode))


def restores(host):
    return [call[1] for call in host.calls if call[0] == "iptables-restore"]


def ours(chain):
    return [line for line in chain if "bulkhead:" in line]


def test_applies_at_the_top_keeps_foreign_rules_and_a_second_run_changes_nothing(tmp_path):
    host = FakeHost([OPERATOR, "-A DOCKER-USER -j RETURN"])
    result = run(host, save_path=str(tmp_path / "rules"))
    assert result["changed"]
    assert host.chain[: len(result["rules"])] == result["rules"]
    assert host.chain[-2:] == [OPERATOR, "-A DOCKER-USER -j RETURN"]
    assert [args[-1] for args in restores(host)] == ["--test", "--noflush"]
    assert result["bridges"] == {"shop": "br-aaaaaaaaaaaa", "pay": "br-bbbbbbbbbbbb"}
    assert (tmp_path / "rules").stat().st_mode & 0o777 == 0o600
    host.calls.clear()
    again = run(host, save_path=str(tmp_path / "rules"))
    assert not again["changed"] and again["diff"] == [] and restores(host) == []


def test_check_mode_predicts_the_chain_exactly_and_changes_nothing(tmp_path):
    host = FakeHost([OPERATOR, "-A DOCKER-USER -j RETURN"])
    predicted = run(host, check_mode=True, save_path=str(tmp_path / "rules"))
    assert restores(host) == [] and host.chain == [OPERATOR, "-A DOCKER-USER -j RETURN"]
    assert not (tmp_path / "rules").exists()
    assert [entry["before_header"] for entry in predicted["diff"]] == [
        "iptables -S DOCKER-USER",
        str(tmp_path / "rules"),
    ]
    run(host, save_path=str(tmp_path / "rules"))
    assert predicted["diff"][0]["after"] == "".join(line + "\n" for line in host.chain)
    assert predicted["diff"][1]["after"] == (tmp_path / "rules").read_text()


def test_check_mode_names_networks_not_created_yet_as_placeholders():
    host = FakeHost(["-A DOCKER-USER -j RETURN"], networks={})
    result = run(host, check_mode=True)
    assert result["bridges"]["shop"] == "<bridge of shop>" and result["changed"]


def test_check_mode_names_networks_about_to_be_re_created_as_placeholders():
    """Their bridges go with them: a prediction with the old bridge would not be what the real run writes."""
    host = FakeHost(["-A DOCKER-USER -j RETURN"])
    predicted = run(host, check_mode=True, recreated=["shop"])
    assert predicted["bridges"] == {"shop": "<bridge of shop>", "pay": "br-bbbbbbbbbbbb"}
    assert "br-aaaaaaaaaaaa" not in predicted["diff"][0]["after"]
    # Outside check mode the networks exist again by then and are read as they are.
    applied = run(host, recreated=["shop"])
    assert applied["bridges"] == {"shop": "br-aaaaaaaaaaaa", "pay": "br-bbbbbbbbbbbb"}


@pytest.mark.parametrize(
    ("fail", "message", "restored"),
    [
        ({"test": True}, "iptables-restore --test refused the generated rules", False),
        ({"apply": True}, "iptables-restore failed .*; the chain saved before was restored", True),
        (
            {"readback": True},
            "(?s)the chain read back is not the predicted one.*; the chain saved before was restored",
            True,
        ),
        ({"apply": True, "rollback": True}, "restoring the saved chain failed too", False),
    ],
    ids=["refused-by-test", "apply-fails", "readback-differs", "rollback-fails"],
)
def test_a_rule_set_that_does_not_load_leaves_the_chain_as_it_was(tmp_path, fail, message, restored):
    before = [
        OPERATOR,
        '-A DOCKER-USER -i br-x -m comment --comment "bulkhead:old" -j DROP',
        "-A DOCKER-USER -j RETURN",
    ]
    host = FakeHost(before, fail={step: True for step in fail if step != "readback"})
    if fail.get("readback"):
        original = host.restore

        def apply_then_break(argv, script):
            outcome = original(argv, script)
            if "--test" not in argv and ":DOCKER-USER" not in script:
                host.chain = host.chain[1:]  # someone else's change slipped in
            return outcome

        host.restore = apply_then_break
    with pytest.raises(PolicyError, match=message):
        run(host, save_path=str(tmp_path / "rules"))
    if restored or fail.get("test"):
        assert host.chain == before
    assert not (tmp_path / "rules").exists()


def test_a_missing_network_is_an_error_outside_check_mode():
    with pytest.raises(PolicyError, match="network pay does not exist"):
        run(FakeHost([], networks={"shop": NETWORKS["shop"]}))


def test_an_empty_policy_removes_only_bulkhead_rules():
    host = FakeHost([OPERATOR, "-A DOCKER-USER -j RETURN"])
    run(host)
    assert ours(host.chain)
    result = run(host, rules=[], default_deny_east_west=False, default_deny_egress=False)
    assert result["changed"] and host.chain == [OPERATOR, "-A DOCKER-USER -j RETURN"]


def test_commands_are_argv_lists():
    host = FakeHost(["-A DOCKER-USER -j RETURN"])
    run(host)
    assert all(isinstance(args, list) for _command, args in host.calls)
