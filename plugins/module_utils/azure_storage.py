# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The azure_storage_account module's logic: normalized view, desired state, one comparison.

``account_view`` turns ARM's JSON into a flat, normalized dict; ``desired_view`` applies the
module options to it.  ``changed``, the diff and the PATCH body all come from comparing those
two dicts, so check mode predicts exactly what the real run does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_network_rules as rules
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import (
    OptionError,
    api_version_at_least,
    error_code,
    json_body,
    raw_json,
)
from ansible_collections.nats_streaming.ft.plugins.module_utils.common import dict_changes, make_diff

try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
except ImportError:  # reported by AzureModule
    HttpResponseError = ResourceNotFoundError = None

ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9]{3,24}$")
KINDS = ["FileStorage", "StorageV2"]
# SkuName of Microsoft.Storage common.json (2025-06-01). The V2 names are the Files provisioned v2
# billing model of FileStorage accounts: StandardV2 (HDD, SMB only) and PremiumV2 (SSD, SMB and NFS).
SKUS = [
    "Premium_LRS",
    "Premium_ZRS",
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "StandardV2_LRS",
    "StandardV2_GRS",
    "StandardV2_ZRS",
    "StandardV2_GZRS",
    "PremiumV2_LRS",
    "PremiumV2_ZRS",
]
# The first stable api-version whose schema has a feature (storage.json / common.json of each version).
FEATURE_API_VERSIONS = {
    "network_rules.ipv6_rules": "2025-01-01",
    "sku": "2024-01-01",  # StandardV2_* / PremiumV2_*
}
TLS_VERSIONS = ["TLS1_0", "TLS1_1", "TLS1_2"]
PUBLIC_NETWORK_ACCESS = ["Enabled", "Disabled", "SecuredByPerimeter"]
STORAGE_SERVICE = "Microsoft.Storage"
STORAGE_SERVICES = ("microsoft.storage", "microsoft.storage.global")

# view key -> name under ARM's "properties"
PROPERTY_FIELDS = (
    ("https_only", "supportsHttpsTrafficOnly"),
    ("minimum_tls_version", "minimumTlsVersion"),
    ("allow_blob_public_access", "allowBlobPublicAccess"),
    ("public_network_access", "publicNetworkAccess"),
)

# ARM error codes -> the option the user should look at.
ACCOUNT_ERROR_OPTIONS = {
    "ResourceGroupNotFound": "resource_group",
    "AccountNameInvalid": "name",
    "StorageAccountAlreadyTaken": "name",
    "StorageAccountInAnotherResourceGroup": "name",
    "InvalidResourceLocation": "location",
    "LocationRequired": "location",
    "NetworkAclsValidationFailure": "network_rules.virtual_network_subnet_ids",
    "InvalidValuesForRequestParameters": "network_rules",
    "SubscriptionNotFound": "subscription_id",
}

# ---------------------------------------------------------------- pure helpers


def normalize_location(location):
    """ARM's canonical location: lower case, no spaces ("West Europe" -> "westeurope")."""
    return re.sub(r"\s+", "", location or "").lower() or None


def validate_name(name, option="name"):
    if not ACCOUNT_NAME_RE.match(name or ""):
        raise OptionError(
            option,
            "%r is not a valid storage account name: use 3 to 24 characters, lower-case letters and digits only" % name,
        )


def default_sku(kind):
    return "Premium_LRS" if kind == "FileStorage" else "Standard_LRS"


def sku_tier(sku):
    """The tier ARM reports in ``sku.tier`` for a SKU name (Tier of common.json: Standard or Premium)."""
    return "Premium" if (sku or "").startswith("Premium") else "Standard"


def is_provisioned_v2(sku):
    """Files provisioned v2 (StandardV2_*/PremiumV2_*): shares are billed by provisioned size, IOPS and bandwidth."""
    return "V2_" in (sku or "")


def check_kind_and_sku(kind, sku, option="sku"):
    """Combinations ARM refuses: FileStorage takes Premium_* and the V2 SKUs, the V2 SKUs only FileStorage."""
    if kind == "FileStorage" and sku and not (sku.startswith("Premium_") or is_provisioned_v2(sku)):
        raise OptionError(
            option,
            "a FileStorage account needs Premium_LRS/Premium_ZRS or a provisioned v2 SKU (StandardV2_*, PremiumV2_*), "
            "not %s" % sku,
        )
    if kind and kind != "FileStorage" and is_provisioned_v2(sku):
        raise OptionError(option, "%s is a Files provisioned v2 SKU, for kind: FileStorage only (not %s)" % (sku, kind))


