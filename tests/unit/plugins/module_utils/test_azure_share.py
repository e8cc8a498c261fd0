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
