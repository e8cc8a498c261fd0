# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The azure_file_share module's logic: normalized view, desired state, one comparison."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import (
    OptionError,
    json_body,
    raw_json,
)
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_storage import read_account
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_storage import validate_name as validate_account_name
from ansible_collections.nats_streaming.ft.plugins.module_utils.common import dict_changes, make_diff

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
except ImportError:  # reported by AzureModule
    HttpResponseError = ResourceNotFoundError = None

SHARE_NAME_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
METADATA_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PROTOCOLS = ["SMB", "NFS"]
ROOT_SQUASH = ["NoRootSquash", "RootSquash", "AllSquash"]
ACCESS_TIERS = ["TransactionOptimized", "Hot", "Cool", "Premium"]
MAX_QUOTA_GIB = 102400
STANDARD_QUOTA_GIB = 5120
PREMIUM_MIN_QUOTA_GIB = 100

SHARE_ERROR_OPTIONS = {
    "ResourceGroupNotFound": "resource_group",
    "ParentResourceNotFound": "storage_account",
    "FeatureNotSupportedForAccount": "protocol",
    "InvalidHeaderValue": "quota",
    "ShareAlreadyExists": "name",
    "SubscriptionNotFound": "subscription_id",
}


# ---------------------------------------------------------------- pure helpers


def validate_params(params):
    """Checks that need no call to Azure."""
    validate_account_name(params["storage_account"], option="storage_account")
    name = params["name"]
    if not SHARE_NAME_RE.match(name or ""):
        raise OptionError(
            "name",
            "%r is not a valid share name: 3 to 63 characters, lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit" % name,
        )
    quota = params.get("quota")
    if quota is not None and not 1 <= quota <= MAX_QUOTA_GIB:
        raise OptionError("quota", "must be between 1 and %d GiB, got %d" % (MAX_QUOTA_GIB, quota))
    if params.get("root_squash") and params.get("protocol") == "SMB":
        raise OptionError("root_squash", "applies to NFS shares only; remove it or set protocol: NFS")
    for key, value in (params.get("metadata") or {}).items():
        if not METADATA_KEY_RE.match(key):
            raise OptionError(
                "metadata", "key %r is not valid: use letters, digits and underscores, not starting with a digit" % key
            )
        if value is None or isinstance(value, (dict, list)):
            raise OptionError("metadata", "the value of %r must be a string" % key)


def account_facts(account):
    """What the share checks need to know about its storage account (ARM JSON)."""
    sku = (account.get("sku") or {}).get("name") or ""
    props = account.get("properties") or {}
    return {
        "name": account.get("name"),
        "kind": account.get("kind"),
        "sku": sku,
        "premium": sku.startswith("Premium_"),
        "large_file_shares": (props.get("largeFileSharesState") or "").lower() == "enabled",
        "https_only": bool(props.get("supportsHttpsTrafficOnly", True)),
    }


def default_tier(facts):
    return "Premium" if facts["premium"] else "TransactionOptimized"


def share_view(share, facts, resource_group):
    """Normalized view of ARM's file share JSON."""
    props = share.get("properties") or {}
    protocol = (props.get("enabledProtocols") or "SMB").upper()
    view = {
        "name": share.get("name"),
        "storage_account": facts["name"],
        "resource_group": resource_group,
        "quota": props.get("shareQuota"),
        "protocol": protocol,
        "access_tier": props.get("accessTier") or default_tier(facts),
        "metadata": dict((k.lower(), to_native(v)) for k, v in (props.get("metadata") or {}).items()),
    }
    if protocol == "NFS":
        view["root_squash"] = props.get("rootSquash") or "NoRootSquash"
    return view


def check_against_account(after, facts):
    """Refuse settings the storage account cannot hold, naming the option."""
    if after["protocol"] == "NFS" and not (facts["premium"] and facts["kind"] == "FileStorage"):
        raise OptionError(
            "protocol",
            "NFS shares need a Premium FileStorage account; storage account %r is %s with SKU %s"
            % (facts["name"], facts["kind"], facts["sku"]),
        )
    tier = after["access_tier"]
    if facts["premium"] and tier != "Premium":
        raise OptionError("access_tier", "shares on Premium account %r always use the Premium tier, not %s" % (facts["name"], tier))
    if not facts["premium"] and tier == "Premium":
        raise OptionError(
            "access_tier", "the Premium tier needs a Premium FileStorage account; %r is %s" % (facts["name"], facts["sku"])
        )
    quota = after["quota"]
    if facts["premium"] and quota < PREMIUM_MIN_QUOTA_GIB:
        raise OptionError("quota", "Premium file shares are at least %d GiB, got %d" % (PREMIUM_MIN_QUOTA_GIB, quota))
    if not facts["premium"] and not facts["large_file_shares"] and quota > STANDARD_QUOTA_GIB:
        raise OptionError(
            "quota",
            "storage account %r allows up to %d GiB per share (large file shares are not enabled), got %d"
            % (facts["name"], STANDARD_QUOTA_GIB, quota),
        )


