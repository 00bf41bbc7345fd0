"""BH-8.x against this machine's Docker engine: deliberate segmentation mistakes, then a compliant layout.

Everything created here is named bhnet-*; the label names (bhnet.app, bhnet.zone) are ours too, so
that other containers on the machine are unlabelled for these audits and only what this test made
is judged. DOCKER-USER is only read (BH-8.5): the rules are the container_network role's job.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "bulkhead-it/busybox:local"
SETTINGS = """\
container_app_label: bhnet.app
container_zone_label: bhnet.zone
no_egress_zones: [pci]
icc_allowed_networks: [bhnet-icc-ok]
network_policy_expected: true
network_policy_default_deny: true
"""
NO_ICC = ["-o", "com.docker.network.bridge.enable_icc=false"]
# network -> docker network create options
MISTAKES_NETWORKS = {
    "bhnet-shop": ["--label", "bhnet.zone=public"],  # icc left on: BH-8.1
    "bhnet-pay": [*NO_ICC, "--label", "bhnet.zone=pci"],  # a no-egress zone, not internal: BH-8.2
    "bhnet-icc-ok": [],  # icc on, but listed in icc_allowed_networks
}
# container -> (labels, networks): the first network at `docker run`, the others connected after
MISTAKES_CONTAINERS = {
    "bhnet-shop-web": ({"bhnet.app": "shop", "bhnet.zone": "public"}, ["bhnet-shop"]),
    "bhnet-pay-api": ({"bhnet.app": "pay", "bhnet.zone": "pci"}, ["bhnet-pay", "bhnet-shop"]),  # BH-8.3, 8.4
    "bhnet-cache": ({"bhnet.app": "shop", "bhnet.zone": "public"}, ["bhnet-icc-ok"]),
}
COMPLIANT_NETWORKS = {
    "bhnet-shop": [*NO_ICC, "--label", "bhnet.zone=public"],
    "bhnet-pay": [*NO_ICC, "--internal", "--label", "bhnet.zone=pci"],
}
COMPLIANT_CONTAINERS = {
    "bhnet-shop-web": ({"bhnet.app": "shop", "bhnet.zone": "public"}, ["bhnet-shop"]),
    "bhnet-shop-db": ({"bhnet.app": "shop", "bhnet.zone": "public"}, ["bhnet-shop"]),
    "bhnet-pay-api": ({"bhnet.app": "pay", "bhnet.zone": "pci"}, ["bhnet-pay"]),
}
CONTROLS = ["BH-8.1", "BH-8.2", "BH-8.3", "BH-8.4", "BH-8.5"]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


# Podman (rootful) networks: BH-8.2 judges them as Docker's (Podman has no per-network icc switch).
PODMAN_NETWORK = "bhnet-podpci"


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def remove_ours() -> None:
    """Containers one at a time (Docker 20.10 deadlocks on concurrent removals), then networks."""
    for name in docker("ps", "-a", "--filter", "name=^bhnet-", "--format", "{{.Names}}").stdout.split():
        docker("rm", "-f", name, check=False)
    for name in docker("network", "ls", "--filter", "name=^bhnet-", "--format", "{{.Name}}").stdout.split():
        docker("network", "rm", name, check=False)
    podman("network", "rm", "--force", PODMAN_NETWORK, check=False)


def lay_out(networks: dict, containers: dict, podman_internal: bool) -> None:
    podman(
        "network", "create", *(["--internal"] if podman_internal else []), "--label", "bhnet.zone=pci", PODMAN_NETWORK
    )
    for name, options in networks.items():
        docker("network", "create", *options, name)
    for name, (labels, attached) in containers.items():
        label_options = [option for key, value in labels.items() for option in ("--label", f"{key}={value}")]
        run = ["run", "-d", "--name", name, "--network", attached[0], "--cap-drop", "ALL", *label_options]
        docker(*run, IMAGE, "sleep", "3600")
        for network in attached[1:]:
            docker("network", "connect", network, name)


def audit(tmp_path: Path) -> dict[str, dict]:
    (tmp_path / "settings.yml").write_text(SETTINGS)
    completed = subprocess.run(
        [sys.executable, "-m", "bulkhead.cli", "audit", "--hosts=local://", f"--controls={','.join(CONTROLS)}",
         f"--config={tmp_path / 'settings.yml'}", f"--json={tmp_path / 'audit.json'}", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    document = json.loads((tmp_path / "audit.json").read_text())
    return {control["id"]: control for control in document["hosts"]["local"]["controls"]}


def ours(control: dict) -> list[str]:
    return sorted(line for line in control["reasons"] if "bhnet-" in line)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, docker_engine):
    subprocess.run(["bash", str(ROOT / "scripts" / "busybox-image.sh"), IMAGE], check=True)
    remove_ours()
    try:
        lay_out(MISTAKES_NETWORKS, MISTAKES_CONTAINERS, podman_internal=False)
        mistakes = audit(tmp_path_factory.mktemp("mistakes"))
        remove_ours()
        lay_out(COMPLIANT_NETWORKS, COMPLIANT_CONTAINERS, podman_internal=True)
        compliant = audit(tmp_path_factory.mktemp("compliant"))
        yield mistakes, compliant
    finally:
        remove_ours()


@pytest.mark.parametrize(
    ("control_id", "expected"),
    [
        ("BH-8.1", ["network bhnet-shop allows inter-container communication"]),
        (
            "BH-8.2",
            [
                "network bhnet-pay of zone pci is not internal (it routes out of the host)",
                "network bhnet-podpci [podman (rootful)] of zone pci is not internal (it routes out of the host)",
            ],
        ),
        (
            "BH-8.3",
            [
                "container bhnet-pay-api bridges zones pci and public",
                "network bhnet-shop joins zones pci and public (containers bhnet-pay-api, bhnet-shop-web)",
            ],
        ),
        (
            "BH-8.4",
            ["network bhnet-shop is shared by applications pay and shop (containers bhnet-pay-api, bhnet-shop-web)"],
        ),
    ],
)
def test_each_deliberate_mistake_is_reported_naming_the_network_or_container(layouts, control_id, expected):
    mistakes, _compliant = layouts
    assert mistakes[control_id]["outcome"] == "fail"
    assert ours(mistakes[control_id]) == expected


@pytest.mark.parametrize("control_id", CONTROLS[:4])
def test_the_compliant_layout_passes(layouts, control_id):
    _mistakes, compliant = layouts
    assert compliant[control_id]["outcome"] in ("pass", "fail"), compliant[control_id]
    assert ours(compliant[control_id]) == []


def test_the_docker_user_chain_is_read_and_judged_never_an_error(layouts):
    """This host carries no Bulkhead policy (the role is not applied here): a finding, not a pass or an error."""
    mistakes, _compliant = layouts
    control = mistakes["BH-8.5"]
    assert control["outcome"] in ("pass", "fail"), control
    if control["outcome"] == "fail":
        assert control["reasons"][0].startswith(("DOCKER-USER", "the DOCKER-USER chain")), control["reasons"]