def check_api_version_features(params, spec):
    """Options whose ARM properties the pinned api_version does not have yet, named with the version they need."""
    version = params.get("api_version")
    used = {
        "network_rules.ipv6_rules": bool(spec and spec.get("ipv6_rules")),
        "sku": is_provisioned_v2(params.get("sku")),
    }
    for option, needed in sorted(FEATURE_API_VERSIONS.items()):
        if used[option] and version and not api_version_at_least(version, needed):
            raise OptionError(
                option,
                "needs Microsoft.Storage api-version %s or later; api_version is %s (the cloud's Resource Manager "
                "may not serve it: Azure Stack Hub serves 2019-06-01)" % (needed, version),
            )


def validate_params(params):
    """Check every option that can be checked without Azure; returns the normalized network_rules spec."""
    validate_name(params["name"])
    check_kind_and_sku(params.get("kind"), params.get("sku"))
    for key, value in (params.get("tags") or {}).items():
        if value is None or isinstance(value, (dict, list)):
            raise OptionError("tags", "the value of tag %r must be a string, not %r" % (key, value))
    spec = rules.normalize_spec(params.get("network_rules"))
    if spec is not None:
        spec["add_service_endpoints"] = bool(params["network_rules"].get("add_service_endpoints"))
        if spec["add_service_endpoints"] and not spec.get("virtual_network_subnet_ids"):
            raise OptionError(
                "network_rules.add_service_endpoints", "needs network_rules.virtual_network_subnet_ids to know which subnets"
            )
    check_api_version_features(params, spec)
    return spec


def account_view(account, resource_group):
    """Normalized view of ARM's storage account JSON (the thing diffs are made of)."""
    props = account.get("properties") or {}
    return {
        "name": account.get("name"),
        "resource_group": resource_group,
        "location": normalize_location(account.get("location")),
        "kind": account.get("kind"),
        "sku": (account.get("sku") or {}).get("name"),
        "https_only": bool(props.get("supportsHttpsTrafficOnly", True)),
        "minimum_tls_version": props.get("minimumTlsVersion") or "TLS1_0",
        "allow_blob_public_access": bool(props.get("allowBlobPublicAccess")),
        # An account created without the property answers null, which ARM treats as Enabled.
        "public_network_access": props.get("publicNetworkAccess") or "Enabled",
        "network_rules": rules.from_arm(props.get("networkAcls")),
        "tags": dict((k, to_native(v)) for k, v in (account.get("tags") or {}).items()),
    }


def sku_change_problem(old, new):
    """Why ARM cannot move an account from SKU ``old`` to ``new`` in place (None if it can)."""
    if old == new or not old or not new:
        return None
    old_tier, new_tier = sku_tier(old), sku_tier(new)
    if old_tier != new_tier:
        return "an account cannot change between Premium and Standard (%s -> %s); create a new account" % (old, new)
    if is_provisioned_v2(old) != is_provisioned_v2(new):
        return "an account cannot change between the provisioned v1 and v2 billing models (%s -> %s); create a new account" % (
            old,
            new,
        )
    if old_tier == "Premium":
        return "the redundancy of a Premium account cannot be changed in place (%s -> %s)" % (old, new)
    if ("ZRS" in old) != ("ZRS" in new):
        return "converting to or from zone-redundant storage needs a migration (%s -> %s)" % (old, new)
    return None


