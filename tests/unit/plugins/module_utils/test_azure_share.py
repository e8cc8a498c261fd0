"""File share view, desired state and the account checks (plugins/module_utils/azure_share.py)."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_share as sh
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import OptionError

PREMIUM = sh.account_facts({"name": "prem", "kind": "FileStorage", "sku": {"name": "Premium_LRS"},
                            "properties": {"supportsHttpsTrafficOnly": False}})
STANDARD = sh.account_facts({"name": "std", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "properties": {}})


def params(**overrides):
    base = {"resource_group": "rg", "storage_account": "prem", "name": "stan-store", "state": "present", "quota": None,
            "protocol": None, "root_squash": None, "access_tier": None, "metadata": None, "purge_metadata": False,
            "force": False}
    base.update(overrides)
    return base


def arm_share(**props):
    return {"name": "stan-store", "properties": props}


@pytest.mark.parametrize("name", ["ab", "Upper", "-start", "end-", "dou--ble", "x" * 64, "under_score"])
def test_invalid_share_names_are_refused(name):
    with pytest.raises(OptionError, match="^name: "):
        sh.validate_params(params(name=name))


def test_quota_and_root_squash_are_checked_before_any_call():
    with pytest.raises(OptionError, match="^quota: "):
        sh.validate_params(params(quota=0))
    with pytest.raises(OptionError, match="^root_squash: applies to NFS shares only"):
        sh.validate_params(params(protocol="SMB", root_squash="RootSquash"))
    with pytest.raises(OptionError, match="^metadata: key '1bad'"):
        sh.validate_params(params(metadata={"1bad": "x"}))
    with pytest.raises(OptionError, match="^storage_account: "):
        sh.validate_params(params(storage_account="Bad_Account"))


def test_nfs_on_a_standard_account_names_the_protocol_option():
    with pytest.raises(OptionError, match="^protocol: NFS shares need a Premium FileStorage account"):
        sh.desired_view(None, params(storage_account="std", protocol="NFS"), STANDARD)


def test_new_premium_nfs_share_defaults():
    after = sh.desired_view(None, params(protocol="NFS"), PREMIUM)
    assert after == {"name": "stan-store", "storage_account": "prem", "resource_group": "rg", "quota": 100,
                     "protocol": "NFS", "access_tier": "Premium", "metadata": {}, "root_squash": "NoRootSquash"}
    assert sh.create_body(after) == {"properties": {"shareQuota": 100, "enabledProtocols": "NFS",
                                                    "accessTier": "Premium", "rootSquash": "NoRootSquash",
                                                    "metadata": {}}}


def test_new_standard_smb_share_defaults():
    after = sh.desired_view(None, params(storage_account="std"), STANDARD)
    assert (after["protocol"], after["quota"], after["access_tier"]) == ("SMB", 5120, "TransactionOptimized")
    assert "root_squash" not in after


@pytest.mark.parametrize(
    ("facts", "overrides", "option"),
    [
        (PREMIUM, {"quota": 50}, "quota"),
        (STANDARD, {"quota": 6000}, "quota"),
        (PREMIUM, {"access_tier": "Hot"}, "access_tier"),
        (STANDARD, {"access_tier": "Premium"}, "access_tier"),
    ],
)
def test_settings_the_account_cannot_hold_name_the_option(facts, overrides, option):
    with pytest.raises(OptionError, match="^%s: " % option):
        sh.desired_view(None, params(**overrides), facts)


def test_view_reads_arm_json_case_insensitively():
    view = sh.share_view(arm_share(shareQuota=100, enabledProtocols="nfs", metadata={"App": "stan"}), PREMIUM, "rg")
    assert view["protocol"] == "NFS" and view["root_squash"] == "NoRootSquash"
    assert view["metadata"] == {"app": "stan"} and view["access_tier"] == "Premium"


def test_unset_options_leave_the_share_alone_and_changes_are_patched_alone():
    current = sh.share_view(arm_share(shareQuota=100, enabledProtocols="NFS", rootSquash="NoRootSquash",
                                      accessTier="Premium", metadata={"app": "stan"}), PREMIUM, "rg")
    assert sh.desired_view(current, params(), PREMIUM) == current
    after = sh.desired_view(current, params(quota=200, metadata={"team": "msg"}), PREMIUM)
    assert sh.update_body(current, after) == {"properties": {"shareQuota": 200,
                                                             "metadata": {"app": "stan", "team": "msg"}}}
    purged = sh.desired_view(current, params(metadata={"team": "msg"}, purge_metadata=True), PREMIUM)
    assert purged["metadata"] == {"team": "msg"}


def test_protocol_of_an_existing_share_cannot_change():
    current = sh.share_view(arm_share(shareQuota=100, enabledProtocols="NFS"), PREMIUM, "rg")
    with pytest.raises(OptionError, match="^protocol: share 'stan-store' uses NFS"):
        sh.desired_view(current, params(protocol="SMB"), PREMIUM)


def test_root_squash_on_an_existing_smb_share_is_refused():
    current = sh.share_view(arm_share(shareQuota=100, enabledProtocols="SMB"), PREMIUM, "rg")
    with pytest.raises(OptionError, match="^root_squash: "):
        sh.desired_view(current, params(root_squash="AllSquash"), PREMIUM)


# ---------------------------------------------------------------- V2 SKUs (decided by sku.tier, not the name)

PREMIUM_V2 = sh.account_facts({"name": "pv2", "kind": "FileStorage", "sku": {"name": "PremiumV2_LRS", "tier": "Premium"},
                               "properties": {}}, quota_limits=(32, 262144))
STANDARD_V2 = sh.account_facts({"name": "sv2", "kind": "FileStorage", "sku": {"name": "StandardV2_LRS", "tier": "Standard"},
                                "properties": {}}, quota_limits=(32, 262144))


def test_nfs_is_accepted_on_premium_v2_and_refused_on_standard_v2():
    created = sh.desired_view(None, params(protocol="NFS", quota=32), PREMIUM_V2)
    assert created["protocol"] == "NFS" and created["access_tier"] is None
    with pytest.raises(OptionError, match="^protocol: NFS shares need a Premium FileStorage account"):
        sh.desired_view(None, params(protocol="NFS", quota=100), STANDARD_V2)


def test_provisioned_v2_shares_take_large_quotas_but_no_access_tier():
    assert sh.desired_view(None, params(quota=10240), STANDARD_V2)["quota"] == 10240
    with pytest.raises(OptionError, match="^access_tier: shares of provisioned v2 account 'sv2'"):
        sh.desired_view(None, params(quota=100, access_tier="Hot"), STANDARD_V2)
    with pytest.raises(OptionError, match="^quota: shares of provisioned v2 account 'pv2' are 32 to 262144 GiB, got 16"):
        sh.desired_view(None, params(quota=16), PREMIUM_V2)
    with pytest.raises(OptionError, match="^quota: a share of provisioned v2 account 'sv2' is billed"):
        sh.desired_view(None, params(), STANDARD_V2)


def test_create_body_of_a_provisioned_v2_share_sends_no_access_tier():
    body = sh.create_body(sh.desired_view(None, params(quota=100), STANDARD_V2))
    assert "accessTier" not in body["properties"] and body["properties"]["shareQuota"] == 100


def test_a_provisioned_v2_share_read_back_is_unchanged_when_restated():
    share = arm_share(shareQuota=100, provisionedIops=3100, provisionedBandwidthMibps=135, includedBurstIops=10000)
    before = sh.share_view(share, STANDARD_V2, "rg")
    assert before["access_tier"] is None
    assert sh.desired_view(before, params(quota=100), STANDARD_V2) == before


def test_premium_is_read_from_the_tier_and_from_the_name_only_without_one():
    assert sh.account_facts({"name": "a", "sku": {"name": "PremiumV2_ZRS"}})["premium"] is True
    assert sh.account_facts({"name": "a", "sku": {"name": "Premium_LRS", "tier": "Premium"}})["premium"] is True
    assert sh.account_facts({"name": "a", "sku": {"name": "StandardV2_GZRS", "tier": "Standard"}})["premium"] is False


def test_shared_key_signature_covers_the_path_style_endpoint_and_sorted_query():
    key = "a2V5" * 22  # base64 of b"key" * 22
    headers = {"x-ms-date": "Mon, 30 Nov 2026 00:00:00 GMT", "x-ms-version": "2019-07-07"}
    one = sh.shared_key_authorization("acct", key, "GET", "https://127.0.0.1:1/file/acct/share?restype=directory&comp=list",
                                      headers)
    two = sh.shared_key_authorization("acct", key, "GET", "https://127.0.0.1:1/file/acct/share?comp=list&restype=directory",
                                      headers)
    other = sh.shared_key_authorization("acct", key, "GET", "https://127.0.0.1:1/file/acct/other?comp=list&restype=directory",
                                        headers)
    assert one == two != other and one.startswith("SharedKey acct:")
