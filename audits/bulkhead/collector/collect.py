"""The entry point: every fact, gathered once, printed as one JSON document on stdout."""

import json
import sys

from . import proc
from .docker import daemon_json, docker_engines, docker_file_stats, docker_info, docker_networks, dockerd_processes
from .engines import container_id_maps, engine_facts
from .facts import Background, fact
from .gate import gate_policy
from .host import (
    audit_loaded_rules,
    audit_rules_files,
    audit_status,
    content_trust,
    docker_group,
    engine_paths,
    events_recorder,
    image_sboms,
    integrity_baseline,
    journald_config,
    kernel,
    kernel_security,
    mounts,
    os_release,
    rsyslog_config,
    subordinate_ids,
    sudo_config,
    sysctl_configured,
    sysctl_live,
)
from .network import docker_user_chain
from .podman import containers_conf, containers_policy, containers_registries_conf
from .recorded import recorded_containers


def collect(wanted_labels=()):
    """Every fact; ``wanted_labels``: the container labels whose values are reported (the audit
    settings' application and zone labels); of every other label only the name leaves the target."""
    # The engines answer in the background while this thread gathers the host's facts. /proc is
    # walked once, also in the background; the engines wait for it only after their own snapshot.
    snapshot = Background(proc.take)
    engines = Background(engine_facts, snapshot.result, tuple(wanted_labels))
    processes = snapshot.result()
    dockerds = fact(dockerd_processes, processes)
    info = fact(docker_info)
    facts = {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": dockerds,
        "docker_info": info,
        "docker_networks": fact(docker_networks),
        "content_trust": fact(content_trust),
        "kernel_security": fact(kernel_security),
        "containers_policy": fact(containers_policy),
        "containers_registries_conf": fact(containers_registries_conf),
        "containers_conf": fact(containers_conf),
        "integrity_baseline": fact(integrity_baseline),
        "image_sboms": fact(image_sboms),
        "docker_file_stats": fact(docker_file_stats, dockerds),
        "audit_rules_files": fact(audit_rules_files),
        "audit_status": fact(audit_status, processes),
        "audit_loaded_rules": fact(audit_loaded_rules, processes),
        "engine_paths": fact(engine_paths),
        "sysctl_live": fact(sysctl_live),
        "sysctl_configured": fact(sysctl_configured),
        "docker_group": fact(docker_group),
        "kernel": fact(kernel),
        "os_release": fact(os_release),
        "mounts": fact(mounts),
        "sudo_config": fact(sudo_config),
        "journald_config": fact(journald_config),
        "rsyslog_config": fact(rsyslog_config, processes),
        "events_recorder": fact(events_recorder, processes),
        "docker_engines": fact(docker_engines, dockerds, info),
        "container_id_maps": fact(container_id_maps, processes),
        "subordinate_ids": fact(subordinate_ids),
        "recorded_containers": fact(recorded_containers),
        "gate_policy": fact(gate_policy),
        "docker_user_chain": fact(docker_user_chain),
    }
    facts.update(engines.result())
    return facts


def main():
    # `python3 -c PROGRAM app,zone` (the audit) or `python3 -m bulkhead.collector app zone`
    labels = [name for argument in sys.argv[1:] for name in argument.split(",") if name]
    json.dump(collect(labels), sys.stdout)
