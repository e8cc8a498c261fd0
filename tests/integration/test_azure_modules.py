"""The Azure modules against the ARM stand-in, through ansible-playbook.

The targets' tasks hold the behavioural assertions (check-mode diff == real diff, idempotence,
option-naming errors).  The tests here add what a playbook cannot see: the stand-in's request
log (no write on a rerun, no call at all for an invalid name, no share write for NFS on a
Standard account) and the captured output and logs (no key anywhere).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.azure_fixtures import TARGETS, arm_standin, prepare_world, standin  # noqa: F401  # pylint: disable=unused-import
from tests.lib.ansible_runner import PlayResult, run_playbook


def explain(result: PlayResult) -> str:
    failed = [t for t in result.tasks if t["result"].get("failed") and not t["result"].get("ignore_errors")]
    lines = [f"rc={result.rc} stats={result.stats}"]
    for task in failed:
        lines.append(f"{task['name']}: {json.dumps(task['result'])[:2000]}")
    if not result.tasks:
        lines += [result.stdout[-3000:], result.stderr[-3000:]]
    return "\n".join(lines)


def write_playbook(directory: Path, tasks: list[dict]) -> Path:
    path = directory / "play.yml"
    path.write_text(json.dumps([{"name": "Ad-hoc play", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return path


@pytest.fixture(scope="module")
def account_run(arm_standin, tmp_path_factory):  # noqa: F811
    """The azure_storage_account target, run once at -vvv with an ansible log file."""
    world = prepare_world(arm_standin)
    log = tmp_path_factory.mktemp("ansible-account") / "ansible.log"
    account_vars = world.account_vars()
    result = run_playbook(
        TARGETS / "azure_storage_account" / "playbook.yml",
        extra_vars=account_vars,
        env={**world.env, "ANSIBLE_LOG_PATH": str(log)},
        args=["-vvv"],
    )
    return {
        "result": result,
        "log": log.read_text() if log.exists() else "",
        "requests": arm_standin.requests(),
        "issued_keys": arm_standin.issued_keys(),
        "vars": account_vars,
        "world": world,
    }


def test_storage_account_target_passes_against_standin(account_run):
    result = account_run["result"]
    assert result.rc == 0 and result.failed == 0, explain(result)
    assert result.task("Create the account")["changed"] is True


def test_check_mode_diff_equals_real_diff_for_create_change_and_delete(account_run):
    result = account_run["result"]
    assert result.rc == 0, explain(result)
    # The same assertion is in the target; repeat it on the raw callback output so a target edit cannot lose it.
    for check, real in (
        ("Create the account (check mode)", "Create the account"),
        ("Add a subnet and drop an IP (check mode)", "Add a subnet and drop an IP"),
        ("Delete the account (check mode)", "Delete the account"),
    ):
        assert result.task(check)["diff"] == result.task(real)["diff"], check
        assert result.task(check)["changed"] and result.task(real)["changed"]


def test_what_arm_stored_always_matched_the_prediction(account_run, share_run):
    """The modules warn when ARM's answer differs from the predicted state; no task may see that."""
    for run in (account_run, share_run):
        warnings = [w for t in run["result"].tasks for w in t["result"].get("warnings", [])]
        assert not [w for w in warnings if "stored a different state" in w], warnings
        assert run["result"].rc == 0, explain(run["result"])


def test_no_account_key_appears_in_output_diff_or_logs(account_run, arm_standin):  # noqa: F811
    result = account_run["result"]
    keys = account_run["issued_keys"]
    assert keys, "the stand-in issued no keys: the test would prove nothing"
    captured = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "ansible log": account_run["log"],
        "stand-in log": arm_standin.log_path.read_text(),
    }
    for where, text in captured.items():
        for key in keys:
            assert key not in text, f"an account key leaked into the {where}"
    # The keys did reach the registered variable: the target asserts on them in a no_log task.
    fetched = result.task("Fetch the account keys")
    assert "censored" in fetched and "account_keys" not in fetched
    assert result.task("Assert the keys reached the registered variable").get("failed") is not True


def test_keys_are_only_read_when_asked(account_run):
    list_keys = [r for r in account_run["requests"] if r["path"].lower().endswith("/listkeys")]
    assert len(list_keys) == 1, list_keys  # only the no_log task with return_keys read them
    refused = account_run["result"].task("Ask for the account keys in a task that is not no_log")
    assert refused["failed"] and "account_keys" not in refused


def test_invalid_account_name_is_refused_before_any_call(account_run):
    assert account_run["result"].task("Use an invalid account name")["msg"].startswith("name: 'Bad_Name!'")
    assert not [r for r in account_run["requests"] if "bad_name" in r["path"].lower()]


