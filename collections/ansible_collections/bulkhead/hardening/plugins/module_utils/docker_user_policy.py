# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind the docker_user_policy module: the Bulkhead policy as DOCKER-USER rules.

No Ansible imports here, so unit tests exercise it directly. The module reads the engine's networks
and the chain (``iptables -S DOCKER-USER``), and this file computes everything else:

- ``desired_rules``: the policy (allow rules by network and destination, default deny east-west
  and egress) as iptables rules, each carrying ``-m comment --comment "bulkhead:<name>"``, in the
  order ``iptables -S`` prints them;
- ``plan``: whether the chain already holds exactly those rules at its top, the chain predicted
  after the change, and one ``iptables-restore --noflush`` script that removes every Bulkhead rule
  and inserts the wanted ones at the top in a single transaction. Rules without a ``bulkhead:``
  comment belong to someone else: they are never removed and keep their order, below ours;
- ``rollback_script``: puts the chain back exactly as it was read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ipaddress
import re
import shlex

CHAIN = "DOCKER-USER"
PREFIX = "bulkhead:"
# The interfaces of container networks besides the managed ones: Docker names user bridges
# br-<network id[:12]> and the default bridge docker0 (iptables' "+" is a wildcard suffix).
CONTAINER_INTERFACES = ("br-+", "docker0")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
PROTOCOLS = ("tcp", "udp", "all")
# Characters xtables_save_string prints without quotes (iptables -S quotes anything else).
_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")


class PolicyError(Exception):
    """Anything that must stop the module before it changes the chain."""


class Network(object):
    """What a rule needs of one Docker network: its bridge interface, subnets and internal flag."""

    __slots__ = ("bridge", "internal", "name", "subnets")

    def __init__(self, name, bridge, subnets=(), internal=False):
        self.name = name
        self.bridge = bridge
        self.subnets = tuple(subnets)
        self.internal = internal

    def __repr__(self):
        return "Network(%r, %r)" % (self.name, self.bridge)


def network_from_inspect(document):
    """A Network from one ``docker network inspect`` document (bridge driver only)."""
    name = document.get("Name")
    if document.get("Driver") != "bridge":
        raise PolicyError(
            "network %s uses the %s driver: the policy is enforced on bridge networks only"
            % (name, document.get("Driver"))
        )
    options = document.get("Options") or {}
    bridge = options.get("com.docker.network.bridge.name") or "br-" + document["Id"][:12]
    subnets = [entry["Subnet"] for entry in (document.get("IPAM") or {}).get("Config") or [] if entry.get("Subnet")]
    return Network(name, bridge, subnets, bool(document.get("Internal")))


def unresolved(name):
    """A network that does not exist yet (check mode before it is created): a placeholder bridge."""
    return Network(name, "<bridge of %s>" % name)


def _cidr(value, rule_name):
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise PolicyError(
            "rule %s: 'to' must be a network of container_network_networks or an IPv4 CIDR, got %r" % (rule_name, value)
        ) from None


def _comment(label):
    return ["-m", "comment", "--comment", PREFIX + label]


def validate(rules, managed, known):
    """Refuse what iptables would accept but the policy cannot mean. ``known``: network names."""
    problems = []
    seen = set()
    for rule in rules:
        name = rule.get("name") or ""
        if not NAME.match(name):
            problems.append("rule name %r must be 1-63 characters of letters, digits, '_', '.', '-'" % name)
        elif name in seen:
            problems.append("rule name %s is used twice (every rule carries its name as a comment)" % name)
        seen.add(name)
        if rule.get("from") not in known:
            problems.append("rule %s: 'from' names %r, which is not a managed network" % (name, rule.get("from")))
        if (rule.get("proto") or "tcp") not in PROTOCOLS:
            problems.append("rule %s: proto must be one of %s" % (name, ", ".join(PROTOCOLS)))
        if rule.get("ports") and (rule.get("proto") or "tcp") == "all":
            problems.append("rule %s: ports need proto tcp or udp" % name)
        for port in rule.get("ports") or []:
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                problems.append("rule %s: port %r is not a port number (1-65535)" % (name, port))
        if rule.get("to") not in known:
            try:
                network = ipaddress.ip_network(rule.get("to"), strict=False)
            except (TypeError, ValueError):
                problems.append(
                    "rule %s: 'to' must be a managed network or an IPv4 CIDR, got %r" % (name, rule.get("to"))
                )
            else:
                if network.version != 4:
                    problems.append("rule %s: only IPv4 destinations are enforced (iptables), got %s" % (name, network))
    for name in managed:
        if name not in known:
            problems.append("network %s is managed but unknown" % name)
    if problems:
        raise PolicyError("the network policy is invalid: " + "; ".join(problems) + "; nothing was changed")