def desired_view(before, params, spec):
    """The view after applying the module options to ``before`` (None = account to be created).

    Raises OptionError for changes ARM cannot make in place.
    """
    if before is None:
        location = normalize_location(params.get("location"))
        if not location:
            raise OptionError("location", "is required to create storage account %r" % params["name"])
        kind = params.get("kind") or "FileStorage"
        after = {
            "name": params["name"],
            "resource_group": params["resource_group"],
            "location": location,
            "kind": kind,
            "sku": params.get("sku") or default_sku(kind),
            "https_only": True,
            "minimum_tls_version": "TLS1_2",
            "allow_blob_public_access": False,
            "public_network_access": "Enabled",
            "network_rules": copy.deepcopy(rules.ARM_DEFAULT_RULES),
            "tags": {},
        }
        check_kind_and_sku(after["kind"], after["sku"])
    else:
        after = copy.deepcopy(before)
        location = normalize_location(params.get("location"))
        if location and location != before["location"]:
            raise OptionError(
                "location",
                "storage account %r is in %s; an account cannot move to %s" % (before["name"], before["location"], location),
            )
        if params.get("kind") and params["kind"] != before["kind"]:
            raise OptionError(
                "kind",
                "storage account %r is %s; it cannot be changed to %s in place" % (before["name"], before["kind"], params["kind"]),
            )
        if params.get("sku"):
            problem = sku_change_problem(before["sku"], params["sku"])
            if problem:
                raise OptionError("sku", problem)
            after["sku"] = params["sku"]
    for key in ("https_only", "minimum_tls_version", "allow_blob_public_access", "public_network_access"):
        if params.get(key) is not None:
            after[key] = params[key]
    after["network_rules"] = rules.merge(before["network_rules"] if before else None, spec)
    if params.get("tags") is not None:
        wanted = dict((k, to_native(v)) for k, v in params["tags"].items())
        if params.get("purge_tags"):
            after["tags"] = wanted
        else:
            merged = dict(after["tags"])
            merged.update(wanted)
            after["tags"] = merged
    return after


def create_body(after, id_casing=None):
    """ARM PUT body that creates the account exactly as ``after`` says."""
    props = dict((arm, after[key]) for key, arm in PROPERTY_FIELDS)
    props["networkAcls"] = rules.to_arm(after["network_rules"], id_casing)
    if not props["networkAcls"].get("ipv6Rules"):
        props["networkAcls"].pop("ipv6Rules", None)
    return {
        "location": after["location"],
        "kind": after["kind"],
        "sku": {"name": after["sku"]},
        "tags": after["tags"],
        "properties": props,
    }


def update_body(before, after, id_casing=None, current_acls=None):
    """ARM PATCH body holding only what differs between the two views (None if nothing does).

    ARM replaces ``networkAcls`` whole, so when the rules change the body carries every list of
    ``current_acls`` (what ARM holds now) that the module does not manage.
    """
    changes = dict_changes(before, after)
    body, props = {}, {}
    if "sku" in changes:
        body["sku"] = {"name": after["sku"]}
    if "tags" in changes:
        body["tags"] = after["tags"]
    for key, arm in PROPERTY_FIELDS:
        if key in changes:
            props[arm] = after[key]
    if "network_rules" in changes:
        props["networkAcls"] = rules.to_arm(after["network_rules"], id_casing, current_acls)
    if props:
        body["properties"] = props
    return body or None


def check_keys_are_hidden(params, task_no_log):
    """Keys are only returned to a task whose output Ansible censors (``no_log: true``).

    A module cannot censor its own result (ansible-core strips ``_ansible_no_log`` from module
    returns), and masking the values with ``no_log_values`` would mask them in the registered
    variable too.  So the module insists on the task keyword and refuses before any call.
    """
    if params.get("return_keys") and params.get("state") != "absent" and not task_no_log:
        raise OptionError(
            "return_keys",
            "set 'no_log: true' on this task; the account keys would otherwise appear in the task output and logs",
        )


def has_storage_endpoint(services):
    return any(s.lower() in STORAGE_SERVICES for s in services)


def subnet_services(subnet):
    """Sorted service names of a subnet's serviceEndpoints (ARM JSON)."""
    endpoints = (subnet.get("properties") or {}).get("serviceEndpoints") or []
    return sorted(e.get("service") for e in endpoints if e.get("service"))


def subnet_with_storage_endpoint(subnet):
    """A copy of the subnet JSON with the Microsoft.Storage service endpoint added."""
    body = copy.deepcopy(subnet)
    props = body.setdefault("properties", {})
    endpoints = props.get("serviceEndpoints") or []
    endpoints.append({"service": STORAGE_SERVICE})
    props["serviceEndpoints"] = endpoints
    return body


