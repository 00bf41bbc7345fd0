"""What `make docs` generates is current, and the generator finds every role (scripts/render_docs.py).

Galaxy's importer refuses a collection with a role that has no README ("No role readme found"), so
every role's README.md is generated from its meta/argument_specs.yml and meta/main.yml; a role that
arrives without one, or whose variables changed since, fails here until `make docs` runs.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("render_docs", ROOT / "scripts" / "render_docs.py")
render_docs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(render_docs)
ROLES = [path.name for path in render_docs.roles()]


def test_generated_docs_are_current():
    stale = [str(path.relative_to(ROOT)) for path in render_docs.stale()]
    assert stale == [], f"stale generated docs, run `make docs`: {stale}"


def test_every_role_directory_is_documented():
    on_disk = sorted(path.name for path in render_docs.ROLES_DIR.iterdir() if (path / "tasks").is_dir())
    assert on_disk == ROLES
    assert {"container_host", "docker_engine", "integrity_baseline", "podman", "rootless"} <= set(ROLES)


def option_names(options: dict, prefix: str = "") -> list[str]:
    names = []
    for name, spec in (options or {}).items():
        names.append(prefix + name)
        if (spec or {}).get("options"):
            names += option_names(spec["options"], prefix + name + ("[]." if spec.get("type") == "list" else "."))
    return names


@pytest.mark.parametrize("role", ROLES)
def test_role_readme_documents_every_variable_and_entry_point(role):
    role_dir = render_docs.ROLES_DIR / role
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    readme = render_docs.role_readme(role_dir)
    assert readme.startswith(f"# bulkhead.hardening.{role}\n")
    for entry_point, spec in specs.items():
        for name in option_names(spec.get("options")):
            assert f"| `{name}` |" in readme, f"{role} ({entry_point}): {name} is not in the README"
    assert f"- role: bulkhead.hardening.{role}" in readme


def test_a_new_role_gets_a_readme_and_a_row_from_the_next_make_docs(tmp_path, monkeypatch):
    roles_dir = tmp_path / "roles"
    shutil.copytree(render_docs.ROLES_DIR, roles_dir)
    new = roles_dir / "new_role"  # a role that does not exist (audit_schedule does now)
    (new / "tasks").mkdir(parents=True)
    (new / "meta").mkdir()
    (new / "tasks" / "main.yml").write_text(
        "---\n- name: Install the timer\n  ansible.builtin.debug:\n    msg: hi\n  tags: [bh_6.9, new_role_timer]\n"
    )
    (new / "meta" / "main.yml").write_text(
        "---\ngalaxy_info:\n  description: Schedule audits with a systemd timer\n  license: Apache-2.0\n"
    )
    (new / "meta" / "argument_specs.yml").write_text(
        "---\nargument_specs:\n  main:\n    short_description: Schedule audits\n    options:\n"
        "      new_role_on_calendar:\n        type: str\n        default: daily\n"
        "        description: The timer's C(OnCalendar=), see O(new_role_enabled).\n"
    )
    monkeypatch.setattr(render_docs, "ROLES_DIR", roles_dir)
    assert new / "README.md" in render_docs.stale()
    readme = render_docs.outputs()[new / "README.md"]
    row = "| `new_role_on_calendar` | str | `daily` | The timer's `OnCalendar=`, see `new_role_enabled`. |"
    assert row in readme
    assert "- controls: `bh_6.9`" in readme and "- topics: `new_role_timer`" in readme
    assert "[`new_role`](roles/new_role/README.md)" in render_docs.roles_markdown()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C(icc) is O(docker_engine_icc=false)", "`icc` is `docker_engine_icc=false`"),
        ("I(only) B(never) V(true) E(DOCKER_HOST)", "*only* **never** `true` `DOCKER_HOST`"),
        ("see L(the benchmark,https://www.cisecurity.org) or U(https://docs.docker.com)",
         "see [the benchmark](https://www.cisecurity.org) or <https://docs.docker.com>"),
        ("M(bulkhead.hardening.subid) writes C(/etc/subuid)", "`bulkhead.hardening.subid` writes `/etc/subuid`"),
        ("a\n  wrapped   line", "a wrapped line"),
    ],
)  # fmt: skip
def test_ansible_markup_becomes_markdown(text, expected):
    assert render_docs.markdown(text) == expected


def test_table_cells_escape_pipes_and_show_defaults_literally():
    assert render_docs.cell("a | b") == "a \\| b"
    assert render_docs.literal("") == '`""`'
    assert render_docs.literal(False) == "`false`"
    assert render_docs.literal({"nofile": 1}) == '`{"nofile": 1}`'
