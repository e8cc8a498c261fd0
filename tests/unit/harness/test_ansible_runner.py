"""tests/lib/ansible_runner.py refuses output it cannot read, so no assertion passes on garbage."""

from __future__ import annotations

import json

import pytest

from tests.lib.ansible_runner import AnsibleOutputError, parse_json_callback, run_playbook

DOCUMENT = {"plays": [{"tasks": []}], "stats": {"localhost": {"changed": 2, "failures": 0}}}


def test_the_whole_stdout_is_the_document():
    assert parse_json_callback(json.dumps(DOCUMENT, indent=4)) == DOCUMENT


def test_the_document_after_verbose_lines_is_found():
    stdout = "Using /etc/ansible/ansible.cfg\n{ not json\nPLAYBOOK: x.yml\n" + json.dumps(DOCUMENT, indent=4)
    assert parse_json_callback(stdout) == DOCUMENT


@pytest.mark.parametrize(
    "stdout",
    [
        "",
        "PLAY [localhost] ****\nTASK [x] ****\nok: [localhost]\n",
        json.dumps(DOCUMENT, indent=4)[:-20],  # truncated
        '{"changed": 0}',  # JSON, but not the callback's document
        json.dumps({"plays": [], "stats": "none"}),
    ],
    ids=["empty", "default-callback", "truncated", "other-json", "stats-not-a-dict"],
)
def test_unparsable_output_raises(stdout):
    with pytest.raises(AnsibleOutputError, match="no JSON document"):
        parse_json_callback(stdout, rc=0)


def test_a_real_run_with_another_stdout_callback_raises_instead_of_reporting_no_change(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.command": "true", "changed_when": True}]}]))
    with pytest.raises(AnsibleOutputError):
        run_playbook(playbook, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"})
    # The same play with the json callback is read: one change.
    assert run_playbook(playbook).changed == 1
