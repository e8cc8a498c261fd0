"""Every playbook parses, and can be reused from another playbook by its FQCN."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.lib.ansible_runner import ansible_env
from tests.lib.paths import REPO

PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))


def syntax_check(playbook: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "--syntax-check", "-i", "localhost,",
                           str(playbook)], capture_output=True, text=True, env=ansible_env(), check=False)


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_playbook_syntax(playbook):
    result = syntax_check(playbook)
    assert result.returncode == 0, result.stderr


def test_playbooks_run_on_localhost_without_facts():
    import yaml

    for playbook in PLAYBOOKS:
        for play in yaml.safe_load(playbook.read_text()):
            assert play["hosts"] == "localhost", playbook.name
            assert play["gather_facts"] is False, playbook.name
            assert play.get("connection") == "local", playbook.name
            first = play["tasks"][0]
            assert first["name"].startswith("Validate inputs"), f"{playbook.name}: first task is {first['name']!r}"


def test_playbooks_and_roles_reusable_by_fqcn(tmp_path):
    wrapper = tmp_path / "ops.yml"
    wrapper.write_text(
        "- name: An ops playbook that imports ours\n"
        "  ansible.builtin.import_playbook: nats_streaming.ft.aws\n"
        "- name: And includes a role\n"
        "  hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Include the stan role\n"
        "      ansible.builtin.include_role:\n"
        "        name: nats_streaming.ft.stan\n"
    )
    result = syntax_check(wrapper)
    assert result.returncode == 0, result.stderr
