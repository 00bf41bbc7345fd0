"""Two applications in two zones after bulkhead.hardening.container_network, one property per test.

shop (zone public, network bhnet-shop) and pay (zone pci, network bhnet-pay, internal) each run a
service (busybox httpd on 8080) and a client. The policy (molecule.yml) allows each application
its own service port and shop the partner API at 192.0.2.2:8080, a network namespace prepare made
inside the instance; everything else is denied east-west and outbound. Traffic goes only to
containers and the namespace this scenario created.
"""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

testinfra_hosts = ["all"]

IMAGE = "bulkhead/busybox:local"
SERVICE = "/bin/busybox mkdir -p /www && echo {app} > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"
CONTAINERS = {
    # name: (network, app, zone, command)
    "bhnet-shop-svc": ("bhnet-shop", "shop", "public", SERVICE.format(app="shop")),
    "bhnet-shop-client": ("bhnet-shop", "shop", "public", "exec sleep 86400"),
    "bhnet-pay-svc": ("bhnet-pay", "pay", "pci", SERVICE.format(app="pay")),
    "bhnet-pay-client": ("bhnet-pay", "pay", "pci", "exec sleep 86400"),
}
OUTSIDE = "192.0.2.2"
ADDRESS_FORMAT = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"


def run(host, *argv):
    return host.run(" ".join(_quote(arg) for arg in argv))


def _quote(arg):
    return "'" + arg.replace("'", "'\\''") + "'"


