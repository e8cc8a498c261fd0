# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small base for the collection's Azure modules, over azure-identity and azure-mgmt-*.

``AzureModule`` wraps an AnsibleModule by composition: it adds the shared authentication and
cloud options, checks the SDK is importable, resolves the cloud (a known cloud name or a
custom Resource Manager URL whose metadata is discovered, as for Azure Stack), builds the
credential the same way for every module, and turns SDK exceptions into ``fail_json``
messages that name the error code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.parse import urlparse
from ansible.module_utils.urls import open_url

AZURE_IMPORT_ERROR = None
try:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
    )
    from azure.identity import (
        AzureCliCredential,
        ChainedTokenCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
    )
except ImportError:
    AZURE_IMPORT_ERROR = traceback.format_exc()

STORAGE_IMPORT_ERROR = None
try:
    from azure.mgmt.storage import StorageManagementClient
except ImportError:
    STORAGE_IMPORT_ERROR = traceback.format_exc()

USER_AGENT = "ansible-nats_streaming.ft"
METADATA_API_VERSION = "2015-01-01"
# The Microsoft.Storage api-version every request uses unless api_version says otherwise: a stable
# version (specification/storage/resource-manager/Microsoft.Storage/stable/2025-06-01) whose schema
# has every property the modules read and write (ipv6Rules, the V2 SKUs, provisioned v2 shares).
# Pinned so that an SDK upgrade cannot move the modules to a version a cloud does not serve.
STORAGE_API_VERSION = "2025-06-01"
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