def desired_rules(rules, networks, managed, deny_east_west, deny_egress):
    """The wanted DOCKER-USER rules, first to last, as token lists without ``-A DOCKER-USER``.

    ``networks`` maps every network a rule or ``managed`` names to its Network. Order:
    1. established and related traffic is accepted (replies to allowed connections);
    2. the allow rules, in the order given, one iptables rule per port;
    3. with a default deny: traffic within one managed network returns to Docker's own rules
       (the network's icc setting decides);
    4. traffic from a managed network to another container network: dropped with the east-west
       default deny, else returned to Docker's isolation (which drops it between bridges); traffic
       from another container network into a managed one is dropped with the east-west deny;
    5. with the egress default deny, whatever else leaves a managed network is dropped.
    """
    validate(rules, managed, set(networks))
    if not rules and not deny_east_west and not deny_egress:
        return []
    wanted = [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *_comment("established"), "-j", "ACCEPT"]]
    for rule in rules:
        source = networks[rule["from"]]
        if source.internal and rule["to"] not in networks:
            raise PolicyError(
                "rule %s: network %s is internal (no egress) and cannot be allowed to reach %s; "
                "nothing was changed" % (rule["name"], source.name, rule["to"])
            )
        if rule["to"] in networks:
            head = ["-i", source.bridge, "-o", networks[rule["to"]].bridge]
        else:
            head = ["-d", _cidr(rule["to"], rule["name"]), "-i", source.bridge]
        proto = rule.get("proto") or "tcp"
        ports = rule.get("ports") or []
        if not ports:
            matches = [[] if proto == "all" else ["-p", proto]]
        else:
            matches = [["-p", proto, "-m", proto, "--dport", str(port)] for port in ports]
        wanted += [head + match + _comment(rule["name"]) + ["-j", "ACCEPT"] for match in matches]
    if not deny_east_west and not deny_egress:
        return wanted
    managed_networks = [networks[name] for name in managed]
    interfaces = list(CONTAINER_INTERFACES) + sorted(
        set(network.bridge for network in managed_networks if not network.bridge.startswith("br-"))
        - set(CONTAINER_INTERFACES)
    )
    for network in managed_networks:
        label = "same-network:" + network.name
        wanted.append(["-i", network.bridge, "-o", network.bridge, *_comment(label), "-j", "RETURN"])
    for network in managed_networks:
        for interface in interfaces:
            if deny_east_west:
                label = "deny-east-west:" + network.name
                wanted.append(["-i", network.bridge, "-o", interface, *_comment(label), "-j", "DROP"])
                wanted.append(["-i", interface, "-o", network.bridge, *_comment(label), "-j", "DROP"])
            else:
                label = "east-west-to-docker:" + network.name
                wanted.append(["-i", network.bridge, "-o", interface, *_comment(label), "-j", "RETURN"])
    if deny_egress:
        for network in managed_networks:
            wanted.append(["-i", network.bridge, *_comment("deny-egress:" + network.name), "-j", "DROP"])
    return wanted


# -- The chain as iptables -S prints it --------------------------------------------------------


def quote(token):
    """A comment as iptables -S prints it: plain when only [A-Za-z0-9_-], else double-quoted."""
    if _PLAIN.match(token):
        return token
    return '"%s"' % re.sub(r'(["\\\'])', r"\\\1", token)


def render(tokens):
    """Token list as one line of iptables -S output (comments quoted as xtables_save_string does)."""
    out = []
    for index, token in enumerate(tokens):
        if index and tokens[index - 1] == "--comment":
            out.append(quote(token))
        else:
            out.append(token)
    return " ".join(out)