def keys_result(keys_json):
    """The two access keys; Kerberos keys (``kerb1``/``kerb2``, listed with ``$expand=kerb``) never leave."""
    return [
        dict(key_name=k.get("keyName"), value=k.get("value"), permissions=k.get("permissions"))
        for k in (keys_json or {}).get("keys") or []
        if str(k.get("keyName", "")).lower().startswith("key")
    ]


# ---------------------------------------------------------------- the run


def read_account(azure, resource_group, name, error_options):
    """The storage account as Resource Manager returns it, or None when it does not exist.

    A missing resource group or subscription is not "absent": it fails naming the option.
    """
    client = azure.storage_client()
    try:
        return client.storage_accounts.get_properties(resource_group, name, cls=raw_json)
    except ResourceNotFoundError as exc:
        if error_code(exc) == "ResourceGroupNotFound":
            azure.fail(
                "resource_group: resource group %r was not found in subscription %s (ResourceGroupNotFound)"
                % (resource_group, azure.subscription_id)
            )
        if error_code(exc) == "SubscriptionNotFound":
            azure.fail_from_exception(exc, "reading storage account %r in resource group %r" % (name, resource_group), error_options)
        return None
    except HttpResponseError as exc:
        azure.fail_from_exception(exc, "reading storage account %r in resource group %r" % (name, resource_group), error_options)


