"""Every role has a README (Galaxy's importer requires one) that lists exactly its argument specs."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.lib.paths import REPO

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def spec_options(role: str) -> dict:
    return yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_readme_variable_table_is_the_argument_spec(role):
    text = (REPO / "roles" / role / "README.md").read_text()
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.M)
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    assert set(listed) == set(spec_options(role)), (
        f"README lists {sorted(set(listed) - set(spec_options(role)))} not in the specs and misses "
        f"{sorted(set(spec_options(role)) - set(listed))}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_readme_example_is_a_playbook_using_the_roles_by_fqcn(role):
    text = (REPO / "roles" / role / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert blocks, "no example"
    plays = yaml.safe_load(blocks[0])
    names = [t["ansible.builtin.include_role"]["name"] for p in plays for t in p["tasks"] if "ansible.builtin.include_role" in t]
    assert f"nats_streaming.ft.{role}" in names
    assert all(n.split(".")[-1] in ROLES for n in names)
    options = {k for r in ROLES for k in spec_options(r)}
    for play in plays:
        for task in play["tasks"]:
            for var in (task.get("vars") or {}):
                assert var in options, f"the example sets {var}, which no role declares"


def test_every_role_declares_version_added():
    for role in ROLES:
        main = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
        assert main.get("version_added") == "0.1.0", role
