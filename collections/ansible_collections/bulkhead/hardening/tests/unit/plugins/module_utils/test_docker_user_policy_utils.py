"""The DOCKER-USER policy as rules: what is wanted, what counts as in place, the restore scripts."""

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_user_policy import (
    Network,
    PolicyError,
    chain_text,
    desired_rules,
    is_ours,
    key,
    network_from_inspect,
    parse_chain,
    plan,
    quote,
    rollback_script,
    saved_rules,
)

SHOP = Network("shop", "br-shop", ["172.30.1.0/24"])
PAY = Network("pay", "br-pay", ["172.30.2.0/24"], internal=True)
NETWORKS = {"shop": SHOP, "pay": PAY}
ESTABLISHED = '-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "bulkhead:established" -j ACCEPT'


def lines(rules):
    return chain_text(rules).splitlines()


def rule(name, source, to, ports=(), proto="tcp"):
    return {"name": name, "from": source, "to": to, "ports": list(ports), "proto": proto}


@pytest.mark.parametrize(
    ("rules", "east_west", "egress", "expected"),
    [
        ([], False, False, []),
        (
            [rule("web", "shop", "shop", [8080, 8443])],
            False,
            False,
            [
                "-A DOCKER-USER " + ESTABLISHED,
                '-A DOCKER-USER -i br-shop -o br-shop -p tcp -m tcp --dport 8080 -m comment --comment "bulkhead:web" '
                "-j ACCEPT",
                '-A DOCKER-USER -i br-shop -o br-shop -p tcp -m tcp --dport 8443 -m comment --comment "bulkhead:web" '
                "-j ACCEPT",
            ],
        ),
        (
            [rule("dns", "shop", "192.0.2.53", [53], "udp"), rule("any", "shop", "198.51.100.0/24", proto="all")],
            False,
            False,
            [
                "-A DOCKER-USER " + ESTABLISHED,
                "-A DOCKER-USER -d 192.0.2.53/32 -i br-shop -p udp -m udp --dport 53 "
                '-m comment --comment "bulkhead:dns" -j ACCEPT',
                '-A DOCKER-USER -d 198.51.100.0/24 -i br-shop -m comment --comment "bulkhead:any" -j ACCEPT',
            ],
        ),
        (
            [],
            False,
            True,
            [
                "-A DOCKER-USER " + ESTABLISHED,
                '-A DOCKER-USER -i br-shop -o br-shop -m comment --comment "bulkhead:same-network:shop" -j RETURN',
                '-A DOCKER-USER -i br-shop -o br-+ -m comment --comment "bulkhead:east-west-to-docker:shop" -j RETURN',
                '-A DOCKER-USER -i br-shop -o docker0 -m comment --comment "bulkhead:east-west-to-docker:shop" '
                "-j RETURN",
                '-A DOCKER-USER -i br-shop -m comment --comment "bulkhead:deny-egress:shop" -j DROP',
            ],
        ),
        (
            [],
            True,
            False,
            [
                "-A DOCKER-USER " + ESTABLISHED,
                '-A DOCKER-USER -i br-shop -o br-shop -m comment --comment "bulkhead:same-network:shop" -j RETURN',
                '-A DOCKER-USER -i br-shop -o br-+ -m comment --comment "bulkhead:deny-east-west:shop" -j DROP',
                '-A DOCKER-USER -i br-+ -o br-shop -m comment --comment "bulkhead:deny-east-west:shop" -j DROP',
                '-A DOCKER-USER -i br-shop -o docker0 -m comment --comment "bulkhead:deny-east-west:shop" -j DROP',
                '-A DOCKER-USER -i docker0 -o br-shop -m comment --comment "bulkhead:deny-east-west:shop" -j DROP',
            ],
        ),
    ],
    ids=["nothing-no-rules", "ports-one-rule-each", "cidr-udp-and-all", "egress-only", "east-west-only"],
)
def test_desired_rules(rules, east_west, egress, expected):
    assert lines(desired_rules(rules, {"shop": SHOP}, ["shop"], east_west, egress)) == expected