class StorageAccountRunner(object):
    def __init__(self, azure):
        self.azure = azure
        self.params = azure.params
        self.rg = self.params["resource_group"]
        self.name = self.params["name"]

    def what(self):
        return "storage account %r in resource group %r" % (self.name, self.rg)

    def fail_sdk(self, exc, doing):
        self.azure.fail_from_exception(exc, doing, ACCOUNT_ERROR_OPTIONS)

    # -- reads
    def get_account(self):
        return read_account(self.azure, self.rg, self.name, ACCOUNT_ERROR_OPTIONS)

    def check_name(self):
        client = self.azure.storage_client()
        try:
            result = client.storage_accounts.check_name_availability(
                json_body({"name": self.name, "type": "Microsoft.Storage/storageAccounts"}), cls=raw_json
            )
        except HttpResponseError as exc:
            self.fail_sdk(exc, "checking the name of " + self.what())
        if not result.get("nameAvailable", False):
            self.azure.fail(
                "name: storage account name %r cannot be used (%s): %s"
                % (self.name, result.get("reason"), result.get("message") or "name not available")
            )

    def read_subnets(self, subnet_ids):
        """{lower subnet id: subnet JSON} for the subnets whose endpoints the module manages."""
        found = {}
        for sid in subnet_ids:
            sub, rg, vnet, subnet = rules.parse_subnet_id(sid)
            client = self.azure.network_client(sub)
            try:
                found[sid.lower()] = client.subnets.get(rg, vnet, subnet, cls=raw_json)
            except ResourceNotFoundError as exc:
                self.azure.fail(
                    "network_rules.virtual_network_subnet_ids: subnet %s was not found (%s)" % (sid, error_code(exc))
                )
            except HttpResponseError as exc:
                self.fail_sdk(exc, "reading subnet %s" % sid)
        return found

    # -- writes
    def put_subnet(self, sid, subnet_json):
        sub, rg, vnet, subnet = rules.parse_subnet_id(sid)
        client = self.azure.network_client(sub)
        try:
            poller = client.subnets.begin_create_or_update(
                rg, vnet, subnet, json_body(subnet_with_storage_endpoint(subnet_json)), cls=raw_json
            )
            return poller.result()
        except HttpResponseError as exc:
            self.fail_sdk(exc, "adding the Microsoft.Storage service endpoint to subnet %s" % sid)

    def create(self, body):
        client = self.azure.storage_client()
        try:
            return client.storage_accounts.begin_create(self.rg, self.name, json_body(body), cls=raw_json).result()
        except HttpResponseError as exc:
            self.fail_sdk(exc, "creating " + self.what())

    def update(self, body):
        client = self.azure.storage_client()
        try:
            return client.storage_accounts.update(self.rg, self.name, json_body(body), cls=raw_json)
        except HttpResponseError as exc:
            self.fail_sdk(exc, "updating " + self.what())

    def delete(self):
        client = self.azure.storage_client()
        try:
            client.storage_accounts.delete(self.rg, self.name)
        except HttpResponseError as exc:
            self.fail_sdk(exc, "deleting " + self.what())

    def list_keys(self):
        client = self.azure.storage_client()
        try:
            return keys_result(client.storage_accounts.list_keys(self.rg, self.name, expand=None, cls=raw_json))
        except HttpResponseError as exc:
            self.fail_sdk(exc, "listing the keys of " + self.what())

    # -- orchestration
    def result_account(self, view, account_json):
        out = copy.deepcopy(view) if view else {}
        if view:
            out["id"] = (account_json or {}).get("id") or (
                "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s"
                % (self.azure.subscription_id, self.rg, self.name)
            )
            props = (account_json or {}).get("properties") or {}
            out["primary_endpoints"] = props.get("primaryEndpoints") or {}
            out["provisioning_state"] = props.get("provisioningState")
        return out

    def finish(self, changed, before, after, account_json, extra=None):
        result = dict(changed=changed, storage_account=self.result_account(after, account_json))
        if self.azure.diff_mode:
            result["diff"] = make_diff(before, after)
        result.update(extra or {})
        self.azure.exit(**result)

    def run(self):
        try:
            spec = validate_params(self.params)
            check_keys_are_hidden(self.params, self.azure.module.no_log)
        except (OptionError, rules.NetworkRuleError) as exc:
            self.azure.fail(to_native(exc))
        current = self.get_account()
        before = account_view(current, self.rg) if current else None

        if self.params["state"] == "absent":
            if before is None:
                self.finish(False, None, None, None)
            if not self.azure.check_mode:
                self.delete()
            self.finish(True, before, None, None)

        if before is None:
            self.check_name()
        try:
            after = desired_view(before, self.params, spec)
        except (OptionError, rules.NetworkRuleError) as exc:
            self.azure.fail(to_native(exc))

        casing = rules.subnet_id_casing((current or {}).get("properties", {}).get("networkAcls"), self.params.get("network_rules"))
        full_before = copy.deepcopy(before) if before else {}
        full_after = copy.deepcopy(after)
        subnets = {}
        if spec and spec.get("add_service_endpoints"):
            subnets = self.read_subnets(spec["virtual_network_subnet_ids"])
            full_before["subnet_service_endpoints"] = dict((sid, subnet_services(s)) for sid, s in subnets.items())
            full_after["subnet_service_endpoints"] = dict(
                (sid, services if has_storage_endpoint(services) else sorted(services + [STORAGE_SERVICE]))
                for sid, services in full_before["subnet_service_endpoints"].items()
            )
        changed = full_before != full_after
        account_json = current
        if changed and not self.azure.check_mode:
            account_json, full_after = self.apply(before, after, current, subnets, full_before, full_after, casing)
        extra = {}
        if self.params.get("return_keys"):
            # run() refused return_keys unless the task is no_log: the keys reach the registered
            # variable and every callback and log shows the result censored.
            extra["account_keys"] = [] if (self.azure.check_mode and before is None) else self.list_keys()
        self.finish(changed, full_before or None, full_after, account_json, extra)

    def apply(self, before, after, current, subnets, full_before, full_after, casing):
        """Make the changes; returns ARM's account JSON and the view of what ARM now holds."""
        real_after = copy.deepcopy(full_after)
        for sid, services in sorted(full_before.get("subnet_service_endpoints", {}).items()):
            if full_after["subnet_service_endpoints"][sid] != services:
                updated = self.put_subnet(sid, subnets[sid])
                real_after["subnet_service_endpoints"][sid] = subnet_services(updated or {})
        account_json = current
        if before is None:
            account_json = self.create(create_body(after, casing))
        else:
            body = update_body(before, after, casing, ((current or {}).get("properties") or {}).get("networkAcls"))
            if body:
                account_json = self.update(body)
        if account_json is not None:
            real_after.update(account_view(account_json, self.rg))
        if real_after != full_after:
            self.azure.warn(
                "Azure stored a different state than requested for %s; requested %r, stored %r"
                % (self.what(), dict_changes(real_after, full_after), dict_changes(full_after, real_after))
            )
        return account_json, real_after


def run(azure):
    """Entry point of the azure_storage_account module (``azure`` is an AzureModule)."""
    StorageAccountRunner(azure).run()
