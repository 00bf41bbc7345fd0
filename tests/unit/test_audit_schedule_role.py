"""The audit_schedule role writes a schedule file that `bulkhead scheduled-audit` accepts, and README documents it.

The role's template is rendered here with its defaults (and with every option set) and parsed by
``bulkhead.schedule_config.parse_schedule``, the parser the scheduled run uses: a key the parser does
not know, or a value it refuses, fails this test before any host is touched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml

from bulkhead.schedule_config import parse_schedule

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "collections" / "ansible_collections" / "bulkhead" / "hardening" / "roles" / "audit_schedule"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def render(template: str, overrides: dict) -> str:
    # Defaults that are templates themselves, as Ansible would resolve them.
    resolved = {"audit_schedule_command": DEFAULTS["audit_schedule_venv"] + "/bin/bulkhead"}
    variables = {**DEFAULTS, **resolved, **overrides}
    environment = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    environment.filters["to_json"] = json.dumps
    environment.filters["bool"] = bool
    environment.globals["lookup"] = lambda kind, name: variables[name]
    return environment.from_string((ROLE / "templates" / template).read_text()).render(**variables)


def test_defaults_and_argument_spec_agree():
    assert set(SPEC) == set(DEFAULTS)
    assert {name: SPEC[name].get("default") for name in SPEC} == DEFAULTS


def test_the_default_schedule_audits_the_host_itself():
    schedule = parse_schedule(yaml.safe_load(render("etc/bulkhead/schedule.yml.j2", {})))
    assert schedule.history == "/var/lib/bulkhead/history"
    assert schedule.keep == 30
    assert schedule.audit_argv() == [
        "audit",
        "--no-progress",
        "--history=/var/lib/bulkhead/history",
        "--keep=30",
        "--hosts=local://",
        "--fail-on=low",
    ]
    assert schedule.hook == []


def test_every_option_reaches_the_audit_command_line():
    text = render(
        "etc/bulkhead/schedule.yml.j2",
        {
            "audit_schedule_inventory": {"all": {"hosts": {"web-1": {}}}},
            "audit_schedule_limit": "web*",
            "audit_schedule_connection": "ssh",
            "audit_schedule_sudo": True,
            "audit_schedule_parallel": 4,
            "audit_schedule_controls": ["5.15", 5.4],
            "audit_schedule_exclude_sections": [6],
            "audit_schedule_fail_on": "high",
            "audit_schedule_waivers": [{"control": "5.10"}],
            "audit_schedule_settings": {"gone_containers_days": 2},
            "audit_schedule_hook": ["/usr/local/bin/notify", "--to", "ops"],
            "audit_schedule_hook_timeout": 30,
        },
    )
    schedule = parse_schedule(yaml.safe_load(text))
    assert schedule.audit_argv()[4:] == [
        "--inventory=/etc/bulkhead/hosts.yml",
        "--limit=web*",
        "--connection=ssh",
        "--waivers=/etc/bulkhead/waivers.yml",
        "--config=/etc/bulkhead/audit-settings.yml",
        "--controls=5.15,5.4",
        "--exclude-sections=6",
        "--parallel=4",
        "--sudo",
        "--fail-on=high",
    ]
    assert schedule.hook == ["/usr/local/bin/notify", "--to", "ops"]
    assert schedule.hook_timeout == 30
    assert "hosts:" not in text, "an inventory replaces the hosts"


def test_the_service_runs_the_schedule_and_logs_as_bulkhead():
    unit = render("etc/systemd/system/bulkhead-audit.service.j2", {})
    assert "Type=oneshot" in unit
    assert "ExecStart=/opt/bulkhead/venv/bin/bulkhead scheduled-audit /etc/bulkhead/schedule.yml" in unit
    assert "SyslogIdentifier=bulkhead\n" in unit
    timer = render("etc/systemd/system/bulkhead-audit.timer.j2", {"audit_schedule_on_calendar": "hourly"})
    assert re.search(r"^OnCalendar=hourly$", timer, re.MULTILINE)
    assert "Persistent=true" in timer and "RandomizedDelaySec=15min" in timer
    cron = render("etc/cron.d/bulkhead-audit.j2", {})
    assert cron.rstrip().endswith(
        "0 6 * * * root /opt/bulkhead/venv/bin/bulkhead scheduled-audit /etc/bulkhead/schedule.yml"
    )


def test_the_sbom_service_refreshes_the_sboms_before_each_audit():
    options = {"audit_schedule_sbom": True, "audit_schedule_sbom_syft": "/opt/bulkhead/venv/bin/syft"}
    sbom = render("etc/systemd/system/bulkhead-sbom.service.j2", options)
    assert (
        "ExecStart=/opt/bulkhead/venv/bin/bulkhead sbom --dir /var/lib/bulkhead/sbom "
        "--syft /opt/bulkhead/venv/bin/syft --engine docker\n"
    ) in sbom
    assert "Type=oneshot" in sbom and "Environment=SYFT_CHECK_FOR_APP_UPDATE=false" in sbom
    both = render(
        "etc/systemd/system/bulkhead-sbom.service.j2",
        {**options, "audit_schedule_sbom_engines": ["docker", "podman"], "audit_schedule_sbom_all_images": True},
    )
    assert "--engine docker --engine podman --all-images\n" in both
    audit = render("etc/systemd/system/bulkhead-audit.service.j2", options)
    assert "Wants=network-online.target bulkhead-sbom.service" in audit
    assert "After=network-online.target docker.service bulkhead-sbom.service" in audit
    assert "Environment=BULKHEAD_SBOM_DIR=/var/lib/bulkhead/sbom" in audit
    assert "bulkhead-sbom" not in render("etc/systemd/system/bulkhead-audit.service.j2", {})
    timer = render("etc/systemd/system/bulkhead-sbom.timer.j2", options)
    assert "OnCalendar=hourly" in timer
    cron = render("etc/cron.d/bulkhead-sbom.j2", options)
    assert cron.rstrip().endswith(
        "17 * * * * root /opt/bulkhead/venv/bin/bulkhead sbom --dir /var/lib/bulkhead/sbom "
        "--syft /opt/bulkhead/venv/bin/syft --engine docker"
    )


@pytest.mark.parametrize("name", sorted(SPEC))
def test_readme_documents_every_variable(name):
    readme = (ROOT / "README.md").read_text()
    assert f"| `{name}` |" in readme, f"README's audit_schedule table lacks {name}"