def test_allows_come_before_the_denies_and_the_egress_drop_is_last():
    wanted = lines(desired_rules([rule("web", "shop", "pay", [80])], NETWORKS, ["shop", "pay"], True, True))
    comments = [line.split('"')[1] for line in wanted]
    assert comments[:2] == ["bulkhead:established", "bulkhead:web"]
    assert comments[-2:] == ["bulkhead:deny-egress:shop", "bulkhead:deny-egress:pay"]
    assert comments.index("bulkhead:same-network:pay") < comments.index("bulkhead:deny-east-west:shop")


def test_a_custom_bridge_name_is_a_container_interface_too():
    custom = Network("legacy", "legacy0")
    wanted = lines(desired_rules([], {"shop": SHOP, "legacy": custom}, ["shop", "legacy"], True, False))
    assert '-A DOCKER-USER -i br-shop -o legacy0 -m comment --comment "bulkhead:deny-east-west:shop" -j DROP' in wanted


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([rule("a b", "shop", "shop")], "rule name 'a b' must be"),
        ([rule("web", "shop", "shop"), rule("web", "shop", "shop")], "rule name web is used twice"),
        ([rule("web", "nope", "shop")], "'from' names 'nope'"),
        ([rule("web", "shop", "nowhere")], "'to' must be a managed network or an IPv4 CIDR, got 'nowhere'"),
        ([rule("web", "shop", "2001:db8::/64")], "only IPv4 destinations"),
        ([rule("web", "shop", "shop", [0])], "port 0 is not a port number"),
        ([rule("web", "shop", "shop", [80], "all")], "ports need proto tcp or udp"),
        ([rule("web", "shop", "shop", proto="icmp")], "proto must be one of"),
        ([rule("out", "pay", "192.0.2.1/32", [80])], "network pay is internal"),
    ],
    ids=[
        "bad-name",
        "duplicate",
        "unknown-from",
        "bad-to",
        "ipv6",
        "port-0",
        "ports-with-all",
        "proto",
        "internal-egress",
    ],
)
def test_invalid_policies_are_refused(rules, message):
    with pytest.raises(PolicyError, match=message):
        desired_rules(rules, NETWORKS, ["shop", "pay"], True, True)


# -- The chain: parsing, ownership, plan, scripts -------------------------------------------------

OPERATOR = "-s 203.0.113.7/32 -m comment --comment operator-rule -j DROP"
DOCKER_RETURN = "-j RETURN"


def chain(*rules):
    return "-N DOCKER-USER\n" + "".join("-A DOCKER-USER %s\n" % text for text in rules)


WANTED = desired_rules([rule("web", "shop", "shop", [8080])], NETWORKS, ["shop"], False, True)
WANTED_TEXT = [line[len("-A DOCKER-USER ") :] for line in lines(WANTED)]


@pytest.mark.parametrize(
    ("current", "changed", "after"),
    [
        ([DOCKER_RETURN], True, [*WANTED_TEXT, DOCKER_RETURN]),
        ([*WANTED_TEXT, OPERATOR, DOCKER_RETURN], False, [*WANTED_TEXT, OPERATOR, DOCKER_RETURN]),
        # Ours below another tool's rule: moved back to the top, the other rule kept.
        ([OPERATOR, *WANTED_TEXT, DOCKER_RETURN], True, [*WANTED_TEXT, OPERATOR, DOCKER_RETURN]),
        # One of ours missing, one stale rule of ours: replaced.
        (
            [*WANTED_TEXT[:-1], '-i br-x -m comment --comment "bulkhead:old" -j DROP', DOCKER_RETURN],
            True,
            [*WANTED_TEXT, DOCKER_RETURN],
        ),
        # Same meaning, matches printed in another order (iptables-nft may): in place.
        (
            [
                *WANTED_TEXT[:1],
                '-o br-shop -i br-shop -m comment --comment "bulkhead:web" -p tcp -m tcp --dport 8080 -j ACCEPT',
                *WANTED_TEXT[2:],
                DOCKER_RETURN,
            ],
            False,
            None,
        ),
    ],
    ids=["empty-chain", "in-place", "below-a-foreign-rule", "stale-and-missing", "reordered-matches"],
)
def test_plan(current, changed, after):
    result = plan(parse_chain(chain(*current)), WANTED)
    assert result.changed is changed
    if after is not None:
        assert chain_text(result.after) == "".join("-A DOCKER-USER %s\n" % text for text in after)
    if not changed:
        assert result.script is None


