"""A region that does not exist fails in the first task, naming the option (issue 13, point 7).

No AWS endpoint is reachable from these tests: HTTPS goes to a closed 127.0.0.1 port through a
proxy setting, so a check that let the region through would fail on the connection instead, with
a message that names no option.
"""

from __future__ import annotations

import json

import pytest

from tests.lib import procs
from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import REPO

ENDPOINT_VARIABLES = ("AWS_URL", "EC2_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EKS", "AWS_ENDPOINT_URL_EFS",
                      "AWS_ENDPOINT_URL_EC2")


@pytest.fixture
def offline_env(monkeypatch) -> dict:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    dead = f"http://127.0.0.1:{procs.free_port()}"
    return {"HTTPS_PROXY": dead, "https_proxy": dead, "HTTP_PROXY": dead, "http_proxy": dead, "NO_PROXY": "", "no_proxy": "",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-2",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}


def module_play(tmp_path, **options):
    path = tmp_path / "play.yml"
    path.write_text(json.dumps([{"name": "Region", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Look up the cluster", "nats_streaming.ft.eks_network_info": {"cluster_name": "stan", **options},
         "ignore_errors": True}]}]))
    return path


def test_module_refuses_a_region_that_does_not_exist_naming_region(tmp_path, offline_env):
    result = run_playbook(module_play(tmp_path, region="us-nowhere-9"), env=offline_env)
    msg = result.task("Look up the cluster")["msg"]
    assert msg.startswith("region: 'us-nowhere-9' is not a region that botocore"), msg
    assert "eks" in msg


def test_module_lists_close_matches_for_a_misspelt_region(tmp_path, offline_env):
    result = run_playbook(module_play(tmp_path, region="us-est-2"), env=offline_env)
    msg = result.task("Look up the cluster")["msg"]
    assert msg.startswith("region: 'us-est-2'") and "us-east-2" in msg.split("did you mean")[1], msg


def test_an_explicit_endpoint_url_skips_the_region_check(tmp_path, offline_env):
    dead = f"http://127.0.0.1:{procs.free_port()}"
    result = run_playbook(module_play(tmp_path, region="us-nowhere-9", endpoint_url=dead), env=offline_env)
    msg = result.task("Look up the cluster")["msg"]
    assert result.task("Look up the cluster")["failed"] and not msg.startswith("region:"), msg


def test_aws_playbook_fails_in_its_first_task_naming_aws_region(offline_env):
    result = run_playbook(REPO / "playbooks" / "aws.yml", env=offline_env,
                          extra_vars={"cluster_name": "stan", "aws_region": "us-nowhere-9", "verify_ft": False})
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert result.rc != 0 and failed, result.stdout[-2000:] + result.stderr[-2000:]
    assert failed[0]["name"] == "Validate inputs - values", [t["name"] for t in result.tasks]
    assert "aws_region: 'us-nowhere-9' is not a region that botocore" in failed[0]["result"]["msg"]
    assert len(result.tasks) == 1  # nothing ran after it
