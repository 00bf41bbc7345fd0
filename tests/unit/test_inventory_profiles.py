"""The audit gate profiles in inventories/: the files audit.yml reads from them are valid; production is stricter."""

from pathlib import Path

import pytest
import yaml

from bulkhead.catalogue import load_catalogue
from bulkhead.config import load_config
from bulkhead.waivers import load_waivers

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"


def group_vars(profile: str) -> dict:
    return yaml.safe_load((INVENTORIES / profile / "group_vars" / "all.yml").read_text())


@pytest.mark.parametrize("profile", ["dev", "production"])
def test_profile_files_load_as_the_audit_loads_them(profile):
    variables = group_vars(profile)
    assert all(name.startswith("bulkhead_audit_") for name in variables)
    load_config(ROOT / variables["bulkhead_audit_settings_file"])  # paths are relative to the project
    if "bulkhead_audit_waivers_file" in variables:
        assert load_waivers(ROOT / variables["bulkhead_audit_waivers_file"], load_catalogue())


def test_production_is_stricter_than_dev():
    dev, production = group_vars("dev"), group_vars("production")
    assert (dev["bulkhead_audit_fail_on"], production["bulkhead_audit_fail_on"]) == ("high", "low")
    assert "bulkhead_audit_waivers_file" not in production
    strict = load_config(ROOT / production["bulkhead_audit_settings_file"])
    lenient = load_config(ROOT / dev["bulkhead_audit_settings_file"])
    assert strict.get("approved_registries")
    assert strict.get("max_image_age_days") < lenient.get("max_image_age_days")


@pytest.mark.parametrize("profile", ["dev", "production", "example", "local"])
def test_every_inventory_has_the_audit_targets_group(profile):
    inventory = yaml.safe_load((INVENTORIES / profile / "hosts.yml").read_text())
    assert inventory["all"]["children"]["bulkhead_audit_targets"] == {"children": {"docker_hosts": None}}
