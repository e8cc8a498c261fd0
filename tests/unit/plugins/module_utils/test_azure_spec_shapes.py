"""Response shapes of Microsoft's Microsoft.Storage specification through the SDK and the modules.

The documents below are written for this project. They follow the response shapes of the
examples of specification/storage/resource-manager/Microsoft.Storage/stable/2025-06-01
(StorageAccountGetProperties with resourceAccessRules, StorageAccountLeverageIPv6Ability,
StorageAccountCreate, FileSharesGet, FileSharesGet_Stats, FileSharesGet_ProvisionedV2,
StorageAccountListKeys) with made-up values. Each is read through azure-mgmt-storage's models
(the SDK's deserialisers, so a wrong field name shows) and through the modules' normalisation:
restating what ARM holds changes nothing, and no PATCH body drops a list of networkAcls.
"""

from __future__ import annotations

import copy

import pytest
from azure.mgmt.storage import models

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_share as sh
from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_storage as st

SUB = "00000000-0000-0000-0000-000000000000"
ACCOUNT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-spec/providers/Microsoft.Storage/storageAccounts/specacct01"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/rg-spec/providers/Microsoft.Synapse/workspaces/analytics"
SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks"

GET_PROPERTIES = {
    "id": ACCOUNT_ID,
    "name": "specacct01",
    "type": "Microsoft.Storage/storageAccounts",
    "kind": "StorageV2",
    "location": "eastus2",
    "sku": {"name": "Standard_GRS", "tier": "Standard"},
    "tags": {"team": "messaging"},
    "properties": {
        "provisioningState": "Succeeded",
        "creationTime": "2026-01-01T00:00:00.0000000Z",
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "keyCreationTime": {"key1": "2026-01-01T00:00:00.0000000Z", "key2": "2026-01-01T00:00:00.0000000Z"},
        "networkAcls": {
            "bypass": "AzureServices",
            "defaultAction": "Deny",
            "ipRules": [{"value": "203.0.113.0/24", "action": "Allow"}],
            "ipv6Rules": [{"value": "2001:0db8:85a3::/64", "action": "Allow"}],
            "resourceAccessRules": [{"tenantId": "11111111-2222-3333-4444-555555555555", "resourceId": WORKSPACE}],
            "virtualNetworkRules": [{"id": SUBNET, "action": "Allow", "state": "Succeeded"}],
        },
        "primaryEndpoints": {"file": "https://specacct01.file.core.windows.net/"},
        "statusOfPrimary": "available",
    },
}

# StorageAccountCreate answers the long-running PUT with the account; FileStorage provisioned v2 here.
CREATED_V2 = {
    "id": ACCOUNT_ID.replace("specacct01", "specv2acct"),
    "name": "specv2acct",
    "type": "Microsoft.Storage/storageAccounts",
    "kind": "FileStorage",
    "location": "eastus2",
    "sku": {"name": "PremiumV2_LRS", "tier": "Premium"},
    "properties": {
        "provisioningState": "Succeeded",
        "supportsHttpsTrafficOnly": False,
        "minimumTlsVersion": "TLS1_2",
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
        "primaryEndpoints": {"file": "https://specv2acct.file.core.windows.net/"},
    },
}

SHARE = {
    "id": ACCOUNT_ID + "/fileServices/default/shares/stan",
    "name": "stan",
    "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
    "etag": '"0x8D589847D51C7DE"',
    "properties": {"lastModifiedTime": "2026-01-01T00:00:00Z", "shareQuota": 1024, "accessTier": "Hot",
                   "enabledProtocols": "SMB", "metadata": {"app": "stan"}},
}
SHARE_STATS = copy.deepcopy(SHARE)
SHARE_STATS["properties"]["shareUsageBytes"] = 652945
SHARE_V2 = {
    "id": CREATED_V2["id"] + "/fileServices/default/shares/stan",
    "name": "stan",
    "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
    "etag": '"0x8D592D74CC20EBA"',
    "properties": {"lastModifiedTime": "2026-01-01T00:00:00Z", "shareQuota": 100, "provisionedIops": 5000,
                   "provisionedBandwidthMibps": 200, "includedBurstIops": 15000, "maxBurstCreditsForIops": 36000000,
                   "nextAllowedQuotaDowngradeTime": "Fri, 02 Jan 2026 00:00:00 GMT", "enabledProtocols": "NFS",
                   "rootSquash": "NoRootSquash"},
}
LIST_KEYS = {"keys": [{"keyName": "key1", "permissions": "Full", "value": "a2V5MQ=="},
                      {"keyName": "key2", "permissions": "Full", "value": "a2V5Mg=="},
                      {"keyName": "kerb1", "permissions": "Full", "value": "a2VyYjE="}]}


def params(**options):
    base = {"name": "specacct01", "resource_group": "rg-spec", "api_version": "2025-06-01", "network_rules": None,
            "tags": None, "purge_tags": False}
    base.update(options)
    return base


