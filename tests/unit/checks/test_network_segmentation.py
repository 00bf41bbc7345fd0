"""bulkhead.checks.network_segmentation: BH-8.1 to BH-8.5, table-driven on recorded-shape facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from checkcases import outcome

from bulkhead.checks.network_segmentation import policy_findings
from bulkhead.facts import HostState

UNREADABLE = object()
IPTABLES = Path(__file__).resolve().parents[2] / "data" / "iptables"
DOCKER = "docker (rootful)"
PODMAN = "podman (rootful)"
APPS = {"container_app_label": "app"}
ZONES = {"container_zone_label": "zone"}


def network(
    name: str,
    *,
    icc: str | None = None,
    internal: Any = False,
    zone: str | None = None,
    engine: str = DOCKER,
    driver: str = "bridge",
) -> dict[str, Any]:
    kind = engine.split()[0]
    options = {} if icc is None else {"com.docker.network.bridge.enable_icc": icc}
    return {
        "Name": name,
        "Engine": engine,
        "EngineKind": kind,
        "EngineMode": engine.split()[1].strip("(),"),
        "Driver": driver,
        "Internal": internal,
        "Options": options,
        "Labels": {"zone": zone} if zone else {},
        "Containers": [],
        "IccConfigurable": kind == "docker" and driver == "bridge",
    }


DEFAULTS = [network("bridge", icc="true"), network("host", driver="host"), network("none", driver="null")]


def container(
    name: str,
    networks: list[str],
    *,
    app: str | None = None,
    zone: str | None = None,
    engine: str = DOCKER,
    running: bool = True,
    values: Any = None,
) -> dict[str, Any]:
    labels = {key: value for key, value in (("app", app), ("zone", zone), ("secret.token", "x")) if value}
    return {
        "Id": name * 4, "Name": name, "Engine": engine, "EngineKind": engine.split()[0],
        "EngineMode": engine.split()[1].strip("(),"), "Networks": networks,
        "State": {"Running": running},
        "Config": {"Labels": sorted(labels), "LabelValues": values if values is not None else
                   {key: labels[key] for key in ("app", "zone") if key in labels}},
    }  # fmt: skip


def host(networks: Any = (), containers: Any = (), chain: Any = None) -> HostState:
    values = {"networks": DEFAULTS + list(networks) if networks is not UNREADABLE else UNREADABLE,
              "containers": containers, "docker_user_chain": chain}  # fmt: skip
    return HostState(
        "test",
        {
            name: {"error": "permission denied"} if value is UNREADABLE else {"value": value}
            for name, value in values.items()
            if value is not None
        },
    )


def chain(*rules: str, exists: bool = True) -> dict[str, Any]:
    return {"exists": exists, "rules": list(rules), "source": "iptables -S DOCKER-USER"}


ZONED = [network("pci-net", icc="false", internal=True, zone="pci"), network("pub-net", icc="false", zone="public")]
POLICY = {"network_policy_expected": True}
DENY = {"network_policy_expected": True, "network_policy_default_deny": True}
ALLOW = (
    '-A DOCKER-USER -i br-shop -o br-shop -p tcp -m tcp --dport 80 -m comment --comment "bulkhead: shop web" -j ACCEPT'
)
DROP = '-A DOCKER-USER -i br-shop -m comment --comment "bulkhead: default deny shop" -j DROP'
RETURN = "-A DOCKER-USER -j RETURN"

# (control, host, settings, outcome, reasons)
CASES: list[tuple[str, HostState, dict[str, Any], str, list[str]]] = [
    # BH-8.1: icc on user-defined Docker bridges
    ("BH-8.1", host(), {}, "not_applicable", ["no user-defined Docker bridge network"]),
    ("BH-8.1", host([network("podman", engine=PODMAN), network("p-net", engine=PODMAN)]), {}, "not_applicable", ["no user-defined Docker bridge network; Podman networks have no inter-container communication switch"]),
    ("BH-8.1", host([network("shop-net", icc="false")]), {}, "pass", []),
    ("BH-8.1", host([network("shop-net", icc="False")]), {}, "pass", []),
    ("BH-8.1", host([network("shop-net", icc="true")]), {}, "fail", ["network shop-net allows inter-container communication"]),
    ("BH-8.1", host([network("shop-net")]), {}, "fail", ["network shop-net allows inter-container communication"]),
    ("BH-8.1", host([network("shop-net"), network("pay-net", icc="false"), network("ov", driver="overlay")]), {}, "fail", ["network shop-net allows inter-container communication"]),
    ("BH-8.1", host([network("shop-net"), network("pay-net", engine="docker (rootless, user alice)")]), {}, "fail", ["network shop-net allows inter-container communication", "network pay-net [docker (rootless, user alice)] allows inter-container communication"]),
    ("BH-8.1", host([network("shop-net"), network("cache-1")]), {"icc_allowed_networks": ["shop-net", "cache-*"]}, "pass", []),
    ("BH-8.1", host(UNREADABLE), {}, "error", ["networks: permission denied"]),
    # BH-8.2: no-egress zones on internal networks
    ("BH-8.2", host(ZONED), {"no_egress_zones": ["pci"]}, "not_applicable", ["no network_zone_label or container_zone_label configured"]),
    ("BH-8.2", host(ZONED), ZONES, "not_applicable", ["no no_egress_zones configured"]),
    ("BH-8.2", host(ZONED), ZONES | {"no_egress_zones": ["pci"]}, "pass", []),
    ("BH-8.2", host(ZONED), {"network_zone_label": "zone", "no_egress_zones": ["pci", "public"]}, "fail", ["network pub-net of zone public is not internal (it routes out of the host)"]),
    ("BH-8.2", host([network("p", zone="pci", engine=PODMAN)]), ZONES | {"no_egress_zones": ["pci"]}, "fail", ["network p [podman (rootful)] of zone pci is not internal (it routes out of the host)"]),
    ("BH-8.2", host([network("p", zone="pci", internal=None)]), ZONES | {"no_egress_zones": ["pci"]}, "error", ["network p: the engine does not say whether it is internal"]),
    ("BH-8.2", host(ZONED), {"network_zone_label": "tier", "no_egress_zones": ["pci"]}, "pass", []),  # no network labelled tier
    ("BH-8.2", host(UNREADABLE), ZONES | {"no_egress_zones": ["pci"]}, "error", ["networks: permission denied"]),
    # BH-8.3: containers bridging zones, networks joining zones
    ("BH-8.3", host(ZONED, [container("pay-api", ["pci-net", "pub-net"])]), {}, "not_applicable", ["no container_zone_label or network_zone_label configured"]),
    ("BH-8.3", host(ZONED, []), ZONES, "not_applicable", ["no running containers"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pci-net"], zone="pci"), container("web", ["pub-net"], zone="public")]), ZONES, "pass", []),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pci-net", "pub-net"], zone="pci")]), ZONES, "fail", ["container pay-api bridges zones pci and public"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pci-net", "pub-net"])]), {"network_zone_label": "zone"}, "fail", ["container pay-api bridges zones pci and public"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pub-net"], zone="pci")]), ZONES, "fail", ["container pay-api bridges zones pci and public"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pub-net"], zone="pci"), container("old", ["pci-net", "pub-net"], zone="pci", running=False)]), ZONES, "fail", ["container pay-api bridges zones pci and public"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["host"], zone="pci")]), ZONES, "pass", []),
    ("BH-8.3", host([*ZONED, network("shared")], [container("a", ["shared"], zone="pci"), container("b", ["shared"], zone="public"), container("c", ["shared"])]), ZONES, "fail", ["network shared joins zones pci and public (containers a, b)"]),
    ("BH-8.3", host([*ZONED, network("pub-net", zone="public", engine=PODMAN)], [container("a", ["pub-net"], zone="pci", engine=PODMAN)]), ZONES, "fail", ["container a [podman (rootful)] bridges zones pci and public"]),
    ("BH-8.3", host(ZONED, [container("pay-api", ["pci-net"], zone="pci", values={})]), ZONES, "error", ["the collector did not report the value of label 'zone' of container pay-api"]),
    ("BH-8.3", host(ZONED, [{**container("pay-api", ["pci-net"], zone="pci"), "Config": {"Labels": ["zone"]}}]), ZONES, "error", ["the collector did not report the value of label 'zone' of container pay-api"]),
    ("BH-8.3", host(UNREADABLE, [container("pay-api", ["pci-net"], zone="pci")]), ZONES, "error", ["networks: permission denied"]),
    # BH-8.4: applications sharing a network
    ("BH-8.4", host([network("shop-net")], [container("shop-web", ["shop-net"], app="shop")]), {}, "not_applicable", ["no container_app_label configured"]),
    ("BH-8.4", host([network("shop-net")], []), APPS, "not_applicable", ["no running containers"]),
    ("BH-8.4", host([network("shop-net"), network("pay-net")], [container("shop-web", ["shop-net"], app="shop"), container("shop-db", ["shop-net"], app="shop"), container("pay-api", ["pay-net"], app="pay")]), APPS, "pass", []),
    ("BH-8.4", host([network("shared")], [container("shop-web", ["shared"], app="shop"), container("pay-api", ["shared"], app="pay")]), APPS, "fail", ["network shared is shared by applications pay and shop (containers pay-api, shop-web)"]),
    ("BH-8.4", host([network("shared")], [container("shop-web", ["shared"], app="shop"), container("tool", ["shared"])]), APPS, "fail", ["network shared: containers without label app (tool) share it with application shop"]),
    ("BH-8.4", host([], [container("x", ["bridge"]), container("y", ["bridge"])]), APPS, "pass", []),  # nobody labelled
    ("BH-8.4", host([], [container("shop-web", ["bridge"], app="shop"), container("pay-api", ["bridge"], app="pay")]), APPS, "fail", ["network bridge (the default bridge) is shared by applications pay and shop (containers pay-api, shop-web)"]),
    ("BH-8.4", host([], [container("shop-web", ["host"], app="shop"), container("pay-api", ["host"], app="pay"), container("n", ["none"], app="n")]), APPS, "pass", []),  # host network: CIS 5.9
    ("BH-8.4", host([network("s", engine=PODMAN)], [container("a", ["s"], app="a"), container("b", ["s"], app="b", engine=PODMAN)]), APPS, "pass", []),  # same name, two engines
    ("BH-8.4", host([network("shared")], [container("shop-web", ["shared"], app="shop"), container("pay-api", ["shared"], app="pay", running=False)]), APPS, "pass", []),
    ("BH-8.4", host([network("shared")], [container("shop-web", ["shared"], app="shop", values={})]), APPS, "error", ["the collector did not report the value of label 'app' of container shop-web"]),
    ("BH-8.4", host([], [container("a", ["gone-net"], app="a", engine=PODMAN), container("b", ["gone-net"], app="b", engine=PODMAN)]), APPS, "fail", ["network gone-net [podman (rootful)] is shared by applications a and b (containers a, b)"]),  # not listed (any more)
    ("BH-8.4", host([], [container("a", ["podman"], app="a", engine=PODMAN), container("b", ["podman"], app="b", engine=PODMAN)]), APPS, "fail", ["network podman [podman (rootful)] (the default bridge) is shared by applications a and b (containers a, b)"]),
    # BH-8.5: the DOCKER-USER policy
    ("BH-8.5", host(chain=UNREADABLE), {}, "not_applicable", ["no network policy configured (network_policy_expected is false)"]),
    ("BH-8.5", host(chain=UNREADABLE), POLICY, "error", ["docker_user_chain: permission denied"]),
    ("BH-8.5", host(), POLICY, "error", ["the collector did not report 'docker_user_chain'"]),
    ("BH-8.5", host(chain=chain(exists=False)), POLICY, "fail", ["the DOCKER-USER chain does not exist (is the Docker engine running with iptables?)"]),
    ("BH-8.5", host(chain=chain(RETURN)), POLICY, "fail", ["DOCKER-USER holds no Bulkhead rule (comment bulkhead:...): the east-west and egress policy is not loaded"]),
    ("BH-8.5", host(chain=chain(ALLOW, RETURN)), POLICY, "pass", []),
    ("BH-8.5", host(chain=chain(ALLOW, RETURN)), DENY, "fail", ["DOCKER-USER has no Bulkhead default deny (a DROP or REJECT rule commented bulkhead:...)"]),
    ("BH-8.5", host(chain=chain(ALLOW, DROP, RETURN)), DENY, "pass", []),
    ("BH-8.5", host(chain=chain(ALLOW, DROP.replace("DROP", "REJECT --reject-with icmp-port-unreachable"), RETURN)), DENY, "pass", []),
    ("BH-8.5", host(chain=chain(RETURN, ALLOW, DROP)), DENY, "fail", ["DOCKER-USER rule 1 (RETURN, unconditional) comes before the Bulkhead rules: they never match"]),
    ("BH-8.5", host(chain=chain(DROP, ALLOW, RETURN)), DENY, "fail", ["DOCKER-USER rule 2 (Bulkhead ACCEPT) comes after the last default deny (rule 1)"]),
    ("BH-8.5", host(chain=chain(DROP, ALLOW, RETURN)), POLICY, "pass", []),  # order of allow and deny not asked
    ("BH-8.5", host(chain=chain('-A DOCKER-USER -m comment --comment "someone else" -j DROP', RETURN)), DENY, "fail", ["DOCKER-USER holds no Bulkhead rule (comment bulkhead:...): the east-west and egress policy is not loaded"]),
]  # fmt: skip
UNREACHABLE = HostState("test", {}, collection_error="cannot reach test: connection refused")
CASES += [(control, UNREACHABLE, {}, "error", ["cannot reach test: connection refused"]) for control in ("BH-8.1", "BH-8.2", "BH-8.3", "BH-8.4", "BH-8.5")]  # fmt: skip


@pytest.mark.parametrize(("control", "state", "settings", "expected", "reasons"), CASES)
def test_network_segmentation_outcome(control, state, settings, expected, reasons):
    assert outcome(control, state, settings) == (expected, reasons)


@pytest.mark.parametrize(
    ("recording", "default_deny", "findings"),
    [
        ("docker-user-empty.txt", False, 1),
        ("docker-user-policy.txt", True, 0),
        ("docker-user-policy-appended.txt", True, 1),
        ("iptables-save-filter.txt", True, 0),
        ("docker-user-role-default-deny.txt", True, 0),
    ],
)
def test_recorded_iptables_outputs(recording, default_deny, findings):
    """``iptables -S DOCKER-USER`` and ``iptables-save -t filter`` outputs, parsed as the collector does."""
    from bulkhead.collector.network import chain_rules

    text = (IPTABLES / recording).read_text()
    if recording.startswith("iptables-save"):
        exists, rules = chain_rules(text)
        assert exists
    else:
        rules = [line for line in text.splitlines() if line.startswith("-A DOCKER-USER ")]
    assert len(policy_findings(rules, default_deny)) == findings