def wait_running(host, names, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        states = run(host, "docker", "inspect", "--format", "{{.State.Running}}", *names)
        if states.rc == 0 and states.stdout.split() == ["true"] * len(names):
            return
        time.sleep(1)
    pytest.fail(f"containers not running after {seconds} s: {states.stdout + states.stderr}")


@pytest.fixture(scope="module")
def ips(host):
    """Start the four containers (once) and return their addresses."""
    for name, (network, app, zone, command) in CONTAINERS.items():
        if run(host, "docker", "container", "inspect", name).rc != 0:
            started = run(
                host,
                *("docker", "run", "-d", "--name", name, "--network", network, "--restart", "unless-stopped"),
                *("--label", "app=" + app, "--label", "zone=" + zone, IMAGE, "sh", "-c", command),
            )
            assert started.rc == 0, started.stderr
    wait_running(host, list(CONTAINERS))
    return addresses(host)


def addresses(host):
    found = {}
    for name in CONTAINERS:
        address = run(host, "docker", "inspect", "--format", ADDRESS_FORMAT, name)
        assert address.rc == 0 and address.stdout.strip(), address.stderr
        found[name] = address.stdout.strip()
    return found


def reaches(host, client, address, port=8080):
    """An HTTP GET from the client container with busybox nc; a dropped SYN runs into its 3 s timeout."""
    request = f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {address} {port}'
    got = run(host, "docker", "exec", client, "sh", "-c", request)
    return got.rc == 0 and re.match(r"HTTP/1\.[01] 200", got.stdout) is not None


def drops(host, label):
    """Packets the Bulkhead rules with this comment dropped so far."""
    listing = run(host, "iptables", "-L", "DOCKER-USER", "-v", "-n", "-x")
    assert listing.rc == 0, listing.stderr
    return sum(
        int(line.split()[0])
        for line in listing.stdout.splitlines()
        if re.search(rf"/\* bulkhead:{re.escape(label)} \*/", line)
    )


def bulkhead_rules(host):
    listing = run(host, "iptables", "-S", "DOCKER-USER")
    assert listing.rc == 0, listing.stderr
    return [line for line in listing.stdout.splitlines() if "bulkhead:" in line]


def test_a_container_reaches_its_own_applications_service(host, ips):
    # icc is off on both networks: only the policy's service-port rule lets this through.
    assert reaches(host, "bhnet-shop-client", ips["bhnet-shop-svc"])
    assert reaches(host, "bhnet-pay-client", ips["bhnet-pay-svc"])


def test_east_west_to_the_other_zone_is_denied(host, ips):
    before = drops(host, "deny-east-west:bhnet-shop")
    assert not reaches(host, "bhnet-shop-client", ips["bhnet-pay-svc"])
    assert drops(host, "deny-east-west:bhnet-shop") > before, "the policy did not drop it (Docker did)"
    assert not reaches(host, "bhnet-pay-client", ips["bhnet-shop-svc"])


def test_egress_outside_the_allow_list_is_denied(host, ips):
    before = drops(host, "deny-egress:bhnet-shop")
    assert not reaches(host, "bhnet-shop-client", OUTSIDE, 9090)
    assert drops(host, "deny-egress:bhnet-shop") > before
    # The PCI zone has no egress at all (an internal network).
    assert not reaches(host, "bhnet-pay-client", OUTSIDE, 8080)


def test_egress_on_the_allow_list_is_allowed(host, ips):
    assert reaches(host, "bhnet-shop-client", OUTSIDE, 8080)


def test_another_tools_rule_is_left_alone_below_the_policy(host):
    listing = run(host, "iptables", "-S", "DOCKER-USER").stdout.splitlines()
    assert listing[1].endswith('--comment "bulkhead:established" -j ACCEPT'), listing
    operator = [index for index, line in enumerate(listing) if "operator-rule" in line]
    assert len(operator) == 1 and all("bulkhead:" in line for line in listing[1 : operator[0]])


def test_the_rules_survive_a_dockerd_restart(host, ips):
    rules = bulkhead_rules(host)
    assert len(rules) > 10
    pid = run(host, "pidof", "dockerd").stdout.strip()
    assert run(host, "systemctl", "restart", "docker").rc == 0
    assert run(host, "pidof", "dockerd").stdout.strip() not in ("", pid)
    wait_running(host, list(CONTAINERS))
    assert bulkhead_rules(host) == rules
    now = addresses(host)
    assert reaches(host, "bhnet-shop-client", now["bhnet-shop-svc"])
    assert not reaches(host, "bhnet-shop-client", OUTSIDE, 9090)
    assert not reaches(host, "bhnet-shop-client", now["bhnet-pay-svc"])


def test_the_unit_re_applies_the_saved_rules_after_the_chain_was_emptied(host, ips):
    """What a reboot does: the engine starts with an empty DOCKER-USER; the unit puts the policy back."""
    rules = bulkhead_rules(host)
    for line in rules:
        removed = host.run("iptables " + line.replace("-A DOCKER-USER", "-D DOCKER-USER", 1))
        assert removed.rc == 0, removed.stderr
    assert bulkhead_rules(host) == []
    assert reaches(host, "bhnet-shop-client", OUTSIDE, 9090)  # no policy, no denial
    assert run(host, "systemctl", "restart", "docker").rc == 0
    wait_running(host, list(CONTAINERS))
    assert bulkhead_rules(host) == rules
    assert run(host, "systemctl", "is-active", "bulkhead-docker-user.service").stdout.strip() == "active"
    assert not reaches(host, "bhnet-shop-client", OUTSIDE, 9090)


def play_role(tmp_path, **variables):
    """The role once more from the controller, with variables over the scenario's (molecule's inventory)."""
    playbook = tmp_path / "play.yml"
    play = {
        "name": "The role with other variables",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Include the role",
                "ansible.builtin.include_role": {"name": "bulkhead.hardening.container_network"},
                "vars": variables,
            }
        ],
    }
    playbook.write_text(json.dumps([play]))
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return subprocess.run(
        ["ansible-playbook", "-i", inventory, str(playbook)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_FORCE_COLOR": "0"},
    )


def failures(played):
    """The messages of the failed tasks of a play_role() run (the json callback's report)."""
    report = json.loads(played.stdout)
    return " ".join(
        str(result.get("msg", ""))
        for play in report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
    )


OTHER_ICC = [
    {"name": "bhnet-shop", "app": "shop", "zone": "public", "subnet": "172.30.1.0/24", "icc": True},
    {"name": "bhnet-pay", "app": "pay", "zone": "pci", "subnet": "172.30.2.0/24", "internal": True},
]


def test_a_network_with_other_options_stops_the_role_naming_it_and_the_variable(host, ips, tmp_path):
    networks_before = run(host, "docker", "network", "inspect", "bhnet-shop").stdout
    rules = bulkhead_rules(host)
    played = play_role(tmp_path, container_network_networks=OTHER_ICC, container_network_recreate=False)
    assert played.returncode != 0
    output = failures(played)
    assert "container_network_networks: network bhnet-shop exists with other options (icc: false -> true)" in output
    assert "Set container_network_recreate: true" in output
    assert run(host, "docker", "network", "inspect", "bhnet-shop").stdout == networks_before
    assert bulkhead_rules(host) == rules


def test_recreate_never_disconnects_attached_containers(host, ips, tmp_path):
    played = play_role(tmp_path, container_network_networks=OTHER_ICC, container_network_recreate=True)
    assert played.returncode != 0
    output = failures(played)
    assert "containers are attached (bhnet-shop-client, bhnet-shop-svc)" in output
    assert reaches(host, "bhnet-shop-client", addresses(host)["bhnet-shop-svc"])


# -- The audit of section 8 (bulkhead audit from the controller, docker:// backend) ---------------
# Settings (../audit-config.yml) name the labels the role sets (app, zone), the PCI zone as one without egress,
# and the policy as expected with a default deny. The mistakes are made by a fixture and removed after: a
# network whose containers are of two zones and two applications with icc on, and a container of one
# zone attached to the other zone's network too.

CONTROLS = ["BH-8.1", "BH-8.2", "BH-8.3", "BH-8.4", "BH-8.5"]
SETTINGS = Path(__file__).resolve().parents[1] / "audit-config.yml"  # the scenario's, as prepare and verify use them


def sh(host, *argv):  # a command in the instance that must succeed
    done = host.run(" ".join(["%s"] * len(argv)), *argv)
    assert done.rc == 0, done.stderr
    return done.stdout


def audit(host, tmp_path, name):
    report = tmp_path / f"{name}.json"
    done = subprocess.run(
        [
            *("bulkhead", "audit", "--no-progress", f"--hosts=docker://{host.backend.get_hostname()}"),
            *(f"--controls={','.join(CONTROLS)}", f"--config={SETTINGS}", f"--json={report}"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    controls = next(iter(json.loads(report.read_text())["hosts"].values()))["controls"]
    return {control["id"]: control for control in controls}


def outcomes(results):
    return {control_id: result["outcome"] for control_id, result in results.items()}


@pytest.fixture
def mistakes(host):
    """A mixed network (two zones, two applications, icc on) and a container bridging the zones."""
    sh(host, "docker", "network", "create", "--label", "zone=public", "bhnet-mixed")
    made = []
    try:
        for name, app, zone, network in [
            ("bhnet-mixed-shop", "shop", "public", "bhnet-mixed"),
            ("bhnet-mixed-pay", "pay", "pci", "bhnet-mixed"),
            ("bhnet-bridger", "shop", "public", "bhnet-shop"),
        ]:
            sh(host, "docker", "run", "-d", "--name", name, "--network", network, "--label", "app=" + app,
               "--label", "zone=" + zone, IMAGE, "sleep", "3600")  # fmt: skip
            made.append(name)
        sh(host, "docker", "network", "connect", "bhnet-pay", "bhnet-bridger")
        yield
    finally:
        for name in made:  # one at a time (Docker 20.10 and concurrent removals)
            host.run("docker rm -f %s", name)
        host.run("docker network rm bhnet-mixed")


def test_the_compliant_layout_passes_bh_8(host, ips, tmp_path):
    results = audit(host, tmp_path, "compliant")
    assert outcomes(results) == dict.fromkeys(CONTROLS, "pass"), results


def test_the_deliberate_mistakes_are_reported(host, ips, tmp_path, mistakes):
    results = audit(host, tmp_path, "mistakes")
    assert outcomes(results) == {
        "BH-8.1": "fail",
        "BH-8.2": "pass",
        "BH-8.3": "fail",
        "BH-8.4": "fail",
        "BH-8.5": "pass",
    }, results
    reasons = {control_id: " ".join(result["reasons"]) for control_id, result in results.items()}
    assert "bhnet-mixed" in reasons["BH-8.1"]
    assert "bhnet-bridger" in reasons["BH-8.3"] and "bhnet-mixed" in reasons["BH-8.3"]
    assert "bhnet-mixed" in reasons["BH-8.4"]