# The argument spec every Azure module of the collection shares (documented in the
# nats_streaming.ft.azure doc fragment; keep the two in step).
AZURE_AUTH_ARGSPEC = dict(
    auth_source=dict(
        type="str",
        default="auto",
        choices=["auto", "env", "cli", "msi"],
        fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"]),
    ),
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET"])),
    tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT"])),
    cloud_environment=dict(type="str", default="AzureCloud", fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
    authority_url=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
    ca_bundle=dict(type="path", fallback=(env_fallback, ["AZURE_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])),
    api_version=dict(type="str", default=STORAGE_API_VERSION, fallback=(env_fallback, ["AZURE_STORAGE_API_VERSION"])),
)

# Public clouds: Resource Manager endpoint, Entra ID (AAD) authority, ARM token audience.
KNOWN_CLOUDS = {
    "azurecloud": (
        "AzureCloud",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "https://management.core.windows.net/",
    ),
    "azureusgovernment": (
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "https://management.core.usgovcloudapi.net/",
    ),
    "azurechinacloud": (
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "https://management.core.chinacloudapi.cn/",
    ),
}
KNOWN_AUTHORITY_HOSTS = frozenset(
    [
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    ]
)


class OptionError(ValueError):
    """A bad option value; ``option`` names the module option to fix, the message says how."""

    def __init__(self, option, message):
        super(OptionError, self).__init__("%s: %s" % (option, message))
        self.option = option


def api_version_at_least(version, needed):
    """True when api-version ``version`` is ``needed`` or later (dates compare as text)."""
    return (version or "")[:10] >= needed[:10]


def validate_api_version(version):
    if not API_VERSION_RE.match(version or ""):
        raise OptionError(
            "api_version",
            "%r is not a Resource Manager api-version; use a date such as %s (optionally with -preview)"
            % (version, STORAGE_API_VERSION),
        )


class CloudSettings(object):
    """Where Resource Manager and its token authority live for one cloud."""

    def __init__(self, name, resource_manager, authority, audience, tenant_override=None):
        self.name = name
        self.resource_manager = resource_manager.rstrip("/")
        self.authority = authority.rstrip("/")
        self.audience = audience
        self.tenant_override = tenant_override

    @property
    def scope(self):
        return self.audience + (".default" if self.audience.endswith("/") else "/.default")

    @property
    def custom_authority(self):
        """True when the authority is not a public Entra ID host (instance discovery must be off)."""
        return (urlparse(self.authority).hostname or "").lower() not in KNOWN_AUTHORITY_HOSTS


def _fetch_json(url, ca_bundle, timeout=30):
    response = open_url(url, method="GET", headers={"Accept": "application/json"}, ca_path=ca_bundle, timeout=timeout)
    return json.loads(to_native(response.read()))


def cloud_from_metadata(resource_manager, metadata, name=None):
    """CloudSettings from an Azure Stack style ``/metadata/endpoints`` document."""
    auth = (metadata or {}).get("authentication") or {}
    login = auth.get("loginEndpoint")
    audiences = auth.get("audiences") or []
    if not login or not audiences:
        raise OptionError(
            "cloud_environment",
            "the metadata of %s has no authentication.loginEndpoint/audiences; is it a Resource Manager URL?"
            % resource_manager,
        )
    login = login.rstrip("/")
    tenant_override = None
    if login.lower().endswith("/adfs"):
        # AD FS (disconnected Azure Stack): the authority is the host, the tenant is "adfs".
        login, tenant_override = login[: -len("/adfs")], "adfs"
    return CloudSettings(name or resource_manager, resource_manager, login, audiences[0], tenant_override)


def resolve_cloud(cloud_environment, authority_url=None, ca_bundle=None, fetch_json=_fetch_json):
    """CloudSettings for a known cloud name or a custom https Resource Manager URL."""
    value = (cloud_environment or "AzureCloud").strip()
    known = KNOWN_CLOUDS.get(value.lower())
    if known:
        cloud = CloudSettings(*known)
    else:
        parsed = urlparse(value)
        if parsed.scheme != "https" or not parsed.hostname:
            raise OptionError(
                "cloud_environment",
                "%r is neither a known cloud (%s) nor an https:// Resource Manager URL"
                % (value, ", ".join(c[0] for c in KNOWN_CLOUDS.values())),
            )
        url = "%s/metadata/endpoints?api-version=%s" % (value.rstrip("/"), METADATA_API_VERSION)
        try:
            metadata = fetch_json(url, ca_bundle)
        except Exception as exc:  # urllib/ssl/json errors all mean the same thing here
            raise OptionError(
                "cloud_environment",
                "could not read the cloud metadata from %s: %s (for a private CA set ca_bundle)" % (url, to_native(exc)),
            )
        cloud = cloud_from_metadata(value, metadata)
    if authority_url:
        parsed = urlparse(authority_url)
        if parsed.scheme != "https" or not parsed.hostname:
            raise OptionError("authority_url", "%r must be an https:// URL" % authority_url)
        cloud.authority = authority_url.rstrip("/")
    return cloud


def build_credential(params, cloud):
    """An azure-identity credential for the module's auth options.

    ``env`` (or ``auto`` with client_id and secret set) is a service principal with a client
    secret; ``msi`` a managed identity (``client_id`` picks a user-assigned one); ``cli`` the
    Azure CLI login; ``auto`` without a secret tries the CLI, then a managed identity.
    """
    source = params.get("auth_source") or "auto"
    client_id, secret, tenant = params.get("client_id"), params.get("secret"), params.get("tenant")
    verify = params.get("ca_bundle") or True
    if source == "env" or (source == "auto" and (secret or (client_id and tenant))):
        missing = [name for name, value in (("client_id", client_id), ("secret", secret), ("tenant", tenant)) if not value]
        if missing:
            raise OptionError(
                missing[0],
                "service principal authentication needs client_id, secret and tenant "
                "(or AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT); missing: %s" % ", ".join(missing),
            )
        return ClientSecretCredential(
            tenant_id=cloud.tenant_override or tenant,
            client_id=client_id,
            client_secret=secret,
            authority=cloud.authority,
            disable_instance_discovery=cloud.custom_authority,
            connection_verify=verify,
        )
    if source == "msi":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if source == "cli":
        return AzureCliCredential(tenant_id=tenant) if tenant else AzureCliCredential()
    return ChainedTokenCredential(
        AzureCliCredential(tenant_id=tenant) if tenant else AzureCliCredential(),
        ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential(),
    )


def raw_json(pipeline_response, _deserialized, _headers):
    """``cls=`` callback for SDK operations: the response body as ARM sent it (None if empty).

    Working on ARM's JSON keeps the modules independent of the SDK's model generation.
    """
    response = pipeline_response.http_response
    body = response.text() if callable(getattr(response, "text", None)) else response.text
    return json.loads(body) if body else None


def json_body(document):
    """A request body the SDK sends verbatim (bytes are accepted by every SDK generation)."""
    return json.dumps(document).encode("utf-8")


def error_code(exc):
    """ARM error code of an SDK exception, if the body had one."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:
        return code
    response = getattr(exc, "response", None)
    try:
        return json.load(io.BytesIO(response.body()))["error"]["code"]
    except Exception:
        return None


def error_message(exc):
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None)
    return to_native(message or getattr(exc, "message", None) or exc)


class AzureModule(object):
    """AnsibleModule plus Azure authentication, cloud resolution and error handling."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(AZURE_AUTH_ARGSPEC)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        if AZURE_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib("azure-identity"), exception=AZURE_IMPORT_ERROR)
        if STORAGE_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib("azure-mgmt-storage"), exception=STORAGE_IMPORT_ERROR)
        self._cloud = None
        self._credential = None
        self._subscription_id = None
        self._clients = {}

    # ------------------------------------------------------------ module plumbing
    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def warn(self, msg):
        self.module.warn(msg)

    def exit(self, **result):
        self.module.exit_json(**result)

    def fail_from_exception(self, exc, doing, code_options=None):
        """fail_json for an SDK exception: what we were doing, ARM's code and message.

        ``code_options`` maps ARM error codes to the module option the user should fix.
        """
        code = error_code(exc)
        status = getattr(exc, "status_code", None)
        details = dict(code=code, status=status, message=error_message(exc))
        if isinstance(exc, ClientAuthenticationError):
            self.fail(
                "client_id/secret/tenant: authentication failed while %s: %s. Check the credentials "
                "(AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT), auth_source and cloud_environment."
                % (doing, error_message(exc)),
                error=details,
            )
        if isinstance(exc, ServiceRequestError):
            self.fail(
                "cloud_environment: could not reach %s while %s: %s (for a private CA set ca_bundle)."
                % (self.cloud.resource_manager, doing, to_native(exc)),
                error=details,
            )
        if not isinstance(exc, HttpResponseError):
            self.fail("Unexpected error while %s: %s" % (doing, to_native(exc)), exception=traceback.format_exc())
        option = (code_options or {}).get(code)
        hint = ""
        if code == "NoRegisteredProviderFound":
            # The cloud does not serve the pinned api-version (Azure Stack Hub, a sovereign cloud).
            option = "api_version"
            hint = " Set api_version (or AZURE_STORAGE_API_VERSION) to one of the versions listed (now %s)." % (
                self.params.get("api_version")
            )
        prefix = "%s: " % option if option else ""
        self.fail(
            "%sAzure Resource Manager refused %s (HTTP %s, %s): %s%s" % (prefix, doing, status, code, error_message(exc), hint),
            error=details,
        )

    # ------------------------------------------------------------ connection
    def _config_fail(self, exc):
        self.fail(to_native(exc))

    @property
    def cloud(self):
        if self._cloud is None:
            try:
                self._cloud = resolve_cloud(
                    self.params.get("cloud_environment"), self.params.get("authority_url"), self.params.get("ca_bundle")
                )
            except OptionError as exc:
                self._config_fail(exc)
        return self._cloud

    @property
    def credential(self):
        if self._credential is None:
            try:
                self._credential = build_credential(self.params, self.cloud)
            except OptionError as exc:
                self._config_fail(exc)
        return self._credential

    @property
    def subscription_id(self):
        if self._subscription_id is None:
            sub = self.params.get("subscription_id")
            if not sub and self.params.get("auth_source") in ("cli", "auto") and not self.params.get("secret"):
                sub = self._cli_subscription()
            if not sub:
                self.fail("subscription_id: set it, or AZURE_SUBSCRIPTION_ID, to the subscription that holds the resources")
            self._subscription_id = sub
        return self._subscription_id

    def _cli_subscription(self):
        az = self.module.get_bin_path("az")
        if not az:
            return None
        rc, out, _err = self.module.run_command([az, "account", "show", "--query", "id", "--output", "tsv"])
        return out.strip() if rc == 0 and out.strip() else None

    def _client_kwargs(self):
        kwargs = dict(
            base_url=self.cloud.resource_manager,
            credential_scopes=[self.cloud.scope],
            user_agent=USER_AGENT,
        )
        if self.params.get("ca_bundle"):
            kwargs["connection_verify"] = self.params["ca_bundle"]
        return kwargs

    def storage_client(self):
        """Microsoft.Storage client that sends the pinned ``api_version`` on every request."""
        if "storage" not in self._clients:
            try:
                validate_api_version(self.params.get("api_version"))
            except OptionError as exc:
                self._config_fail(exc)
            self._clients["storage"] = StorageManagementClient(
                self.credential, self.subscription_id, api_version=self.params["api_version"], **self._client_kwargs()
            )
        return self._clients["storage"]

    def network_client(self, subscription_id=None):
        """Client for subnets; azure-mgmt-network is only imported (and required) when subnets are managed."""
        try:
            from azure.mgmt.network import NetworkManagementClient
        except ImportError:
            self.fail(missing_required_lib("azure-mgmt-network"), exception=traceback.format_exc())
        sub = subscription_id or self.subscription_id
        key = "network:%s" % sub.lower()
        if key not in self._clients:
            self._clients[key] = NetworkManagementClient(self.credential, sub, **self._client_kwargs())
        return self._clients[key]
