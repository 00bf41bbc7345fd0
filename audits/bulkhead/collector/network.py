"""The engine's packet filter: the DOCKER-USER chain, where the east-west and egress policy lives."""

from .facts import FactError, run

CHAIN = "DOCKER-USER"


def chain_rules(save_output, chain=CHAIN):
    """The ``-A CHAIN ...`` lines of `iptables-save -t filter` output, and whether the chain exists."""
    lines = [line.strip() for line in save_output.splitlines()]
    exists = any(line.split()[:1] == [":" + chain] for line in lines if line)
    rules = [line for line in lines if line.startswith("-A {} ".format(chain))]
    return exists or bool(rules), rules


def docker_user_chain():
    """{"exists", "rules", "source"}: the rules of DOCKER-USER as `iptables -S` prints them.

    `iptables -S DOCKER-USER` first; when it fails (no such chain, an older iptables), the filter
    table from `iptables-save`. Both failing is an error: the policy could not be read."""
    try:
        output = run(["iptables", "-w", "5", "-S", CHAIN])
    except FactError as first:
        try:
            output = run(["iptables-save", "-t", "filter"])
        except FactError as second:
            raise FactError("cannot read the {} chain: {}; {}".format(CHAIN, first, second)) from None
        exists, rules = chain_rules(output)
        return {"exists": exists, "rules": rules, "source": "iptables-save -t filter"}
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    rules = [line for line in lines if line.startswith("-A {} ".format(CHAIN))]
    return {"exists": True, "rules": rules, "source": "iptables -S {}".format(CHAIN)}
