"""The Azure modules against the ARM stand-in on the points where Microsoft's Microsoft.Storage
specification disagrees with a naive reading of ARM (issue 13): every list of ``networkAcls``,
IPv6 rules, the V2 SKUs, a pinned api-version, the share delete guard, Kerberos keys, and
``playbooks/azure.yml`` failing readably on a taken name under SMB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.storage import StorageManagementClient

from tests.integration.azure_fixtures import (  # noqa: F401  # pylint: disable=unused-import
    LOCATION,
    RESOURCE_GROUP,
    arm_standin,
    prepare_world,
    standin,
    unique_name,
)
from tests.lib.ansible_runner import PlayResult, run_playbook
from tests.lib.arm_standin import start_standin
from tests.lib.paths import BUILD, REPO

PINNED = "2025-06-01"
SYNAPSE = "/subscriptions/a7e99807-abbf-4642-bdec-2c809a96a8bc/resourceGroups/res9407/providers/Microsoft.Synapse/workspaces/ws1"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def explain(result: PlayResult) -> str:
    failed = [t for t in result.tasks if t["result"].get("failed")]
    lines = [f"rc={result.rc} stats={result.stats}"]
    lines += [f"{t['name']}: {json.dumps(t['result'])[:2000]}" for t in failed]
    if not result.tasks:
        lines += [result.stdout[-3000:], result.stderr[-3000:]]
    return "\n".join(lines)


def play(tmp_path: Path, env: dict, *tasks: dict, args: list[str] | None = None) -> PlayResult:
    path = tmp_path / f"play-{len(list(tmp_path.glob('play-*.yml')))}.yml"
    path.write_text(json.dumps([{"name": "Ad-hoc play", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]))
    return run_playbook(path, env=env, args=args)


def account_task(name: str, account: str, **options) -> dict:
    return {"name": name, "nats_streaming.ft.azure_storage_account": {"resource_group": RESOURCE_GROUP, "name": account,
                                                                      **options}, "diff": True, "ignore_errors": True}


def share_task(name: str, account: str, share: str, **options) -> dict:
    return {"name": name, "nats_streaming.ft.azure_file_share": {"resource_group": RESOURCE_GROUP,
                                                                 "storage_account": account, "name": share, **options},
            "diff": True, "ignore_errors": True}


def sdk(server, api_version: str = PINNED) -> StorageManagementClient:
    credential = ClientSecretCredential(server.tenant_id, server.client_id, server.client_secret, authority=server.url,
                                        disable_instance_discovery=True, connection_verify=str(server.ca_path))
    return StorageManagementClient(credential, server.subscription_id, base_url=server.url, api_version=api_version,
                                   credential_scopes=[f"{server.url}/.default"], connection_verify=str(server.ca_path))


def stored_acls(server, account: str) -> dict:
    """networkAcls exactly as the stand-in holds them (raw JSON at the pinned api-version)."""
    body = sdk(server).storage_accounts.get_properties(RESOURCE_GROUP, account, cls=lambda r, _d, _h: r.http_response.json())
    return body["properties"]["networkAcls"]


# ---------------------------------------------------------------- 1, 2: networkAcls lists and IPv6


def test_adding_an_ip_rule_keeps_resource_access_and_ipv6_rules_and_the_rerun_is_unchanged(standin, tmp_path):  # noqa: F811
    account = unique_name("acl")
    created = play(tmp_path, standin.env, account_task("Create", account, location=LOCATION, kind="StorageV2"))
    assert created.rc == 0 and not created.task("Create").get("failed"), explain(created)
    sdk(standin.server).storage_accounts.update(RESOURCE_GROUP, account, {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices",
        "resourceAccessRules": [{"tenantId": TENANT, "resourceId": SYNAPSE}],
        "ipv6Rules": [{"value": "2001:db8:85a3::/64", "action": "Allow"}]}}})
    add_ip = account_task("Add an IP rule", account, network_rules={"ip_rules": ["203.0.113.10"]})
    first = play(tmp_path, standin.env, add_ip)
    second = play(tmp_path, standin.env, add_ip)
    one, two = first.task("Add an IP rule"), second.task("Add an IP rule")
    assert not one.get("failed") and not two.get("failed"), explain(first) + explain(second)
    acls = stored_acls(standin.server, account)
    assert acls["resourceAccessRules"] == [{"tenantId": TENANT, "resourceId": SYNAPSE}]
    assert [r["value"] for r in acls["ipv6Rules"]] == ["2001:db8:85a3::/64"]
    assert [r["value"] for r in acls["ipRules"]] == ["203.0.113.10"]
    assert one["changed"] is True and two["changed"] is False
    # The rules the module does not manage are shown, unchanged, on both sides of the diff.
    before, after = one["diff"]["before"]["network_rules"], one["diff"]["after"]["network_rules"]
    for side in (before, after):
        assert side["resource_access_rules"] == [{"resource_id": SYNAPSE.lower(), "tenant_id": TENANT}]
        assert side["ipv6_rules"] == ["2001:db8:85a3::/64"]
    assert (before["ip_rules"], after["ip_rules"]) == ([], ["203.0.113.10"])


def test_ipv6_rules_are_written_to_ipv6_rules_and_the_rerun_is_unchanged(standin, tmp_path):  # noqa: F811
    account = unique_name("ip6")
    task = account_task("IPv6", account, location=LOCATION, kind="StorageV2",
                        network_rules={"ipv6_rules": ["2001:0db8:85a3::/64"], "ip_rules": ["198.51.100.7"]})
    first, second = play(tmp_path, standin.env, task), play(tmp_path, standin.env, task)
    assert first.task("IPv6").get("changed") is True, explain(first)
    assert second.task("IPv6").get("changed") is False, explain(second)
    acls = stored_acls(standin.server, account)
    assert [r["value"] for r in acls["ipv6Rules"]] == ["2001:db8:85a3::/64"]
    assert [r["value"] for r in acls["ipRules"]] == ["198.51.100.7"]
    wrong = play(tmp_path, standin.env, account_task("IPv6 in ip_rules", account,
                                                     network_rules={"ip_rules": ["2001:db8::/64"]}))
    msg = wrong.task("IPv6 in ip_rules")["msg"]
    assert msg.startswith("network_rules.ip_rules:") and "network_rules.ipv6_rules" in msg


# ---------------------------------------------------------------- 3: V2 SKUs


def test_premium_v2_account_takes_nfs_shares_without_an_access_tier(standin, tmp_path):  # noqa: F811
    account = unique_name("pv2")
    share = share_task("NFS share", account, "stan", protocol="NFS", quota=32)
    result = play(tmp_path, standin.env,
                  account_task("Account", account, location=LOCATION, kind="FileStorage", sku="PremiumV2_LRS",
                               https_only=False), share, {**share, "name": "NFS share again"})
    assert not result.task("Account").get("failed"), explain(result)
    created, again = result.task("NFS share"), result.task("NFS share again")
    assert created.get("changed") is True, explain(result)
    assert created["share"]["protocol"] == "NFS" and created["share"]["access_tier"] is None
    assert again.get("changed") is False, explain(result)


def test_standard_v2_account_takes_shares_larger_than_5_tib(standin, tmp_path):  # noqa: F811
    account = unique_name("sv2")
    result = play(tmp_path, standin.env,
                  account_task("Account", account, location=LOCATION, kind="FileStorage", sku="StandardV2_LRS"),
                  share_task("Large share", account, "big", quota=10240),
                  share_task("NFS share", account, "nfs", protocol="NFS", quota=100))
    assert result.task("Large share").get("changed") is True, explain(result)
    assert result.task("Large share")["share"]["quota"] == 10240
    assert result.task("NFS share")["msg"].startswith("protocol: NFS shares need a Premium FileStorage account")


# ---------------------------------------------------------------- 4: api-version


def test_every_storage_request_carries_the_pinned_api_version(standin, tmp_path):  # noqa: F811
    account = unique_name("pin")
    result = play(tmp_path, standin.env, account_task("Account", account, location=LOCATION),
                  share_task("Share", account, "stan", protocol="NFS"))
    assert result.task("Share").get("changed") is True, explain(result)
    versions = {r["api_version"] for r in standin.server.requests() if "/Microsoft.Storage/" in r["path"]}
    assert versions == {PINNED}


@pytest.fixture(scope="module")
def stack_hub(tmp_path_factory):
    """A stand-in that serves only Azure Stack Hub's Microsoft.Storage version (2020-09-01-hybrid profile)."""
    server = start_standin(BUILD / "logs" / "arm-standin-stackhub.log", api_versions={"Microsoft.Storage": ["2019-06-01"]})
    try:
        yield prepare_world(server)
    finally:
        server.stop()