def desired_view(before, params, facts):
    """The share view after applying the options to ``before`` (None = share to be created)."""
    if before is None:
        protocol = params.get("protocol") or "SMB"
        after = {
            "name": params["name"],
            "storage_account": facts["name"],
            "resource_group": params["resource_group"],
            "quota": params.get("quota") or (PREMIUM_MIN_QUOTA_GIB if facts["premium"] else STANDARD_QUOTA_GIB),
            "protocol": protocol,
            "access_tier": params.get("access_tier") or default_tier(facts),
            "metadata": {},
        }
        if protocol == "NFS":
            after["root_squash"] = params.get("root_squash") or "NoRootSquash"
    else:
        after = copy.deepcopy(before)
        if params.get("protocol") and params["protocol"] != before["protocol"]:
            raise OptionError(
                "protocol",
                "share %r uses %s; the protocol of an existing share cannot change (create a new share)"
                % (before["name"], before["protocol"]),
            )
        if params.get("quota") is not None:
            after["quota"] = params["quota"]
        if params.get("access_tier"):
            after["access_tier"] = params["access_tier"]
        if params.get("root_squash"):
            if before["protocol"] != "NFS":
                raise OptionError("root_squash", "share %r is an SMB share; root_squash applies to NFS only" % before["name"])
            after["root_squash"] = params["root_squash"]
    if params.get("metadata") is not None:
        wanted = dict((k.lower(), to_native(v)) for k, v in params["metadata"].items())
        if params.get("purge_metadata"):
            after["metadata"] = wanted
        else:
            merged = dict(after["metadata"])
            merged.update(wanted)
            after["metadata"] = merged
    check_against_account(after, facts)
    return after


PROPERTY_FIELDS = (
    ("quota", "shareQuota"),
    ("protocol", "enabledProtocols"),
    ("access_tier", "accessTier"),
    ("root_squash", "rootSquash"),
    ("metadata", "metadata"),
)


def create_body(after):
    return {"properties": dict((arm, after[key]) for key, arm in PROPERTY_FIELDS if key in after)}


def update_body(before, after):
    changes = dict_changes(before, after)
    props = dict((arm, after[key]) for key, arm in PROPERTY_FIELDS if key in changes)
    return {"properties": props} if props else None


# ---------------------------------------------------------------- the run


class FileShareRunner(object):
    def __init__(self, azure):
        self.azure = azure
        self.params = azure.params
        self.rg = self.params["resource_group"]
        self.account = self.params["storage_account"]
        self.name = self.params["name"]

    def what(self):
        return "file share %r of storage account %r" % (self.name, self.account)

    def fail_sdk(self, exc, doing):
        self.azure.fail_from_exception(exc, doing, SHARE_ERROR_OPTIONS)

    def get_account(self):
        return read_account(self.azure, self.rg, self.account, SHARE_ERROR_OPTIONS)

    def get_share(self):
        client = self.azure.storage_client()
        try:
            return client.file_shares.get(self.rg, self.account, self.name, expand="stats", cls=raw_json)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            self.fail_sdk(exc, "reading " + self.what())

    def write(self, verb, body=None):
        client = self.azure.storage_client()
        try:
            if verb == "create":
                return client.file_shares.create(self.rg, self.account, self.name, json_body(body), cls=raw_json)
            if verb == "update":
                return client.file_shares.update(self.rg, self.account, self.name, json_body(body), cls=raw_json)
            client.file_shares.delete(self.rg, self.account, self.name)
            return None
        except HttpResponseError as exc:
            self.fail_sdk(exc, "%s %s" % ({"create": "creating", "update": "updating"}.get(verb, "deleting"), self.what()))

    def finish(self, changed, before, after, share_json, usage=None):
        share = copy.deepcopy(after) if after else {}
        if after:
            share["id"] = (share_json or {}).get("id") or (
                "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/fileServices/default/shares/%s"
                % (self.azure.subscription_id, self.rg, self.account, self.name)
            )
            share["usage_bytes"] = usage
        result = dict(changed=changed, share=share)
        if self.azure.diff_mode:
            result["diff"] = make_diff(before, after)
        self.azure.exit(**result)

    def run(self):
        try:
            validate_params(self.params)
        except OptionError as exc:
            self.azure.fail(to_native(exc))
        account = self.get_account()
        if account is None:
            if self.params["state"] == "absent":
                self.finish(False, None, None, None)
            self.azure.fail(
                "storage_account: storage account %r was not found in resource group %r" % (self.account, self.rg)
            )
        facts = account_facts(account)
        current = self.get_share()
        before = share_view(current, facts, self.rg) if current else None
        usage = ((current or {}).get("properties") or {}).get("shareUsageBytes")

        if self.params["state"] == "absent":
            if before is None:
                self.finish(False, None, None, None)
            if not self.params.get("force") and (usage is None or usage > 0):
                held = "an unknown amount of" if usage is None else "%d bytes of" % usage
                self.azure.fail(
                    "force: %s holds %s data; refusing to delete it. Set force: true to delete the share and its data."
                    % (self.what(), held)
                )
            if not self.azure.check_mode:
                self.write("delete")
            self.finish(True, before, None, None)

        try:
            after = desired_view(before, self.params, facts)
        except OptionError as exc:
            self.azure.fail(to_native(exc))
        if after["protocol"] == "NFS" and facts["https_only"]:
            self.azure.warn(
                "storage account %r requires secure transfer (https_only); NFS clients cannot mount its shares "
                "until azure_storage_account sets https_only: false" % self.account
            )
        changed = before != after
        share_json = current
        if changed and not self.azure.check_mode:
            if before is None:
                self.write("create", create_body(after))
            else:
                self.write("update", update_body(before, after))
            # ARM's PATCH answer may carry only the properties sent: read the share back.
            share_json = self.get_share()
            usage = ((share_json or {}).get("properties") or {}).get("shareUsageBytes")
            real_after = share_view(share_json, facts, self.rg) if share_json else None
            if real_after != after:
                self.azure.warn(
                    "Azure stored a different state than requested for %s; requested %r, stored %r"
                    % (self.what(), dict_changes(real_after, after), dict_changes(after, real_after))
                )
            after = real_after
        self.finish(changed, before, after, share_json, usage)


def run(azure):
    """Entry point of the azure_file_share module (``azure`` is an AzureModule)."""
    FileShareRunner(azure).run()
