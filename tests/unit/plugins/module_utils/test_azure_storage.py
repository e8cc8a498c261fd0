"""Storage account view, desired state and request bodies (plugins/module_utils/azure_storage.py)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_storage as st
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import OptionError
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_network_rules import NetworkRuleError

SUBNET = "/subscriptions/1111/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes"

ARM_ACCOUNT = {
    "id": "/subscriptions/1111/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stanfiles",
    "name": "stanfiles",
    "location": "East US",
    "kind": "FileStorage",
    "sku": {"name": "Premium_LRS", "tier": "Premium"},
    "tags": {"app": "stan"},
    "properties": {
        "supportsHttpsTrafficOnly": False,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                        "virtualNetworkRules": [{"id": SUBNET, "action": "Allow"}], "ipRules": []},
    },
}


def params(**overrides):
    base = {
        "resource_group": "rg", "name": "stanfiles", "state": "present", "location": None, "kind": None, "sku": None,
        "https_only": None, "minimum_tls_version": None, "allow_blob_public_access": None,
        "public_network_access": None, "network_rules": None, "tags": None, "purge_tags": False, "return_keys": False,
    }
    base.update(overrides)
    return base


def rules_param(**kwargs):
    base = {"default_action": None, "bypass": None, "virtual_network_subnet_ids": None, "ip_rules": None,
            "purge_virtual_network_rules": False, "purge_ip_rules": False, "add_service_endpoints": False}
    base.update(kwargs)
    return base


def before():
    return st.account_view(ARM_ACCOUNT, "rg")


def desired(p, current=None):
    return st.desired_view(current, p, st.validate_params(p))


@pytest.mark.parametrize("name", ["ab", "a" * 25, "Upper1", "with-dash", "under_score", ""])
def test_invalid_account_names_are_refused_before_any_call(name):
    with pytest.raises(OptionError, match="^name: .* is not a valid storage account name"):
        st.validate_params(params(name=name))


def test_valid_account_names_pass():
    for name in ("abc", "a" * 24, "stan01files"):
        st.validate_params(params(name=name))


def test_file_storage_with_standard_sku_is_refused():
    with pytest.raises(OptionError, match="^sku: a FileStorage account needs Premium_LRS/Premium_ZRS or a provisioned v2 SKU"):
        st.validate_params(params(kind="FileStorage", sku="Standard_LRS"))


def test_account_view_normalizes_arm_json():
    view = before()
    assert view["location"] == "eastus"
    assert view["public_network_access"] == "Enabled"  # null in ARM means enabled
    assert view["network_rules"]["virtual_network_subnet_ids"] == [SUBNET.lower()]
    assert view["https_only"] is False and view["sku"] == "Premium_LRS"


def test_new_account_gets_secure_defaults_and_is_sent_whole():
    after = desired(params(location="West Europe", network_rules=rules_param(ip_rules=["203.0.113.10"])))
    assert after["location"] == "westeurope"
    assert (after["kind"], after["sku"]) == ("FileStorage", "Premium_LRS")
    assert after["https_only"] is True and after["minimum_tls_version"] == "TLS1_2"
    assert after["allow_blob_public_access"] is False
    assert after["network_rules"]["default_action"] == "Deny"
    body = st.create_body(after)
    assert body["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert body["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert body["sku"] == {"name": "Premium_LRS"}


def test_storagev2_defaults_to_standard_lrs():
    assert desired(params(location="eastus", kind="StorageV2"))["sku"] == "Standard_LRS"


def test_creating_without_location_names_the_option():
    with pytest.raises(OptionError, match="^location: is required"):
        desired(params())


def test_unset_options_leave_an_existing_account_alone():
    current = before()
    after = desired(params(), current)
    assert after == current
    assert st.update_body(current, after) is None


def test_only_changed_fields_are_patched():
    current = before()
    after = desired(params(minimum_tls_version="TLS1_2", https_only=True, tags={"team": "msg"}), current)
    assert st.update_body(current, after) == {
        "tags": {"app": "stan", "team": "msg"},
        "properties": {"supportsHttpsTrafficOnly": True},
    }


def test_purge_tags_replaces_them():
    after = desired(params(tags={"team": "msg"}, purge_tags=True), before())
    assert after["tags"] == {"team": "msg"}


def test_network_rules_change_sends_the_whole_acl():
    current = before()
    after = desired(params(network_rules=rules_param(ip_rules=["203.0.113.10"])), current)
    body = st.update_body(current, after, {SUBNET.lower(): SUBNET})
    assert body == {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices",
        "virtualNetworkRules": [{"id": SUBNET, "action": "Allow"}],
        "ipRules": [{"value": "203.0.113.10", "action": "Allow"}],
    }}}


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"location": "westus"}, "location"),
        ({"kind": "StorageV2"}, "kind"),
        ({"sku": "Standard_LRS"}, "sku"),
        ({"sku": "Premium_ZRS"}, "sku"),
    ],
)
def test_changes_arm_cannot_make_in_place_name_the_option(overrides, option):
    with pytest.raises(OptionError, match="^%s: " % option):
        desired(params(**overrides), before())


def test_standard_redundancy_changes_within_a_family_are_allowed():
    assert st.sku_change_problem("Standard_LRS", "Standard_GRS") is None
    assert st.sku_change_problem("Standard_ZRS", "Standard_GZRS") is None
    assert "zone-redundant" in st.sku_change_problem("Standard_LRS", "Standard_ZRS")


def test_bad_network_rule_names_the_sub_option():
    with pytest.raises(NetworkRuleError, match="^network_rules.virtual_network_subnet_ids: "):
        st.validate_params(params(network_rules=rules_param(virtual_network_subnet_ids=["subnet-a"])))
    with pytest.raises(OptionError, match="^network_rules.add_service_endpoints: "):
        st.validate_params(params(network_rules=rules_param(add_service_endpoints=True)))


def test_keys_need_a_no_log_task():
    with pytest.raises(OptionError, match="^return_keys: set 'no_log: true'"):
        st.check_keys_are_hidden(params(return_keys=True), task_no_log=False)
    st.check_keys_are_hidden(params(return_keys=True), task_no_log=True)
    st.check_keys_are_hidden(params(return_keys=False), task_no_log=False)


def test_subnet_endpoint_is_added_once():
    subnet = {"name": "nodes", "properties": {"addressPrefix": "10.0.0.0/24",
                                              "serviceEndpoints": [{"service": "Microsoft.KeyVault"}]}}
    updated = st.subnet_with_storage_endpoint(subnet)
    assert st.subnet_services(updated) == ["Microsoft.KeyVault", "Microsoft.Storage"]
    assert st.subnet_services(subnet) == ["Microsoft.KeyVault"]  # the input is not modified
    assert st.has_storage_endpoint(["microsoft.storage.global"])
    assert not st.has_storage_endpoint(["Microsoft.KeyVault"])


def test_view_of_what_arm_stores_after_the_patch_equals_the_prediction():
    current = before()
    after = desired(params(network_rules=rules_param(ip_rules=["198.51.100.0/24"]), tags={"x": "1"}), current)
    stored = copy.deepcopy(ARM_ACCOUNT)
    body = st.update_body(current, after)
    stored["tags"] = body["tags"]
    stored["properties"].update(body["properties"])
    assert st.account_view(stored, "rg") == after


# ---------------------------------------------------------------- V2 SKUs, api-version features, keys


def test_v2_skus_are_file_storage_only_and_change_neither_tier_nor_model_in_place():
    st.check_kind_and_sku("FileStorage", "StandardV2_LRS")
    st.check_kind_and_sku("FileStorage", "PremiumV2_ZRS")
    with pytest.raises(OptionError, match="^sku: StandardV2_LRS is a Files provisioned v2 SKU, for kind: FileStorage"):
        st.check_kind_and_sku("StorageV2", "StandardV2_LRS")
    assert "Premium and Standard" in st.sku_change_problem("PremiumV2_LRS", "StandardV2_LRS")
    assert "provisioned v1 and v2" in st.sku_change_problem("Premium_LRS", "PremiumV2_LRS")
    assert st.sku_tier("PremiumV2_LRS") == "Premium" and st.sku_tier("StandardV2_GRS") == "Standard"


def test_options_newer_than_the_pinned_api_version_are_refused_naming_the_version_they_need():
    spec = {"ipv6_rules": ["2001:db8::/64"]}
    st.check_api_version_features({"api_version": "2025-06-01", "sku": "PremiumV2_LRS"}, spec)
    with pytest.raises(OptionError, match="^network_rules.ipv6_rules: needs Microsoft.Storage api-version 2025-01-01"):
        st.check_api_version_features({"api_version": "2019-06-01"}, spec)
    with pytest.raises(OptionError, match="^sku: needs Microsoft.Storage api-version 2024-01-01"):
        st.check_api_version_features({"api_version": "2023-05-01", "sku": "StandardV2_LRS"}, None)


def test_kerberos_keys_are_never_part_of_the_result():
    listed = {"keys": [{"keyName": "key1", "value": "a", "permissions": "Full"},
                       {"keyName": "key2", "value": "b", "permissions": "Full"},
                       {"keyName": "kerb1", "value": "c", "permissions": "Full"}]}
    assert [k["key_name"] for k in st.keys_result(listed)] == ["key1", "key2"]


def test_patch_body_carries_the_lists_the_module_does_not_manage():
    held = {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": [],
            "ipv6Rules": [{"value": "2001:db8::/64", "action": "Allow"}],
            "resourceAccessRules": [{"tenantId": "t", "resourceId": "/subscriptions/s/resourceGroups/r/providers/P/x/y"}]}
    account = {"name": "acct", "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
               "properties": {"networkAcls": held}}
    before = st.account_view(account, "rg")
    spec = st.validate_params({"name": "acct", "network_rules": {"ip_rules": ["203.0.113.10"], "add_service_endpoints": False},
                               "api_version": "2025-06-01"})
    after = st.desired_view(before, {"name": "acct", "resource_group": "rg"}, spec)
    body = st.update_body(before, after, current_acls=held)["properties"]["networkAcls"]
    assert body["ipv6Rules"] == held["ipv6Rules"] and body["resourceAccessRules"] == held["resourceAccessRules"]
    assert body["ipRules"] == [{"value": "203.0.113.10", "action": "Allow"}]