def parse_chain(text, chain=CHAIN):
    """The rules of ``iptables -S CHAIN`` output, in order, as token lists without ``-A CHAIN``."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("-N ", "-P ")):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as error:
            raise PolicyError("cannot read line %d of iptables -S %s: %s (%r)" % (number, chain, error, line)) from None
        if tokens[:2] != ["-A", chain]:
            raise PolicyError("line %d of iptables -S %s is not a rule of the chain: %r" % (number, chain, line))
        rules.append(tokens[2:])
    return rules


def comment_of(tokens):
    for index, token in enumerate(tokens[:-1]):
        if token == "--comment":
            return tokens[index + 1]
    return None


def is_ours(tokens):
    comment = comment_of(tokens)
    return comment is not None and comment.startswith(PREFIX)


def key(tokens):
    """A rule's meaning, independent of the order iptables prints its matches in."""
    options = []
    negate = False
    current = None
    for token in tokens:
        if token == "!":
            negate = True
            continue
        if token.startswith("-"):
            current = [negate, token, []]
            options.append(current)
            negate = False
        elif current is not None:
            current[2].append(token)
    normal = []
    for negated, option, values in options:
        if option == "-m":
            continue  # module loads; the options that follow carry the meaning
        if option in ("-s", "-d") and values:
            with contextlib.suppress(ValueError):
                values = [str(ipaddress.ip_network(values[0], strict=False))]
        normal.append((negated, option, tuple(values)))
    return tuple(sorted(normal))


class Plan(object):
    """What the module does to the chain; ``script`` is None when nothing changes."""

    __slots__ = ("after", "before", "changed", "script", "wanted")

    def __init__(self, before, after, wanted, script):
        self.before = before
        self.after = after
        self.wanted = wanted
        self.script = script
        self.changed = script is not None


def plan(current, wanted, chain=CHAIN):
    """Compare the chain's rules (token lists, in order) with the wanted Bulkhead rules.

    In place means: the first rules of the chain are exactly the wanted ones, in order, and no
    other rule of the chain carries a Bulkhead comment.
    """
    ours = [rule for rule in current if is_ours(rule)]
    foreign = [rule for rule in current if not is_ours(rule)]
    top = current[: len(wanted)]
    in_place = len(ours) == len(wanted) and [key(rule) for rule in top] == [key(rule) for rule in wanted]
    after = [list(rule) for rule in wanted] + foreign
    if in_place:
        return Plan(current, current, wanted, None)
    lines = ["*filter"]
    lines += ["-D %s %s" % (chain, render(rule)) for rule in ours]
    lines += ["-I %s %d %s" % (chain, position, render(rule)) for position, rule in enumerate(wanted, start=1)]
    lines.append("COMMIT")
    return Plan(current, after, wanted, "\n".join(lines) + "\n")


def chain_text(rules, chain=CHAIN):
    """The chain as ``iptables -S CHAIN`` prints it (for diffs and for comparing after applying)."""
    return "".join("-A %s %s\n" % (chain, render(rule)) for rule in rules)


def rollback_script(rules, chain=CHAIN):
    """Put the chain back as it was read: declaring a user chain in iptables-restore flushes it."""
    lines = ["*filter", ":%s - [0:0]" % chain]
    lines += ["-A %s %s" % (chain, render(rule)) for rule in rules]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def same_rules(one, other):
    return [key(rule) for rule in one] == [key(rule) for rule in other]


def saved_rules(wanted, chain=CHAIN):
    """The rules file the boot-time unit re-applies: the same inserts, after removing ours."""
    header = (
        "# Bulkhead's DOCKER-USER policy, written by bulkhead.hardening.docker_user_policy.\n"
        "# bulkhead-docker-user-restore removes every rule with a bulkhead: comment from the chain and\n"
        "# inserts these at its top, in one iptables-restore transaction. Do not edit: re-run the role.\n"
    )
    return header + "".join(
        "-I %s %d %s\n" % (chain, position, render(rule)) for position, rule in enumerate(wanted, start=1)
    )
