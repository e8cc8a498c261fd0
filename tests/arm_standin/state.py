"""The stand-in's state and ARM behaviour, independent of HTTP.

Every public ``ArmState`` method takes already-parsed request parts and returns a ``Reply``
or raises ``ArmError``; ``server.py`` turns both into HTTP.  Names are compared the way ARM
compares them: resource group, account, share, virtual network and subnet names without case;
storage account names are global across subscriptions.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.sax.saxutils import escape

ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9]{3,24}$")
SHARE_NAME_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
SUBNET_ID_RE = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Network/virtualNetworks/([^/]+)/subnets/([^/]+)$",
    re.IGNORECASE,
)
KINDS = {"storage": "Storage", "storagev2": "StorageV2", "filestorage": "FileStorage",
         "blobstorage": "BlobStorage", "blockblobstorage": "BlockBlobStorage"}
# SkuName and Tier of common.json (2025-06-01): the V2 names are the Files provisioned v2 billing model,
# FileStorage accounts only (StandardV2 = HDD, SMB only; PremiumV2 = SSD, SMB and NFS).
SKUS = {s.lower(): s for s in ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS",
                               "Standard_RAGZRS", "Premium_LRS", "Premium_ZRS", "StandardV2_LRS", "StandardV2_GRS",
                               "StandardV2_ZRS", "StandardV2_GZRS", "PremiumV2_LRS", "PremiumV2_ZRS")}
# The stable Microsoft.Storage api-versions public Azure lists as supported (previews left out). A stand-in
# configured with "api_versions" serves only those, like Azure Stack Hub (2020-09-01-hybrid: 2019-06-01).
STORAGE_API_VERSIONS = (
    "2015-06-15", "2016-01-01", "2016-05-01", "2016-12-01", "2017-06-01", "2017-10-01", "2018-02-01", "2018-07-01",
    "2018-11-01", "2019-04-01", "2019-06-01", "2021-01-01", "2021-02-01", "2021-04-01", "2021-06-01", "2021-08-01",
    "2021-09-01", "2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01",
    "2025-06-01",
)
# First stable api-version whose schema has the property (older versions neither return nor take it).
SINCE = {"resourceAccessRules": "2021-01-01", "ipv6Rules": "2025-01-01", "v2": "2024-01-01"}
# Files provisioned v2 share limits as FileServices_GetServiceUsage reports them (example of 2025-06-01).
V2_SHARE_LIMITS = {"minProvisionedStorageGiB": 32, "maxProvisionedStorageGiB": 262144,
                   "minProvisionedIOPS": 3000, "maxProvisionedIOPS": 102400,
                   "minProvisionedBandwidthMiBPerSec": 125, "maxProvisionedBandwidthMiBPerSec": 10340}
BYPASS = {b.lower(): b for b in ("AzureServices", "Logging", "Metrics", "None")}
SHARE_TIERS = {"transactionoptimized": "TransactionOptimized", "hot": "Hot", "cool": "Cool", "premium": "Premium"}
ROOT_SQUASH = {"norootsquash": "NoRootSquash", "rootsquash": "RootSquash", "allsquash": "AllSquash"}
NOT_FOUND_HINT = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


class ArmError(Exception):
    """An ARM error reply: ``{"error": {"code": ..., "message": ...}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, target: str | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.target = target

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


@dataclass
class Reply:
    status: int
    body: dict | list | None = None
    headers: dict = field(default_factory=dict)


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def norm_location(value: str | None) -> str:
    return re.sub(r"\s+", "", value or "").lower()


def storage_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


def shared_key_signature(account: str, key: str, method: str, headers: dict, path: str, query: dict) -> str:
    """Shared Key signature of a FileREST request (string-to-sign of service version 2015-02-21 and later)."""
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    length = lower.get("content-length", "")
    standard = [method.upper(), lower.get("content-encoding", ""), lower.get("content-language", ""),
                "" if length == "0" else length, lower.get("content-md5", ""), lower.get("content-type", ""),
                lower.get("date", ""), lower.get("if-modified-since", ""), lower.get("if-match", ""),
                lower.get("if-none-match", ""), lower.get("if-unmodified-since", ""), lower.get("range", "")]
    ms_headers = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-ms-"))
    resource = f"/{account}{unquote(path)}" + "".join(
        f"\n{k.lower()}:{query[k]}" for k in sorted(query, key=str.lower))
    to_sign = "\n".join(standard) + "\n" + ms_headers + resource
    digest = hmac.new(base64.b64decode(key), to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_shared_key(account: str, keys: list[str], method: str, headers: dict, path: str, query: dict) -> bool:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _sep, credential = auth.partition(" ")
    name, _sep, signature = credential.partition(":")
    if scheme != "SharedKey" or name != account:
        return False
    return any(hmac.compare_digest(signature, shared_key_signature(account, key, method, headers, path, query))
               for key in keys)


class ArmState:
    """Subscriptions, resource groups, storage accounts, shares, subnets, tokens and operations."""

    def __init__(self, config: dict, base_url: str):
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.lock = threading.RLock()
        self.tenant_id = config["tenant_id"]
        self.client_id = config["client_id"]
        self.client_secret = config["client_secret"]
        self.audience = config.get("audience") or f"{self.base_url}/"
        self.lro_polls = int(config.get("lro_polls", 2))
        self.retry_after = int(config.get("retry_after", 1))
        self.token_lifetime = int(config.get("token_lifetime", 3600))
        # provider -> api-versions served; a provider that is not listed accepts any api-version.
        self.api_versions = config.get("api_versions") or {"Microsoft.Storage": list(STORAGE_API_VERSIONS)}
        self.tokens: dict[str, dict] = {}
        self.issued_keys: list[str] = []
        self.reset()

    # ------------------------------------------------------------------ admin (test-only)
    def reset(self) -> None:
        with self.lock:
            self.subscriptions = {self.config["subscription_id"].lower(): self.config["subscription_id"]}
            self.resource_groups: dict[tuple[str, str], dict] = {}
            self.accounts: dict[str, dict] = {}
            self.taken_names: set[str] = set()
            self.vnets: dict[tuple[str, str, str], dict] = {}
            self.operations: dict[str, dict] = {}
            self.requests: list[dict] = []
            for rg in self.config.get("resource_groups", []):
                self.add_resource_group(rg["name"], rg.get("location", "eastus"))
            for vnet in self.config.get("virtual_networks", []):
                self.add_virtual_network(vnet)

    def add_resource_group(self, name: str, location: str = "eastus", subscription_id: str | None = None) -> dict:
        sub = subscription_id or self.config["subscription_id"]
        self.subscriptions.setdefault(sub.lower(), sub)
        record = {"name": name, "location": norm_location(location), "subscription": sub}
        self.resource_groups[(sub.lower(), name.lower())] = record
        return record

    def add_virtual_network(self, spec: dict) -> dict:
        sub = spec.get("subscription_id") or self.config["subscription_id"]
        rg = self.resource_group(sub, spec["resource_group"])
        record = {
            "name": spec["name"],
            "rg": rg["name"],
            "subscription": sub,
            "location": norm_location(spec.get("location") or rg["location"]),
            "subnets": {},
        }
        for subnet in spec.get("subnets", []):
            record["subnets"][subnet["name"].lower()] = {
                "name": subnet["name"],
                "addressPrefix": subnet.get("address_prefix", "10.0.0.0/24"),
                "serviceEndpoints": [
                    self._endpoint({"service": s}, record["location"]) for s in subnet.get("service_endpoints", [])
                ],
                "provisioningState": "Succeeded",
                "etag": str(uuid.uuid4()),
            }
        self.vnets[(sub.lower(), rg["name"].lower(), spec["name"].lower())] = record
        return {"id": self._vnet_id(record), "subnets": [self._subnet_id(record, s) for s in record["subnets"].values()]}

    def set_share_usage(self, resource_group: str, account: str, share: str, usage: int) -> None:
        record = self.accounts.get(account.lower())
        if not record or record["rg"].lower() != resource_group.lower() or share.lower() not in record["shares"]:
            raise ArmError(404, "ShareNotFound", f"share {account}/{share} does not exist in the stand-in")
        record["shares"][share.lower()]["usage"] = int(usage)

    def set_share_files(self, resource_group: str, account: str, share: str, files: list[str]) -> None:
        """Files in the root of a share as the data plane lists them (independent of the usage figure)."""
        record = self.accounts.get(account.lower())
        if not record or record["rg"].lower() != resource_group.lower() or share.lower() not in record["shares"]:
            raise ArmError(404, "ShareNotFound", f"share {account}/{share} does not exist in the stand-in")
        record["shares"][share.lower()]["files"] = [str(f) for f in files]

    def take_name(self, name: str) -> None:
        """Pretend another tenant owns this storage account name."""
        self.taken_names.add(name.lower())

    # ------------------------------------------------------------------ Entra ID (AAD) stand-in
    def openid_configuration(self, tenant: str) -> Reply:
        root = f"{self.base_url}/{tenant}"
        return Reply(200, {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "issuer": f"{root}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": None,
        })

    def _aad_error(self, status: int, error: str, code: str, text: str) -> Reply:
        return Reply(status, {
            "error": error,
            "error_description": f"{code}: {text}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\n"
                                 f"Timestamp: {now_iso()}",
            "error_codes": [int(code[len("AADSTS"):])],
            "timestamp": now_iso(),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        })

    def issue_token(self, tenant: str, form: dict) -> Reply:
        if tenant.lower() != self.tenant_id.lower():
            return self._aad_error(400, "invalid_request", "AADSTS90002", f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(400, "unsupported_grant_type", "AADSTS70003",
                                   "The app requested an unsupported grant type (the stand-in knows client_credentials).")
        if form.get("client_id") != self.client_id:
            return self._aad_error(400, "unauthorized_client", "AADSTS700016",
                                   f"Application with identifier '{form.get('client_id')}' was not found in the "
                                   f"directory '{tenant}'.")
        if form.get("client_secret") != self.client_secret:
            return self._aad_error(401, "invalid_client", "AADSTS7000215",
                                   "Invalid client secret provided. Ensure the secret being sent in the request is "
                                   "the client secret value, not the client secret ID.")
        scope = form.get("scope", "")
        token = "standin." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {"expires": time.time() + self.token_lifetime, "scope": scope}
        return Reply(200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                           "ext_expires_in": self.token_lifetime, "access_token": token})

    def metadata_endpoints(self) -> Reply:
        """Azure Stack Hub's ``/metadata/endpoints`` document (api-version 2015-01-01 shape)."""
        return Reply(200, {
            "galleryEndpoint": f"{self.base_url}/gallery/",
            "graphEndpoint": f"{self.base_url}/graph/",
            "portalEndpoint": f"{self.base_url}/portal/",
            "authentication": {"loginEndpoint": f"{self.base_url}/", "audiences": [self.audience]},
        })

    def authenticate(self, authorization: str | None) -> None:
        challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{self.base_url}/", error="invalid_token", '
                                         f'error_description="The authentication failed."'}
        if not authorization:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           challenge)
        scheme, _sep, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.", challenge)
        record = self.tokens.get(token)
        if record is None:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge)
        if record["expires"] < time.time():
            raise ArmError(401, "ExpiredAuthenticationToken",
                           "The access token expiry UTC time is earlier than current UTC time.", challenge)
        wanted = self.audience.rstrip("/")
        scope = record["scope"].split()[0] if record["scope"] else ""
        if scope.rsplit("/.default", 1)[0].rstrip("/") != wanted:
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{scope}'. It should "
                           f"exactly match with one of the allowed audiences '{self.audience}'.", challenge)

    # ------------------------------------------------------------------ api-versions
    def location_of(self, sub: str, rg: str | None, account: str | None) -> str:
        record = self.accounts.get((account or "").lower())
        if record is not None:
            return record["json"]["location"]
        group = self.resource_groups.get(((sub or "").lower(), (rg or "").lower()))
        return group["location"] if group else "global"

    def check_api_version(self, provider: str, api_version: str, location: str, resource_type: str) -> None:
        """ARM's answer to an api-version the resource provider does not serve."""
        served = self.api_versions.get(provider)
        if served is None or api_version in served:
            return
        locations = sorted({g["location"] for g in self.resource_groups.values()} | {location} - {"global"})
        raise ArmError(400, "NoRegisteredProviderFound",
                       f"No registered resource provider found for location '{location}' and API version "
                       f"'{api_version}' for type '{resource_type}'. The supported api-versions are "
                       f"'{', '.join(sorted(served, reverse=True))}'. The supported locations are "
                       f"'{', '.join(locations)}'.")

    @staticmethod
    def render(reply: Reply, api_version: str) -> Reply:
        """The response as the schema of ``api_version`` has it (properties it does not know are left out)."""
        body = reply.body
        if isinstance(body, dict) and body.get("type") == "Microsoft.Storage/storageAccounts":
            acls = (body.get("properties") or {}).get("networkAcls") or {}
            for key in ("resourceAccessRules", "ipv6Rules"):
                if api_version < SINCE[key]:
                    acls.pop(key, None)
        return reply

    # ------------------------------------------------------------------ lookups
    def subscription(self, sub: str) -> str:
        if sub.lower() not in self.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return self.subscriptions[sub.lower()]

    def resource_group(self, sub: str, rg: str) -> dict:
        self.subscription(sub)
        record = self.resource_groups.get((sub.lower(), rg.lower()))
        if record is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return record

    def _account(self, sub: str, rg: str, name: str, verb: str = "read") -> dict:
        group = self.resource_group(sub, rg)
        record = self.accounts.get(name.lower())
        if record is None or record["subscription"].lower() != sub.lower() or record["rg"].lower() != rg.lower():
            raise ArmError(404, "ResourceNotFound",
                           f"The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group "
                           f"'{group['name']}' was not found. {NOT_FOUND_HINT}")
        return record

    def _account_id(self, record: dict) -> str:
        return (f"/subscriptions/{record['subscription']}/resourceGroups/{record['rg']}"
                f"/providers/Microsoft.Storage/storageAccounts/{record['json']['name']}")

    # ------------------------------------------------------------------ LRO plumbing
    def _new_operation(self, kind: str, **data) -> str:
        op_id = str(uuid.uuid4())
        self.operations[op_id] = {"kind": kind, "remaining": self.lro_polls, **data}
        return op_id

    def _retry_after(self) -> dict:
        return {"Retry-After": str(self.retry_after)}

    # ------------------------------------------------------------------ storage accounts
    def check_name_availability(self, sub: str, body: dict) -> Reply:
        self.subscription(sub)
        name = (body or {}).get("name") or ""
        if (body or {}).get("type", "").lower() != "microsoft.storage/storageaccounts":
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid: type must be 'Microsoft.Storage/storageAccounts'.")
        if not ACCOUNT_NAME_RE.match(name):
            return Reply(200, {"nameAvailable": False, "reason": "AccountNameInvalid",
                               "message": f"{name} is not a valid storage account name. Storage account name must be "
                                          "between 3 and 24 characters in length and use numbers and lower-case "
                                          "letters only."})
        if name.lower() in self.accounts or name.lower() in self.taken_names:
            return Reply(200, {"nameAvailable": False, "reason": "AlreadyExists",
                               "message": f"The storage account named {name} is already taken."})
        return Reply(200, {"nameAvailable": True})

    def get_account(self, sub: str, rg: str, name: str) -> Reply:
        return Reply(200, copy.deepcopy(self._account(sub, rg, name)["json"]))

    def _validate_network_acls(self, sub: str, acls: dict) -> dict:
        out = {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow",
               "resourceAccessRules": [], "ipv6Rules": []}
        if not acls:
            return out
        action = str(acls.get("defaultAction", "")).lower()
        if action not in ("allow", "deny"):
            raise ArmError(400, "InvalidValuesForRequestParameters",
                           "Values for request parameters are invalid: networkAcls.defaultAction.")
        out["defaultAction"] = "Allow" if action == "allow" else "Deny"
        bypass = [b.strip() for b in str(acls.get("bypass", "AzureServices")).split(",") if b.strip()]
        if any(b.lower() not in BYPASS for b in bypass):
            raise ArmError(400, "InvalidValuesForRequestParameters",
                           "Values for request parameters are invalid: networkAcls.bypass.")
        out["bypass"] = ", ".join(BYPASS[b.lower()] for b in bypass) or "None"
        for key, version in (("ipRules", 4), ("ipv6Rules", 6)):
            for rule in acls.get(key) or []:
                value = str(rule.get("value", ""))
                try:
                    net = ipaddress.ip_network(value, strict=True)
                except ValueError:
                    net = None
                if (net is None or net.version != version
                        or ("/" in value and net.prefixlen >= 31 and net.version == 4)):
                    raise ArmError(400, "InvalidValuesForRequestParameters",
                                   f"Values for request parameters are invalid: networkAcls.{key}[*].value. "
                                   "For more information, see - https://aka.ms/storagenetworkruleset")
                out[key].append({"value": value, "action": "Allow"})
        for rule in acls.get("resourceAccessRules") or []:
            if not (isinstance(rule, dict) and isinstance(rule.get("tenantId"), str)
                    and str(rule.get("resourceId", "")).lower().startswith("/subscriptions/")):
                raise ArmError(400, "InvalidValuesForRequestParameters",
                               "Values for request parameters are invalid: networkAcls.resourceAccessRules.")
            out["resourceAccessRules"].append({"tenantId": rule["tenantId"], "resourceId": rule["resourceId"]})
        missing, no_endpoint = [], {}
        for rule in acls.get("virtualNetworkRules") or []:
            rid = str(rule.get("id", ""))
            match = SUBNET_ID_RE.match(rid)
            if not match:
                raise ArmError(400, "InvalidValuesForRequestParameters",
                               "Values for request parameters are invalid: networkAcls.virtualNetworkRules[*].id. "
                               "For more information, see - https://aka.ms/storagenetworkruleset")
            vsub, vrg, vnet_name, subnet_name = match.groups()
            vnet = self.vnets.get((vsub.lower(), vrg.lower(), vnet_name.lower()))
            subnet = vnet["subnets"].get(subnet_name.lower()) if vnet else None
            if subnet is None:
                missing.append(rid)
            elif not any(e["service"].lower() in ("microsoft.storage", "microsoft.storage.global")
                         for e in subnet["serviceEndpoints"]):
                no_endpoint.setdefault(self._vnet_id(vnet), []).append(subnet["name"])
            out["virtualNetworkRules"].append({"id": rid, "action": "Allow", "state": "Succeeded"})
        if missing:
            raise ArmError(400, "NetworkAclsValidationFailure",
                           f"Validation of network acls failure: SubnetsNotFound:Subnets {', '.join(missing)} "
                           "could not be found.")
        if no_endpoint:
            vnet_id, names = next(iter(no_endpoint.items()))
            raise ArmError(400, "NetworkAclsValidationFailure",
                           f"Validation of network acls failure: SubnetsHaveNoServiceEndpointsConfigured:Subnets "
                           f"{','.join(names)} of virtual network {vnet_id} do not have ServiceEndpoints for "
                           "Microsoft.Storage resources configured. Add Microsoft.Storage to subnet's "
                           "ServiceEndpoints collection before trying to ACL Microsoft.Storage resources to these "
                           "subnets..")
        return out

    def _apply_properties(self, sub: str, props: dict, given: dict, api_version: str = "9999-12-31") -> None:
        for key in ("supportsHttpsTrafficOnly", "allowBlobPublicAccess", "allowSharedKeyAccess"):
            if key in given:
                if not isinstance(given[key], bool):
                    raise ArmError(400, "InvalidRequestPropertyValue",
                                   f"The value '{given[key]}' is not allowed for property {key}.")
                props[key] = given[key]
        if "minimumTlsVersion" in given:
            if given["minimumTlsVersion"] not in ("TLS1_0", "TLS1_1", "TLS1_2"):
                raise ArmError(400, "InvalidRequestPropertyValue",
                               f"The value '{given['minimumTlsVersion']}' is not allowed for property minimumTlsVersion.")
            props["minimumTlsVersion"] = given["minimumTlsVersion"]
        if "publicNetworkAccess" in given:
            if given["publicNetworkAccess"] not in ("Enabled", "Disabled", "SecuredByPerimeter"):
                raise ArmError(400, "InvalidRequestPropertyValue",
                               f"The value '{given['publicNetworkAccess']}' is not allowed for property "
                               "publicNetworkAccess.")
            props["publicNetworkAccess"] = given["publicNetworkAccess"]
        if "largeFileSharesState" in given:
            props["largeFileSharesState"] = given["largeFileSharesState"]
        if "networkAcls" in given:
            # networkAcls is replaced whole; lists the request's api-version does not know are kept as they are.
            acls = dict(given["networkAcls"] or {})
            stored = props.get("networkAcls") or {}
            unknown = [key for key in ("resourceAccessRules", "ipv6Rules") if api_version < SINCE[key]]
            for key in unknown:
                acls.pop(key, None)
            validated = self._validate_network_acls(sub, acls)
            for key in unknown:
                validated[key] = copy.deepcopy(stored.get(key) or [])
            props["networkAcls"] = validated

    def _sku(self, body: dict, kind: str, api_version: str = "9999-12-31") -> dict:
        name = str((body.get("sku") or {}).get("name") or "")
        v2 = "v2_" in name.lower()
        if name.lower() not in SKUS or (v2 and api_version < SINCE["v2"]):
            raise ArmError(400, "InvalidRequestPropertyValue", f"The value '{name}' is not allowed for property sku.name.")
        name = SKUS[name.lower()]
        allowed = {"FileStorage": ("Premium_", "PremiumV2_", "StandardV2_"), "BlockBlobStorage": ("Premium_",)}
        if (kind in allowed and not name.startswith(allowed[kind])) or (v2 and kind != "FileStorage"):
            raise ArmError(400, "InvalidRequestPropertyValue",
                           f"The value '{name}' is not allowed for property sku.name with kind {kind}.")
        return {"name": name, "tier": "Premium" if name.startswith("Premium") else "Standard"}

    def put_account(self, sub: str, rg: str, name: str, body: dict, api_version: str) -> Reply:
        group = self.resource_group(sub, rg)
        if not ACCOUNT_NAME_RE.match(name):
            raise ArmError(400, "AccountNameInvalid",
                           f"{name} is not a valid storage account name. Storage account name must be between 3 and "
                           "24 characters in length and use numbers and lower-case letters only.", target=name)
        existing = self.accounts.get(name.lower())
        if name.lower() in self.taken_names or (existing and existing["subscription"].lower() != sub.lower()):
            raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already taken.",
                           target=name)
        if existing and existing["rg"].lower() != rg.lower():
            raise ArmError(409, "StorageAccountInAnotherResourceGroup",
                           f"The account {name} is already in another resource group in this subscription.", target=name)
        location = norm_location(body.get("location"))
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        kind = KINDS.get(str(body.get("kind") or "").lower())
        if kind is None:
            raise ArmError(400, "InvalidRequestPropertyValue",
                           f"The value '{body.get('kind')}' is not allowed for property kind.")
        sku = self._sku(body, kind, api_version)
        given = body.get("properties") or {}
        if existing:
            # ARM: a PUT on an existing account updates it, synchronously.
            current = existing["json"]
            if location != current["location"]:
                raise ArmError(409, "InvalidResourceLocation",
                               f"The resource '{name}' already exists in location '{current['location']}' in resource "
                               f"group '{group['name']}'. A resource with the same name cannot be created in location "
                               f"'{location}'. Please select a new resource name.")
            if kind != current["kind"]:
                raise ArmError(409, "InvalidRequestPropertyValue",
                               f"The kind of account {name} cannot be changed from {current['kind']} to {kind}.")
            self._apply_properties(sub, current["properties"], given, api_version)
            current["sku"] = sku
            if "tags" in body:
                current["tags"] = dict(body.get("tags") or {})
            return Reply(200, copy.deepcopy(current))
        props = {
            "provisioningState": "Creating",
            "creationTime": now_iso(),
            "primaryLocation": location,
            "statusOfPrimary": "available",
            "supportsHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_0",
            "allowBlobPublicAccess": False,
            "networkAcls": self._validate_network_acls(sub, None),
            "encryption": {"keySource": "Microsoft.Storage",
                           "services": {"file": {"enabled": True, "keyType": "Account"},
                                        "blob": {"enabled": True, "keyType": "Account"}}},
            # The data plane of the stand-in (path style, like the storage emulators), not *.file.core.windows.net.
            "primaryEndpoints": {"file": f"{self.base_url}/file/{name}/"},
        }
        if kind != "FileStorage":
            props["accessTier"] = "Hot"
            props["primaryEndpoints"].update({
                "blob": f"https://{name}.blob.core.windows.net/",
                "queue": f"https://{name}.queue.core.windows.net/",
                "table": f"https://{name}.table.core.windows.net/",
            })
        self._apply_properties(sub, props, given, api_version)
        record = {"subscription": self.subscription(sub), "rg": group["name"], "shares": {},
                  "keys": [storage_key(), storage_key()], "kerb_keys": [storage_key(), storage_key()]}
        self.issued_keys.extend(record["keys"] + record["kerb_keys"])
        record["json"] = {"name": name, "type": "Microsoft.Storage/storageAccounts", "location": location,
                          "kind": kind, "sku": sku, "tags": dict(body.get("tags") or {}), "properties": props}
        record["json"]["id"] = self._account_id(record)
        self.accounts[name.lower()] = record
        op_id = self._new_operation("account", name=name.lower())
        monitor = (f"{self.base_url}/subscriptions/{record['subscription']}/providers/Microsoft.Storage/locations/"
                   f"{location}/asyncoperations/{op_id}?monitor=true&api-version={api_version}")
        return Reply(202, None, {"Location": monitor, **self._retry_after()})

    def poll_account_operation(self, sub: str, op_id: str, api_version: str) -> Reply:
        self.subscription(sub)
        op = self.operations.get(op_id)
        if op is None or op["kind"] != "account":
            raise ArmError(404, "ResourceNotFound", f"The operation '{op_id}' was not found. {NOT_FOUND_HINT}")
        record = self.accounts.get(op["name"])
        if record is None:
            raise ArmError(404, "ResourceNotFound", f"The storage account of operation '{op_id}' no longer exists.")
        if op["remaining"] > 0:
            op["remaining"] -= 1
            location = record["json"]["location"]
            monitor = (f"{self.base_url}/subscriptions/{record['subscription']}/providers/Microsoft.Storage/locations/"
                       f"{location}/asyncoperations/{op_id}?monitor=true&api-version={api_version}")
            return Reply(202, None, {"Location": monitor, **self._retry_after()})
        record["json"]["properties"]["provisioningState"] = "Succeeded"
        return Reply(200, copy.deepcopy(record["json"]))

    def patch_account(self, sub: str, rg: str, name: str, body: dict, api_version: str = "9999-12-31") -> Reply:
        record = self._account(sub, rg, name)
        current = record["json"]
        if "kind" in body and body["kind"] != current["kind"]:
            if not (current["kind"] == "Storage" and body["kind"] == "StorageV2"):
                raise ArmError(400, "InvalidRequestPropertyValue",
                               f"The kind of account {name} cannot be changed from {current['kind']} to {body['kind']}.")
            current["kind"] = "StorageV2"
        if "sku" in body:
            sku = self._sku(body, current["kind"], api_version)
            if sku["tier"] != current["sku"]["tier"]:
                raise ArmError(400, "InvalidRequestPropertyValue",
                               f"The SKU of account {name} cannot be changed from {current['sku']['name']} to "
                               f"{sku['name']}.")
            current["sku"] = sku
        if "tags" in body:
            current["tags"] = dict(body.get("tags") or {})
        self._apply_properties(sub, current["properties"], body.get("properties") or {}, api_version)
        return Reply(200, copy.deepcopy(current))

    def delete_account(self, sub: str, rg: str, name: str) -> Reply:
        self.resource_group(sub, rg)
        record = self.accounts.get(name.lower())
        if record is None or record["subscription"].lower() != sub.lower() or record["rg"].lower() != rg.lower():
            return Reply(204)
        del self.accounts[name.lower()]
        return Reply(200)

    def list_keys(self, sub: str, rg: str, name: str, expand: str | None = None) -> Reply:
        """StorageAccountKey of storage.json: permissions Read|Full; $expand=kerb adds the Kerberos keys
        (ARM returns those only for accounts with identity-based SMB authentication; the stand-in always does)."""
        record = self._account(sub, rg, name)
        created = record["json"]["properties"]["creationTime"]
        keys = [{"keyName": f"key{i + 1}", "value": value, "permissions": "Full", "creationTime": created}
                for i, value in enumerate(record["keys"])]
        if (expand or "").lower() == "kerb":
            keys += [{"keyName": f"kerb{i + 1}", "value": value, "permissions": "Full", "creationTime": created}
                     for i, value in enumerate(record["kerb_keys"])]
        return Reply(200, {"keys": keys})

    # ------------------------------------------------------------------ file shares
    def _share_parent(self, sub: str, rg: str, account: str, verb: str) -> dict:
        self.resource_group(sub, rg)
        record = self.accounts.get(account.lower())
        if record is None or record["subscription"].lower() != sub.lower() or record["rg"].lower() != rg.lower():
            parent = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
            raise ArmError(404, "ParentResourceNotFound",
                           f"Failed to perform '{verb}' on resource(s) of type 'storageAccounts/fileServices/shares', "
                           f"because the parent resource '{parent}' could not be found.")
        return record

    @staticmethod
    def _v2(record: dict) -> bool:
        """Files provisioned v2 account (StandardV2_*/PremiumV2_*): provisioned size, IOPS and bandwidth per share."""
        return "v2_" in record["json"]["sku"]["name"].lower()

    def _share_json(self, record: dict, share: dict, stats: bool) -> dict:
        out = {
            "id": f"{self._account_id(record)}/fileServices/default/shares/{share['name']}",
            "name": share["name"],
            "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
            "etag": share["etag"],
            "properties": copy.deepcopy(share["properties"]),
        }
        if stats:
            out["properties"]["shareUsageBytes"] = share.get("usage", 0)
        return out

    def _share_not_found(self) -> ArmError:
        return ArmError(404, "ShareNotFound",
                        f"The specified share does not exist.\\nRequestId:{uuid.uuid4()}\\nTime:{now_iso()}")

    def _check_share_properties(self, record: dict, props: dict) -> None:
        account = record["json"]
        premium = account["sku"]["tier"] == "Premium"
        v2 = self._v2(record)
        bad_header = ArmError(400, "InvalidHeaderValue",
                              "The value for one of the HTTP headers is not in the correct format.\\n"
                              f"RequestId:{uuid.uuid4()}\\nTime:{now_iso()}")
        protocol = props.get("enabledProtocols", "SMB")
        if protocol == "NFS" and not (premium and account["kind"] == "FileStorage"):
            raise ArmError(400, "FeatureNotSupportedForAccount", "NfsFileShares is not supported for the account.")
        quota = props.get("shareQuota")
        if v2:
            low, high = V2_SHARE_LIMITS["minProvisionedStorageGiB"], V2_SHARE_LIMITS["maxProvisionedStorageGiB"]
        else:
            large = account["properties"].get("largeFileSharesState") == "Enabled"
            low, high = (100 if premium else 1), (102400 if premium or large else 5120)
        if not isinstance(quota, int) or not low <= quota <= high:
            raise bad_header
        tier = props.get("accessTier")
        if tier is not None and (v2 or (tier == "Premium") != premium):
            raise bad_header

    def _v2_provisioning(self, props: dict, given: dict) -> None:
        """IOPS and bandwidth of a provisioned v2 share: given, else the recommendation for its size."""
        quota = props["shareQuota"]
        props["provisionedIops"] = int(given.get("provisionedIops") or props.get("provisionedIops") or 3000 + quota)
        props["provisionedBandwidthMibps"] = int(given.get("provisionedBandwidthMibps")
                                                 or props.get("provisionedBandwidthMibps") or 125 + quota // 10)
        props["includedBurstIops"] = max(10000, 3 * props["provisionedIops"])
        props["maxBurstCreditsForIops"] = props["includedBurstIops"] * 3600 - props["provisionedIops"] * 3600

    def put_share(self, sub: str, rg: str, account: str, name: str, body: dict) -> Reply:
        record = self._share_parent(sub, rg, account, "write")
        if not SHARE_NAME_RE.match(name):
            raise ArmError(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
        if name.lower() in record["shares"]:
            # file.json FileShares_Create: "200 OK -- The Share is already created"; the given properties apply.
            return self.patch_share(sub, rg, account, name, body)
        given = (body or {}).get("properties") or {}
        premium = record["json"]["sku"]["tier"] == "Premium"
        v2 = self._v2(record)
        props = {
            "shareQuota": given.get("shareQuota", 102400 if premium else 5120),
            "enabledProtocols": given.get("enabledProtocols", "SMB"),
            "metadata": dict(given.get("metadata") or {}),
            "lastModifiedTime": now_iso(),
            "leaseStatus": "unlocked",
            "leaseState": "available",
        }
        if not v2:
            props["accessTier"] = given.get("accessTier") or ("Premium" if premium else "TransactionOptimized")
        elif "accessTier" in given:
            props["accessTier"] = given["accessTier"]
        if props["enabledProtocols"] not in ("SMB", "NFS"):
            raise ArmError(400, "InvalidRequestPropertyValue",
                           f"The value '{props['enabledProtocols']}' is not allowed for property enabledProtocols.")
        if props["enabledProtocols"] == "NFS":
            props["rootSquash"] = ROOT_SQUASH.get(str(given.get("rootSquash", "NoRootSquash")).lower(), "NoRootSquash")
        if str(props.get("accessTier", "")).lower() in SHARE_TIERS:
            props["accessTier"] = SHARE_TIERS[props["accessTier"].lower()]
        self._check_share_properties(record, props)
        if v2:
            self._v2_provisioning(props, given)
        share = {"name": name, "etag": f'"0x{secrets.token_hex(8).upper()}"', "properties": props, "usage": 0,
                 "files": []}
        record["shares"][name.lower()] = share
        return Reply(201, self._share_json(record, share, stats=False))

    def get_share(self, sub: str, rg: str, account: str, name: str, expand: str | None) -> Reply:
        record = self._share_parent(sub, rg, account, "read")
        share = record["shares"].get(name.lower())
        if share is None:
            raise self._share_not_found()
        return Reply(200, self._share_json(record, share, stats="stats" in (expand or "").lower()))

    def patch_share(self, sub: str, rg: str, account: str, name: str, body: dict) -> Reply:
        record = self._share_parent(sub, rg, account, "write")
        share = record["shares"].get(name.lower())
        if share is None:
            raise self._share_not_found()
        given = (body or {}).get("properties") or {}
        props = copy.deepcopy(share["properties"])
        if "enabledProtocols" in given and given["enabledProtocols"] != props["enabledProtocols"]:
            raise ArmError(400, "InvalidRequestPropertyValue",
                           "The property enabledProtocols cannot be changed on an existing share.")
        for key in ("shareQuota", "accessTier", "metadata"):
            if key in given:
                props[key] = given[key]
        if "rootSquash" in given and props["enabledProtocols"] == "NFS":
            props["rootSquash"] = ROOT_SQUASH.get(str(given["rootSquash"]).lower(), given["rootSquash"])
        self._check_share_properties(record, props)
        if self._v2(record):
            self._v2_provisioning(props, given)
        props["lastModifiedTime"] = now_iso()
        share["properties"] = props
        share["etag"] = f'"0x{secrets.token_hex(8).upper()}"'
        return Reply(200, self._share_json(record, share, stats=False))

    def delete_share(self, sub: str, rg: str, account: str, name: str) -> Reply:
        record = self._share_parent(sub, rg, account, "delete")
        if record["shares"].pop(name.lower(), None) is None:
            return Reply(204)
        return Reply(200)

    def file_service_usage(self, sub: str, rg: str, account: str) -> Reply:
        """FileServices_GetServiceUsage (Files provisioned v2 accounts), in the shape of its 2025-06-01 example."""
        record = self._share_parent(sub, rg, account, "read")
        if not self._v2(record):
            raise ArmError(400, "FeatureNotSupportedForAccount",
                           "File service usage is only available for Files provisioned v2 accounts.")
        live = [s["properties"] for s in record["shares"].values()]
        return Reply(200, {
            "id": f"{self._account_id(record)}/fileServices/default/usages/default",
            "name": "default",
            "type": "Microsoft.Storage/storageAccounts/fileServices/usages",
            "properties": {
                "fileShareLimits": dict(V2_SHARE_LIMITS),
                "storageAccountLimits": {"maxFileShares": 50, "maxProvisionedStorageGiB": 262144,
                                         "maxProvisionedIOPS": 102400, "maxProvisionedBandwidthMiBPerSec": 10340},
                "storageAccountUsage": {"liveShares": {
                    "fileShareCount": len(live),
                    "provisionedStorageGiB": sum(p["shareQuota"] for p in live),
                    "provisionedIOPS": sum(p.get("provisionedIops", 0) for p in live),
                    "provisionedBandwidthMiBPerSec": sum(p.get("provisionedBandwidthMibps", 0) for p in live),
                }},
            },
        })

    # ------------------------------------------------------------------ file data plane (FileREST, SharedKey)
    def list_share_root(self, account: str, share: str, method: str, headers: dict, query: dict, path: str,
                        client_ip: str) -> Reply:
        """List Directories and Files of a share's root, for a SharedKey-signed request.

        Answers in the data plane's XML; errors are the data plane's codes (403 AuthenticationFailed for a bad
        signature, 403 AuthorizationFailure when the account firewall does not let the client in, 404
        ShareNotFound).  Only this one operation is modelled.
        """
        record = self.accounts.get(account.lower())
        if record is None:
            raise ArmError(404, "ResourceNotFound", "The specified resource does not exist.")
        if not verify_shared_key(account, record["keys"], method, headers, path, query):
            raise ArmError(403, "AuthenticationFailed",
                           "Server failed to authenticate the request. Make sure the value of Authorization header "
                           "is formed correctly including the signature.")
        acls = record["json"]["properties"].get("networkAcls") or {}
        if acls.get("defaultAction") == "Deny" and not any(
                ipaddress.ip_address(client_ip) in ipaddress.ip_network(r["value"]) for r in acls.get("ipRules") or []):
            raise ArmError(403, "AuthorizationFailure", "This request is not authorized to perform this operation.")
        item = record["shares"].get(share.lower())
        if item is None:
            raise ArmError(404, "ShareNotFound", "The specified share does not exist.")
        if item["properties"].get("enabledProtocols") == "NFS":
            raise ArmError(400, "FeatureNotSupportedForAccount", "The FileREST API does not serve NFS shares.")
        entries = "".join(f"<File><Name>{escape(n)}</Name><Properties><Content-Length>0</Content-Length>"
                          f"</Properties></File>" for n in item.get("files") or [])
        xml = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{self.base_url}/file/'
               f'{account}/" ShareName="{escape(share)}" DirectoryPath=""><Entries>{entries}</Entries>'
               f"<NextMarker /></EnumerationResults>")
        return Reply(200, xml, {"Content-Type": "application/xml", "x-ms-version": headers.get("x-ms-version", "")})

    # ------------------------------------------------------------------ subnets (Microsoft.Network)
    @staticmethod
    def _endpoint(item: dict, location: str) -> dict:
        return {"service": item.get("service"), "locations": item.get("locations") or [location],
                "provisioningState": "Succeeded"}

    def _vnet_id(self, vnet: dict) -> str:
        return (f"/subscriptions/{vnet['subscription']}/resourceGroups/{vnet['rg']}/providers/Microsoft.Network"
                f"/virtualNetworks/{vnet['name']}")

    def _subnet_id(self, vnet: dict, subnet: dict) -> str:
        return f"{self._vnet_id(vnet)}/subnets/{subnet['name']}"

    def _vnet(self, sub: str, rg: str, name: str) -> dict:
        group = self.resource_group(sub, rg)
        vnet = self.vnets.get((sub.lower(), rg.lower(), name.lower()))
        if vnet is None:
            raise ArmError(404, "ResourceNotFound",
                           f"The Resource 'Microsoft.Network/virtualNetworks/{name}' under resource group "
                           f"'{group['name']}' was not found. {NOT_FOUND_HINT}")
        return vnet

    def _subnet_json(self, vnet: dict, subnet: dict) -> dict:
        return {
            "id": self._subnet_id(vnet, subnet),
            "name": subnet["name"],
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "etag": f'W/"{subnet["etag"]}"',
            "properties": {
                "provisioningState": subnet["provisioningState"],
                "addressPrefix": subnet["addressPrefix"],
                "serviceEndpoints": copy.deepcopy(subnet["serviceEndpoints"]),
                "privateEndpointNetworkPolicies": "Disabled",
                "privateLinkServiceNetworkPolicies": "Enabled",
            },
        }

    def get_subnet(self, sub: str, rg: str, vnet_name: str, name: str) -> Reply:
        vnet = self._vnet(sub, rg, vnet_name)
        subnet = vnet["subnets"].get(name.lower())
        if subnet is None:
            raise ArmError(404, "NotFound", f"Resource {self._vnet_id(vnet)}/subnets/{name} not found.")
        return Reply(200, self._subnet_json(vnet, subnet))

    def put_subnet(self, sub: str, rg: str, vnet_name: str, name: str, body: dict, api_version: str) -> Reply:
        vnet = self._vnet(sub, rg, vnet_name)
        given = (body or {}).get("properties") or {}
        prefix = given.get("addressPrefix") or (given.get("addressPrefixes") or [None])[0]
        if not prefix:
            raise ArmError(400, "InvalidRequestFormat",
                           "Cannot parse the request: the subnet has no addressPrefix or addressPrefixes.")
        existing = vnet["subnets"].get(name.lower())
        subnet = {
            "name": existing["name"] if existing else name,
            "addressPrefix": prefix,
            "serviceEndpoints": [self._endpoint(e, vnet["location"]) for e in given.get("serviceEndpoints") or []],
            "provisioningState": "Updating",
            "etag": str(uuid.uuid4()),
        }
        vnet["subnets"][name.lower()] = subnet
        op_id = self._new_operation("subnet", key=(sub.lower(), rg.lower(), vnet_name.lower(), name.lower()))
        status_url = (f"{self.base_url}/subscriptions/{vnet['subscription']}/providers/Microsoft.Network/locations/"
                      f"{vnet['location']}/operations/{op_id}?api-version={api_version}")
        return Reply(200 if existing else 201, self._subnet_json(vnet, subnet),
                     {"Azure-AsyncOperation": status_url, **self._retry_after()})

    def poll_network_operation(self, sub: str, op_id: str) -> Reply:
        self.subscription(sub)
        op = self.operations.get(op_id)
        if op is None or op["kind"] != "subnet":
            raise ArmError(404, "NotFound", f"Operation {op_id} not found.")
        if op["remaining"] > 0:
            op["remaining"] -= 1
            return Reply(200, {"status": "InProgress"}, self._retry_after())
        vsub, vrg, vname, sname = op["key"]
        subnet = self.vnets[(vsub, vrg, vname)]["subnets"].get(sname)
        if subnet is not None:
            subnet["provisioningState"] = "Succeeded"
        return Reply(200, {"status": "Succeeded"})
