# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The azure_file_share module's logic: normalized view, desired state, one comparison."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from email.utils import formatdate

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import quote, unquote, urlparse
from ansible.module_utils.urls import open_url

from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import (
    OptionError,
    error_code,
    json_body,
    raw_json,
)
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_storage import (
    is_provisioned_v2,
    keys_result,
    read_account,
    sku_tier,
)
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
MAX_QUOTA_GIB = 262144  # the largest provisioned v2 share (FileServices_GetServiceUsage, 2025-06-01)
LARGE_QUOTA_GIB = 102400
STANDARD_QUOTA_GIB = 5120
PREMIUM_MIN_QUOTA_GIB = 100
# FileREST version of the share listing: served by public Azure and by Azure Stack Hub (2019-07-07).
FILE_SERVICE_VERSION = "2019-07-07"

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


def account_facts(account, quota_limits=None):
    """What the share checks need to know about its storage account (ARM JSON).

    Premium is ARM's ``sku.tier`` (the name only when an answer lacks it): PremiumV2_* is Premium
    too. ``quota_limits`` are (min, max) GiB of a provisioned v2 account's shares.
    """
    sku = (account.get("sku") or {}).get("name") or ""
    props = account.get("properties") or {}
    return {
        "name": account.get("name"),
        "kind": account.get("kind"),
        "sku": sku,
        "premium": ((account.get("sku") or {}).get("tier") or sku_tier(sku)) == "Premium",
        "provisioned_v2": is_provisioned_v2(sku),
        "quota_limits": quota_limits,
        "large_file_shares": (props.get("largeFileSharesState") or "").lower() == "enabled",
        "https_only": bool(props.get("supportsHttpsTrafficOnly", True)),
        "file_endpoint": (props.get("primaryEndpoints") or {}).get("file"),
    }


def default_tier(facts):
    """The access tier ARM gives a new share; provisioned v2 shares have none."""
    if facts.get("provisioned_v2"):
        return None
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
    quota = after["quota"]
    if facts.get("provisioned_v2"):
        if tier is not None:
            raise OptionError(
                "access_tier", "shares of provisioned v2 account %r (%s) have no access tier; remove access_tier" % (facts["name"], facts["sku"])
            )
        low, high = facts.get("quota_limits") or (None, None)
        if low is not None and not low <= quota <= high:
            raise OptionError(
                "quota", "shares of provisioned v2 account %r are %d to %d GiB, got %d" % (facts["name"], low, high, quota)
            )
        return
    if facts["premium"] and tier != "Premium":
        raise OptionError("access_tier", "shares on Premium account %r always use the Premium tier, not %s" % (facts["name"], tier))
    if not facts["premium"] and tier == "Premium":
        raise OptionError(
            "access_tier", "the Premium tier needs a Premium FileStorage account; %r is %s" % (facts["name"], facts["sku"])
        )
    if quota > LARGE_QUOTA_GIB:
        raise OptionError("quota", "shares of %s account %r are at most %d GiB, got %d" % (facts["sku"], facts["name"], LARGE_QUOTA_GIB, quota))
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
        if facts.get("provisioned_v2") and params.get("quota") is None:
            raise OptionError(
                "quota",
                "a share of provisioned v2 account %r is billed by its provisioned size; set quota (GiB)" % facts["name"],
            )
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
    return {"properties": dict((arm, after[key]) for key, arm in PROPERTY_FIELDS if after.get(key) is not None)}


def update_body(before, after):
    changes = dict_changes(before, after)
    props = dict((arm, after[key]) for key, arm in PROPERTY_FIELDS if key in changes)
    return {"properties": props} if props else None


def shared_key_authorization(account, key, method, url, headers):
    """``Authorization`` header of a FileREST request signed with an account key (Shared Key, 2015-02-21+).

    The canonicalized resource is ``/<account><url path>``, so path-style endpoints (emulators,
    the ARM stand-in) sign the same way as ``https://<account>.file.core.windows.net/``.
    """
    parsed = urlparse(url)
    lower = dict((k.lower(), str(v).strip()) for k, v in headers.items())
    length = lower.get("content-length", "")
    standard = [
        method.upper(),
        lower.get("content-encoding", ""),
        lower.get("content-language", ""),
        "" if length == "0" else length,
        lower.get("content-md5", ""),
        lower.get("content-type", ""),
        lower.get("date", ""),
        lower.get("if-modified-since", ""),
        lower.get("if-match", ""),
        lower.get("if-none-match", ""),
        lower.get("if-unmodified-since", ""),
        lower.get("range", ""),
    ]
    ms_headers = "".join("%s:%s\n" % (k, lower[k]) for k in sorted(lower) if k.startswith("x-ms-"))
    query = {}
    for pair in parsed.query.split("&") if parsed.query else []:
        name, _sep, value = pair.partition("=")
        query.setdefault(unquote(name).lower(), []).append(unquote(value))
    resource = "/%s%s" % (account, unquote(parsed.path)) + "".join(
        "\n%s:%s" % (name, ",".join(sorted(values))) for name, values in sorted(query.items())
    )
    to_sign = "\n".join(standard) + "\n" + ms_headers + resource
    digest = hmac.new(base64.b64decode(key), to_bytes(to_sign, encoding="utf-8"), hashlib.sha256).digest()
    return "SharedKey %s:%s" % (account, to_native(base64.b64encode(digest)))