def test_modules_work_against_a_cloud_serving_only_an_older_api_version(stack_hub, tmp_path):
    account = unique_name("hub")
    default = play(tmp_path, stack_hub.env, account_task("Default version", account, location=LOCATION))
    msg = default.task("Default version")["msg"]
    assert msg.startswith("api_version:") and "NoRegisteredProviderFound" in msg and "2019-06-01" in msg, msg
    env = {**stack_hub.env, "AZURE_STORAGE_API_VERSION": "2019-06-01"}
    tasks = [account_task("Account", account, location=LOCATION, network_rules={"ip_rules": ["203.0.113.10"]}),
             share_task("Share", account, "stan", protocol="NFS")]
    first, second = play(tmp_path, env, *tasks), play(tmp_path, env, *tasks)
    assert [first.task(t["name"]).get("changed") for t in tasks] == [True, True], explain(first)
    assert [second.task(t["name"]).get("changed") for t in tasks] == [False, False], explain(second)
    ipv6 = play(tmp_path, env, account_task("IPv6", account, network_rules={"ipv6_rules": ["2001:db8::/64"]}))
    assert ipv6.task("IPv6")["msg"].startswith("network_rules.ipv6_rules:") and "2025-01-01" in ipv6.task("IPv6")["msg"]
    assert {r["api_version"] for r in stack_hub.server.requests() if "/Microsoft.Storage/" in r["path"]} == {
        "2019-06-01", PINNED}


