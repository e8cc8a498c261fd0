"""Cloud resolution and credential choice of the Azure base (plugins/module_utils/azure_base.py)."""

from __future__ import annotations

import json

import pytest
from azure.identity import AzureCliCredential, ChainedTokenCredential, ClientSecretCredential, ManagedIdentityCredential

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_base as base

STACK = "https://management.local.azurestack.external"


def fetch_from(document, seen=None):
    def fetch(url, ca_bundle):
        if seen is not None:
            seen.append((url, ca_bundle))
        return document
    return fetch


def auth(**overrides):
    values = {"auth_source": "auto", "client_id": None, "secret": None, "tenant": None, "ca_bundle": None}
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("name", "arm", "authority", "scope"),
    [
        ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
         "https://management.core.windows.net/.default"),
        ("azureusgovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
         "https://management.core.usgovcloudapi.net/.default"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
         "https://management.core.chinacloudapi.cn/.default"),
    ],
)
def test_known_clouds_resolve_without_any_request(name, arm, authority, scope):
    cloud = base.resolve_cloud(name, fetch_json=lambda *a: pytest.fail("a known cloud must not fetch metadata"))
    assert (cloud.resource_manager, cloud.authority, cloud.scope) == (arm, authority, scope)
    assert not cloud.custom_authority


def test_custom_resource_manager_url_reads_its_metadata_like_azure_stack():
    seen = []
    document = {"authentication": {"loginEndpoint": "https://login.example.test/", "audiences": ["https://mgmt.example/"]}}
    cloud = base.resolve_cloud(STACK + "/", ca_bundle="/tmp/ca.pem", fetch_json=fetch_from(document, seen))
    assert seen == [(STACK + "/metadata/endpoints?api-version=2015-01-01", "/tmp/ca.pem")]
    assert cloud.resource_manager == STACK
    assert cloud.authority == "https://login.example.test"
    assert cloud.scope == "https://mgmt.example/.default"
    assert cloud.custom_authority and cloud.tenant_override is None


def test_adfs_login_endpoint_means_tenant_adfs():
    document = {"authentication": {"loginEndpoint": "https://adfs.local.azurestack.external/adfs/",
                                   "audiences": ["https://management.adfs.azurestack.local/1234"]}}
    cloud = base.resolve_cloud(STACK, fetch_json=fetch_from(document))
    assert cloud.authority == "https://adfs.local.azurestack.external"
    assert cloud.tenant_override == "adfs"
    assert cloud.scope == "https://management.adfs.azurestack.local/1234/.default"


def test_public_login_host_keeps_instance_discovery():
    document = {"authentication": {"loginEndpoint": "https://login.microsoftonline.com/", "audiences": ["https://m/"]}}
    assert not base.resolve_cloud(STACK, fetch_json=fetch_from(document)).custom_authority


@pytest.mark.parametrize("value", ["http://127.0.0.1:8443", "AzureGermanCloud", "ftp://x"])
def test_unknown_or_plain_http_cloud_is_refused_naming_the_option(value):
    with pytest.raises(base.OptionError, match="^cloud_environment: "):
        base.resolve_cloud(value, fetch_json=fetch_from({}))


def test_unreachable_or_wrong_metadata_names_the_option():
    def broken(url, ca_bundle):
        raise OSError("connection refused")

    with pytest.raises(base.OptionError, match="^cloud_environment: could not read the cloud metadata"):
        base.resolve_cloud(STACK, fetch_json=broken)
    with pytest.raises(base.OptionError, match="^cloud_environment: .*loginEndpoint"):
        base.resolve_cloud(STACK, fetch_json=fetch_from({"galleryEndpoint": "x"}))


def test_authority_url_overrides_the_cloud():
    cloud = base.resolve_cloud("AzureCloud", authority_url="https://login.example.test/")
    assert cloud.authority == "https://login.example.test" and cloud.custom_authority
    with pytest.raises(base.OptionError, match="^authority_url: "):
        base.resolve_cloud("AzureCloud", authority_url="http://login.example.test")


def test_service_principal_credential_uses_the_cloud_authority():
    cloud = base.resolve_cloud("AzureCloud", authority_url="https://127.0.0.1:9443")
    cred = base.build_credential(auth(client_id="c", secret="s", tenant="t"), cloud)
    assert isinstance(cred, ClientSecretCredential)
    assert cred._authority == "https://127.0.0.1:9443"  # noqa: SLF001 - the one place the authority is visible
    assert cred._instance_discovery is False  # noqa: SLF001 - off for a private authority


@pytest.mark.parametrize(("given", "missing"), [({"secret": "s"}, "client_id"), ({"client_id": "c", "tenant": "t"}, "secret")])
def test_incomplete_service_principal_names_the_missing_option(given, missing):
    with pytest.raises(base.OptionError, match="^%s: .*missing: %s" % (missing, missing)):
        base.build_credential(auth(**given), base.resolve_cloud("AzureCloud"))


def test_env_source_without_any_credential_is_refused():
    with pytest.raises(base.OptionError, match="^client_id: "):
        base.build_credential(auth(auth_source="env"), base.resolve_cloud("AzureCloud"))


def test_other_sources_pick_managed_identity_cli_or_both():
    cloud = base.resolve_cloud("AzureCloud")
    assert isinstance(base.build_credential(auth(auth_source="msi"), cloud), ManagedIdentityCredential)
    assert isinstance(base.build_credential(auth(auth_source="cli"), cloud), AzureCliCredential)
    assert isinstance(base.build_credential(auth(), cloud), ChainedTokenCredential)


def test_json_body_is_bytes_and_raw_json_reads_the_response_text():
    assert json.loads(base.json_body({"a": 1})) == {"a": 1}

    class Response:
        def text(self):
            return '{"name": "x"}'

    class PipelineResponse:
        http_response = Response()

    assert base.raw_json(PipelineResponse(), None, {}) == {"name": "x"}