def list_share_root(file_endpoint, account, share, key, ca_bundle=None, timeout=30):
    """Names of (at most two) entries in the root of an SMB share, through the FileREST data plane.

    Raises ``ShareListingError`` with the data plane's error code when the listing is refused
    (account firewall, shared key access disabled, wrong key) or cannot reach the endpoint.
    """
    url = "%s/%s?restype=directory&comp=list&maxresults=2" % (file_endpoint.rstrip("/"), quote(share))
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": FILE_SERVICE_VERSION}
    headers["Authorization"] = shared_key_authorization(account, key, "GET", url, headers)
    try:
        response = open_url(url, method="GET", headers=headers, ca_path=ca_bundle, timeout=timeout, use_proxy=True)
        document = ET.fromstring(response.read())
    except HTTPError as exc:
        raise ShareListingError(exc.headers.get("x-ms-error-code") or "HTTP %s" % exc.code, to_native(exc.reason))
    except Exception as exc:  # DNS, TLS, connection, XML: all mean "could not list"
        raise ShareListingError(type(exc).__name__, to_native(exc))
    entries = document.find("Entries")
    return [to_native(e.findtext("Name")) for e in (entries if entries is not None else [])]


class ShareListingError(Exception):
    def __init__(self, code, message):
        super(ShareListingError, self).__init__("%s: %s" % (code, message))
        self.code = code


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

    def v2_quota_limits(self, account):
        """(min, max) GiB of a provisioned v2 account's shares from FileServices_GetServiceUsage, else None."""
        if not is_provisioned_v2((account.get("sku") or {}).get("name")):
            return None
        try:
            usage = self.azure.storage_client().file_services.get_service_usage(self.rg, self.account, cls=raw_json)
        except HttpResponseError as exc:
            self.fail_sdk(exc, "reading the file service usage (share limits) of storage account %r" % self.account)
        limits = ((usage or {}).get("properties") or {}).get("fileShareLimits") or {}
        if "minProvisionedStorageGiB" not in limits or "maxProvisionedStorageGiB" not in limits:
            return None
        return int(limits["minProvisionedStorageGiB"]), int(limits["maxProvisionedStorageGiB"])

    def not_provably_empty(self, before, usage, facts):
        """Why the share may hold data (None only when it is provably empty).

        ``shareUsageBytes`` is approximate and lags behind recent writes (file.json), so it can
        only prove that a share holds data. Emptiness is proven by listing the root of an SMB
        share through the data plane with the account key; an NFS share cannot be listed that
        way, so it is never deleted without ``force``.
        """
        if usage:
            return "holds %d bytes of data (shareUsageBytes)" % usage
        if before["protocol"] != "SMB":
            return "is an NFS share: its content cannot be listed through the FileREST API and its usage figure is approximate"
        if not facts.get("file_endpoint"):
            return "cannot be listed: the account has no file endpoint"
        client = self.azure.storage_client()
        try:
            keys = keys_result(client.storage_accounts.list_keys(self.rg, self.account, expand=None, cls=raw_json))
        except HttpResponseError as exc:
            return "cannot be listed: reading the account key was refused (%s)" % error_code(exc)
        for key in keys:
            self.azure.module.no_log_values.add(key["value"])
        if not keys:
            return "cannot be listed: the account returned no key"
        try:
            entries = list_share_root(facts["file_endpoint"], self.account, self.name, keys[0]["value"], self.params.get("ca_bundle"))
        except ShareListingError as exc:
            return "cannot be listed through the data plane (%s; an account firewall or disabled shared key access refuses it)" % exc
        if entries:
            return "holds %s in its root (listed through the data plane)" % (
                "1 file or directory" if len(entries) == 1 else "files or directories"
            )
        return None

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
        facts = account_facts(account, self.v2_quota_limits(account))
        current = self.get_share()
        before = share_view(current, facts, self.rg) if current else None
        usage = ((current or {}).get("properties") or {}).get("shareUsageBytes")

        if self.params["state"] == "absent":
            if before is None:
                self.finish(False, None, None, None)
            reason = None if self.params.get("force") else self.not_provably_empty(before, usage, facts)
            if reason:
                self.azure.fail(
                    "force: %s %s; refusing to delete it. Set force: true to delete the share and its data."
                    % (self.what(), reason)
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