# ---------------------------------------------------------------- 5: share delete guard


def test_share_delete_without_force_is_decided_by_the_data_plane_not_the_usage_figure(standin, tmp_path):  # noqa: F811
    account = unique_name("del")
    setup = play(tmp_path, standin.env, account_task("Account", account, location=LOCATION, kind="StorageV2"),
                 share_task("Written share", account, "written", quota=10),
                 share_task("Empty share", account, "empty", quota=10))
    assert setup.task("Empty share").get("changed") is True, explain(setup)
    # Data written a moment ago: the data plane lists it, the approximate usage still says 0.
    standin.server.set_share_files(RESOURCE_GROUP, account, "written", ["msgs.1.dat"])
    result = play(tmp_path, standin.env, share_task("Delete the written share", account, "written", state="absent"),
                  share_task("Delete the empty share", account, "empty", state="absent"))
    refused = result.task("Delete the written share")
    assert refused.get("failed") and refused["msg"].startswith("force:") and "1 file" in refused["msg"], explain(result)
    assert result.task("Delete the empty share").get("changed") is True, explain(result)
    deletes = [r["path"].rsplit("/", 1)[1] for r in standin.server.requests() if r["method"] == "DELETE"]
    assert deletes == ["empty"]


def test_nfs_share_is_never_deleted_without_force(standin, tmp_path):  # noqa: F811
    account = unique_name("nfs")
    result = play(tmp_path, standin.env, account_task("Account", account, location=LOCATION, https_only=False),
                  share_task("Share", account, "stan", protocol="NFS"),
                  share_task("Delete", account, "stan", state="absent"))
    refused = result.task("Delete")
    assert refused.get("failed") and refused["msg"].startswith("force:") and "NFS" in refused["msg"], explain(result)
    assert not [r for r in standin.server.requests() if r["method"] == "DELETE"]


# ---------------------------------------------------------------- 6: Kerberos keys


def test_kerberos_keys_never_reach_the_result(standin, tmp_path):  # noqa: F811
    account = unique_name("krb")
    result = play(tmp_path, standin.env, account_task("Account", account, location=LOCATION),
                  {**account_task("Keys", account, return_keys=True), "no_log": True, "register": "keys"},
                  {"name": "Key names", "ansible.builtin.debug": {"msg": "{{ keys.account_keys | map(attribute='key_name') | list }}"}})
    assert result.task("Key names")["msg"] == ["key1", "key2"], explain(result)
    kerb = set(standin.server.issued_keys()[-2:])
    assert not [k for k in kerb if k in result.stdout]


# ---------------------------------------------------------------- 8: azure.yml with SMB, a taken name


def test_azure_playbook_with_smb_shows_why_a_taken_account_name_fails(standin, tmp_path):  # noqa: F811
    extra = {"resource_group": RESOURCE_GROUP, "storage_account": standin.taken_name, "location": LOCATION,
             "protocol": "smb", "aks_subnet_ids": [], "verify_ft": False}
    result = run_playbook(REPO / "playbooks" / "azure.yml", extra_vars=extra, env=standin.env)
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert result.rc != 0 and failed, explain(result)
    assert failed[0]["name"] == "Ensure the storage account, reachable only from the AKS subnets"
    msg = failed[0]["result"].get("msg", "")
    assert msg.startswith("name:") and "AlreadyExists" in msg and standin.taken_name in msg, failed[0]["result"]
    assert "censored" not in json.dumps(failed[0]["result"])


def test_azure_playbook_with_smb_at_vvv_shows_no_key_up_to_its_first_kubernetes_call(standin, tmp_path):  # noqa: F811
    """The whole play at -vvv, with a cluster that cannot be reached: the key is read, handed to the role, and
    rendered into the Secret before the first Kubernetes call fails; no form of it appears in the output."""
    import base64

    from tests.lib import procs

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{procs.free_port()}"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
        "users": [{"name": "dead", "user": {"token": "not-a-secret"}}]}))
    extra = {"resource_group": RESOURCE_GROUP, "storage_account": unique_name("smb"), "location": LOCATION,
             "protocol": "smb", "aks_subnet_ids": [], "verify_ft": False}
    env = {**standin.env, "KUBECONFIG": str(kubeconfig), "K8S_AUTH_KUBECONFIG": str(kubeconfig)}
    result = run_playbook(REPO / "playbooks" / "azure.yml", extra_vars=extra, env=env, args=["-vvv"])
    assert result.rc != 0
    assert [r for r in standin.server.requests() if r["path"].lower().endswith("/listkeys")], "the key was never read"
    assert "Read the storage account key for the SMB secret" in result.stdout
    document = json.loads(result.stdout[result.stdout.find("\n{"):])
    ran = [task["task"]["name"] for play in document["plays"] for task in play["tasks"]]
    assert "nats_streaming.ft.azure_files : Render the Azure Files manifests" in ran, ran  # the key went into the Secret
    keys = standin.server.issued_keys()
    assert keys
    for key in keys:
        for form in (key, base64.b64encode(key.encode()).decode()):
            assert form not in result.stdout and form not in result.stderr, "an account key appeared in the -vvv output"