def test_the_sdk_reads_every_networkacls_list_of_the_documents():
    acls = models.StorageAccount(GET_PROPERTIES).properties.network_rule_set
    assert [r.resource_id for r in acls.resource_access_rules] == [WORKSPACE]
    assert [r.ip_address_or_range for r in acls.ipv6_rules] == ["2001:0db8:85a3::/64"]
    assert [r.ip_address_or_range for r in acls.ip_rules] == ["203.0.113.0/24"]
    assert [r.virtual_network_resource_id for r in acls.virtual_network_rules] == [SUBNET]
    assert models.StorageAccount(CREATED_V2).sku.tier == "Premium"


@pytest.mark.parametrize("document", [GET_PROPERTIES, CREATED_V2], ids=["get-properties", "create-v2"])
def test_restating_what_arm_holds_reports_no_change(document):
    before = st.account_view(document, "rg-spec")
    acls = document["properties"]["networkAcls"]
    restated = {"default_action": acls["defaultAction"], "bypass": [acls["bypass"]],
                "ip_rules": [r["value"] for r in acls["ipRules"]],
                "virtual_network_subnet_ids": [r["id"] for r in acls["virtualNetworkRules"]]}
    if acls.get("ipv6Rules"):
        restated["ipv6_rules"] = [r["value"] for r in acls["ipv6Rules"]]
    p = params(name=document["name"], network_rules={**restated, "add_service_endpoints": False},
               kind=document["kind"], sku=document["sku"]["name"], location="East US 2")
    spec = st.validate_params(p)
    after = st.desired_view(before, p, spec)
    assert after == before
    assert st.update_body(before, after, current_acls=acls) is None


@pytest.mark.parametrize(
    "change",
    [{"ip_rules": ["198.51.100.7"]}, {"ipv6_rules": ["2001:db8:1::/48"]},
     {"virtual_network_subnet_ids": [], "purge_virtual_network_rules": True}, {"default_action": "Allow"}],
    ids=["add-ipv4", "add-ipv6", "purge-subnets", "default-action"],
)
def test_no_patch_body_drops_a_list(change):
    held = GET_PROPERTIES["properties"]["networkAcls"]
    before = st.account_view(GET_PROPERTIES, "rg-spec")
    p = params(network_rules={**change, "add_service_endpoints": False})
    after = st.desired_view(before, p, st.validate_params(p))
    body = st.update_body(before, after, current_acls=held)["properties"]["networkAcls"]
    assert set(body) >= set(held)
    assert body["resourceAccessRules"] == held["resourceAccessRules"]
    for key in ("ipRules", "ipv6Rules", "virtualNetworkRules"):
        if not any(k in change for k in ({"ipRules": "ip_rules", "ipv6Rules": "ipv6_rules",
                                          "virtualNetworkRules": "virtual_network_subnet_ids"}[key],)):
            assert [r.get("value", r.get("id")) for r in body[key]] == [r.get("value", r.get("id")) for r in held[key]]
    # What ARM would then hold reads back as exactly the state the module predicted.
    assert st.account_view({**GET_PROPERTIES, "properties": {**GET_PROPERTIES["properties"], "networkAcls": body}},
                           "rg-spec") == after


@pytest.mark.parametrize(
    ("document", "account"),
    [(SHARE, GET_PROPERTIES), (SHARE_STATS, GET_PROPERTIES), (SHARE_V2, CREATED_V2)],
    ids=["get", "get-expand-stats", "get-provisioned-v2"],
)
def test_file_share_documents_restated_report_no_change(document, account):
    model = models.FileShare(document)
    assert model.share_quota == document["properties"]["shareQuota"]
    facts = sh.account_facts(account, (32, 262144) if "V2_" in account["sku"]["name"] else None)
    before = sh.share_view(document, facts, "rg-spec")
    restate = {"resource_group": "rg-spec", "storage_account": account["name"], "name": "stan", "quota": before["quota"],
               "protocol": before["protocol"], "root_squash": before.get("root_squash"),
               "access_tier": before["access_tier"], "metadata": document["properties"].get("metadata"),
               "purge_metadata": False}
    assert sh.desired_view(before, restate, facts) == before
    assert sh.update_body(before, before) is None


def test_the_usage_figure_and_provisioning_are_read_where_the_spec_puts_them():
    assert models.FileShare(SHARE_STATS).share_usage_bytes == 652945
    assert models.FileShare(SHARE).share_usage_bytes is None
    v2 = models.FileShare(SHARE_V2)
    assert (v2.provisioned_iops, v2.provisioned_bandwidth_mibps, v2.access_tier) == (5000, 200, None)


def test_list_keys_document_yields_the_two_account_keys_only():
    assert [k.key_name for k in models.StorageAccountListKeysResult(LIST_KEYS)["keys"]] == ["key1", "key2", "kerb1"]
    assert [(k["key_name"], k["permissions"]) for k in st.keys_result(LIST_KEYS)] == [("key1", "Full"), ("key2", "Full")]