def test_unknown_resource_group_fails_with_arm_code(account_run):
    msg = account_run["result"].task("Use a resource group that does not exist")["msg"]
    assert msg.startswith("resource_group: resource group 'rg-does-not-exist' was not found")
    assert "ResourceGroupNotFound" in msg


def test_invalid_name_makes_no_request_at_all(standin, tmp_path):  # noqa: F811
    playbook = write_playbook(tmp_path, [{
        "name": "Invalid name",
        "nats_streaming.ft.azure_storage_account": {"resource_group": "rg-standin", "name": "UPPER", "location": "eastus"},
        "ignore_errors": True,
    }])
    result = run_playbook(playbook, env=standin.env)
    assert result.task("Invalid name")["failed"]
    assert standin.server.requests() == []  # not even a token request


def test_rerun_makes_no_write_request(standin, tmp_path):  # noqa: F811
    task = {
        "name": "Account",
        "nats_streaming.ft.azure_storage_account": {
            "resource_group": "rg-standin", "name": "rerunacct01", "location": "eastus",
            "network_rules": {"ip_rules": ["203.0.113.0/24", "198.51.100.1"], "bypass": ["Metrics", "AzureServices"],
                              "virtual_network_subnet_ids": [standin.subnets["nodes-a"]], "add_service_endpoints": True},
            "tags": {"a": "1"},
        },
    }
    playbook = write_playbook(tmp_path, [task])
    first = run_playbook(playbook, env=standin.env)
    assert first.rc == 0 and first.task("Account")["changed"], explain(first)
    assert standin.server.writes(), "the first run should have written"
    standin.server.clear_requests()
    second = run_playbook(playbook, env=standin.env)
    assert second.rc == 0 and second.task("Account")["changed"] is False, explain(second)
    assert standin.server.writes() == []


def test_wrong_secret_fails_naming_the_credentials_without_echoing_them(standin, tmp_path):  # noqa: F811
    wrong = "not-the-secret-" + "x" * 12
    playbook = write_playbook(tmp_path, [{
        "name": "Read account",
        "nats_streaming.ft.azure_storage_account": {"resource_group": "rg-standin", "name": "someaccount01"},
        "ignore_errors": True,
    }])
    result = run_playbook(playbook, env={**standin.env, "AZURE_SECRET": wrong}, args=["-vvv"])
    failure = result.task("Read account")
    assert failure["failed"]
    assert failure["msg"].startswith("client_id/secret/tenant: authentication failed")
    assert "AADSTS7000215" in failure["msg"]
    assert wrong not in result.stdout and wrong not in result.stderr


def test_plain_http_cloud_url_is_refused_naming_the_option(standin, tmp_path):  # noqa: F811
    playbook = write_playbook(tmp_path, [{
        "name": "Read account",
        "nats_streaming.ft.azure_storage_account": {"resource_group": "rg-standin", "name": "someaccount01"},
        "ignore_errors": True,
    }])
    url = standin.server.url.replace("https://", "http://")
    result = run_playbook(playbook, env={**standin.env, "AZURE_CLOUD_ENVIRONMENT": url})
    assert result.task("Read account")["msg"].startswith("cloud_environment:")


@pytest.fixture(scope="module")
def share_run(arm_standin):  # noqa: F811
    world = prepare_world(arm_standin)
    share_vars = world.share_vars()
    result = run_playbook(TARGETS / "azure_file_share" / "playbook.yml", extra_vars=share_vars, env=world.env)
    return {"result": result, "requests": arm_standin.requests(), "vars": share_vars}


def test_file_share_target_passes_against_standin(share_run):
    result = share_run["result"]
    assert result.rc == 0 and result.failed == 0, explain(result)


def test_nfs_on_standard_account_is_refused_before_any_share_write(share_run):
    standard = share_run["vars"]["standard_account"]
    msg = share_run["result"].task("Ask for an NFS share on the Standard account")["msg"]
    assert msg.startswith("protocol: NFS shares need a Premium FileStorage account")
    writes = [r for r in share_run["requests"]
              if r["method"] != "GET" and "/nfs-on-standard" in r["path"].lower()]
    assert writes == []
    assert any(standard in r["path"] for r in share_run["requests"] if r["method"] == "GET")


def test_share_with_data_is_not_deleted_without_force(share_run):
    result = share_run["result"]
    assert "holds 4096 bytes of data" in result.task("Delete the NFS share that holds data")["msg"]
    deletes = [r for r in share_run["requests"] if r["method"] == "DELETE" and r["path"].lower().endswith("/stan-store")]
    assert len(deletes) == 1  # only the forced delete reached ARM