def test_the_script_removes_all_ours_and_inserts_the_wanted_at_the_top_in_one_transaction():
    current = parse_chain(chain(OPERATOR, '-i br-x -m comment --comment "bulkhead:old" -j DROP', DOCKER_RETURN))
    script = plan(current, WANTED).script.splitlines()
    assert script[0] == "*filter" and script[-1] == "COMMIT"
    assert script[1] == '-D DOCKER-USER -i br-x -m comment --comment "bulkhead:old" -j DROP'
    assert script[2:-1] == ["-I DOCKER-USER %d %s" % (index, text) for index, text in enumerate(WANTED_TEXT, 1)]
    assert not [line for line in script if "operator-rule" in line]


def test_nothing_wanted_removes_ours_only():
    current = parse_chain(chain(*WANTED_TEXT, OPERATOR, DOCKER_RETURN))
    result = plan(current, [])
    assert chain_text(result.after) == chain(OPERATOR, DOCKER_RETURN).replace("-N DOCKER-USER\n", "")
    assert [line for line in result.script.splitlines() if line.startswith("-I")] == []


def test_rollback_declares_the_chain_and_puts_every_rule_back_in_order():
    current = parse_chain(chain(OPERATOR, *WANTED_TEXT, DOCKER_RETURN))
    script = rollback_script(current).splitlines()
    assert script[:2] == ["*filter", ":DOCKER-USER - [0:0]"]
    assert script[2:-1] == ["-A DOCKER-USER %s" % text for text in (OPERATOR, *WANTED_TEXT, DOCKER_RETURN)]


def test_saved_rules_are_the_inserts():
    saved = saved_rules(WANTED).splitlines()
    assert [line for line in saved if not line.startswith("#")] == [
        "-I DOCKER-USER %d %s" % (index, text) for index, text in enumerate(WANTED_TEXT, 1)
    ]


@pytest.mark.parametrize(
    ("text", "ours"),
    [
        ('-A DOCKER-USER -m comment --comment "bulkhead:x" -j DROP', True),
        ("-A DOCKER-USER -m comment --comment bulkhead:x -j DROP", True),
        ('-A DOCKER-USER -m comment --comment "not bulkhead:x" -j DROP', False),
        ("-A DOCKER-USER -j RETURN", False),
    ],
)
def test_ownership_is_the_comment_prefix(text, ours):
    (tokens,) = parse_chain(text)
    assert is_ours(tokens) is ours


@pytest.mark.parametrize(
    ("text", "message"),
    [("-A FORWARD -j DROP", "is not a rule of the chain"), ('-A DOCKER-USER --comment "open', "cannot read line 1")],
)
def test_unreadable_chain_output_is_an_error(text, message):
    with pytest.raises(PolicyError, match=message):
        parse_chain(text)


def test_keys_ignore_module_loads_and_normalise_addresses():
    assert key(["-d", "192.0.2.2", "-p", "tcp", "-m", "tcp", "--dport", "80"]) == key(
        ["-p", "tcp", "--dport", "80", "-d", "192.0.2.2/32"]
    )
    assert key(["!", "-o", "br-x"]) != key(["-o", "br-x"])


@pytest.mark.parametrize(
    ("comment", "printed"), [("abc-1_2", "abc-1_2"), ("bulkhead:x", '"bulkhead:x"'), ('a"b', '"a\\"b"')]
)
def test_comments_are_quoted_as_iptables_prints_them(comment, printed):
    assert quote(comment) == printed


@pytest.mark.parametrize(
    ("document", "bridge", "internal"),
    [
        ({"Name": "n", "Id": "0123456789abcdef", "Driver": "bridge", "Internal": False}, "br-0123456789ab", False),
        (
            {
                "Name": "n",
                "Id": "x",
                "Driver": "bridge",
                "Internal": True,
                "Options": {"com.docker.network.bridge.name": "n0"},
            },
            "n0",
            True,
        ),
    ],
)
def test_network_from_inspect(document, bridge, internal):
    network = network_from_inspect(document)
    assert (network.bridge, network.internal) == (bridge, internal)


def test_only_bridge_networks_are_enforced():
    with pytest.raises(PolicyError, match="uses the overlay driver"):
        network_from_inspect({"Name": "n", "Id": "x", "Driver": "overlay"})
