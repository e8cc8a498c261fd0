"""The ARM stand-in against the real Azure SDK: it is only useful if the SDK cannot tell it from ARM
for the operations the modules call.  These tests drive azure-identity, azure-mgmt-storage and
azure-mgmt-network directly (no Ansible) and check the poller, the token flow and that ARM error
codes surface as the SDK raises them.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.storage import StorageManagementClient

from tests.integration.azure_fixtures import RESOURCE_GROUP, arm_standin, standin, unique_name  # noqa: F401  # pylint: disable=unused-import


def credential(server, secret=None):
    return ClientSecretCredential(
        server.tenant_id,
        server.client_id,
        secret or server.client_secret,
        authority=server.url,
        disable_instance_discovery=True,
        connection_verify=str(server.ca_path),
    )


PINNED = "2025-06-01"  # the Microsoft.Storage api-version the collection's modules pin by default


def storage(server, **kwargs):
    kwargs.setdefault("api_version", PINNED)
    return StorageManagementClient(
        credential(server),
        kwargs.pop("subscription_id", server.subscription_id),
        base_url=server.url,
        credential_scopes=[f"{server.url}/.default"],
        connection_verify=str(server.ca_path),
        **kwargs,
    )


def network(server):
    return NetworkManagementClient(
        credential(server), server.subscription_id, base_url=server.url,
        credential_scopes=[f"{server.url}/.default"], connection_verify=str(server.ca_path),
    )


def raw(server, method, path, token=None, body=None):
    """(status, json) of a request made without the SDK."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(server.url + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(server.ca_path))),
    )
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


FILE_STORAGE = {"location": "eastus", "kind": "FileStorage", "sku": {"name": "Premium_LRS"}}
STANDARD = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}


def create_account(client, name, body=None, rg=RESOURCE_GROUP):
    return client.storage_accounts.begin_create(rg, name, body or FILE_STORAGE).result()


def account_path(server, name, rg=RESOURCE_GROUP):
    return f"/subscriptions/{server.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


# ---------------------------------------------------------------- token flow and cloud metadata


def test_metadata_endpoint_names_the_login_endpoint_and_audience_like_azure_stack(standin):  # noqa: F811
    status, body = raw(standin.server, "GET", "/metadata/endpoints?api-version=2015-01-01")
    assert status == 200
    assert body["authentication"]["loginEndpoint"].rstrip("/") == standin.server.url
    assert body["authentication"]["audiences"] == [standin.server.url + "/"]


def test_service_principal_gets_a_bearer_token_from_the_standin_authority(standin):  # noqa: F811
    token = credential(standin.server).get_token(f"{standin.server.url}/.default")
    assert token.token.startswith("standin.") and token.expires_on > 0
    paths = [r["path"] for r in standin.server.requests()]
    assert paths == [
        f"/{standin.server.tenant_id}/v2.0/.well-known/openid-configuration",
        f"/{standin.server.tenant_id}/oauth2/v2.0/token",
    ]


def test_wrong_client_secret_raises_client_authentication_error(standin):  # noqa: F811
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential(standin.server, secret="wrong").get_token(f"{standin.server.url}/.default")


def test_request_without_token_is_refused_with_authentication_failed(standin):  # noqa: F811
    status, body = raw(standin.server, "GET", account_path(standin.server, "anyaccount") + "?api-version=2024-01-01")
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"


def test_token_for_another_audience_is_refused_as_the_sdk_expects(standin):  # noqa: F811
    client = StorageManagementClient(
        credential(standin.server), standin.server.subscription_id, base_url=standin.server.url,
        credential_scopes=["https://management.azure.com/.default"], connection_verify=str(standin.server.ca_path),
    )
    with pytest.raises(ClientAuthenticationError) as info:
        client.storage_accounts.get_properties(RESOURCE_GROUP, "anyaccount")
    assert info.value.error.code == "InvalidAuthenticationTokenAudience"


# ---------------------------------------------------------------- long-running operations


def test_storage_account_create_poller_completes_after_polling_location(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("lro")
    poller = client.storage_accounts.begin_create(RESOURCE_GROUP, name, FILE_STORAGE)
    account = poller.result(timeout=60)
    assert poller.done() and poller.status() == "Succeeded"
    assert account.name == name and account.provisioning_state == "Succeeded"
    log = [(r["method"], r["path"].split("/providers/")[-1], r["status"]) for r in standin.server.requests()
           if r["path"].startswith("/subscriptions/")]
    put, *polls = log
    assert put == ("PUT", f"Microsoft.Storage/storageAccounts/{name}", 202)
    assert [p[2] for p in polls if "asyncoperations" in p[1]] == [202, 202, 200]
    assert client.storage_accounts.get_properties(RESOURCE_GROUP, name).provisioning_state == "Succeeded"


def test_put_on_existing_account_updates_it_synchronously(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("upd")
    create_account(client, name)
    standin.server.clear_requests()
    updated = client.storage_accounts.begin_create(RESOURCE_GROUP, name, {**FILE_STORAGE, "tags": {"a": "b"}}).result()
    assert updated.tags == {"a": "b"}
    assert [r["status"] for r in standin.server.requests() if r["method"] == "PUT"] == [200]


def test_subnet_put_poller_follows_azure_async_operation(standin):  # noqa: F811
    client = network(standin.server)
    subnet = client.subnets.get(RESOURCE_GROUP, "vnet-aks", "nodes-a")
    assert not subnet.service_endpoints
    subnet.service_endpoints = [{"service": "Microsoft.Storage"}]
    result = client.subnets.begin_create_or_update(RESOURCE_GROUP, "vnet-aks", "nodes-a", subnet).result(timeout=60)
    assert result.provisioning_state == "Succeeded"
    assert [e.service for e in result.service_endpoints] == ["Microsoft.Storage"]
    statuses = [r["status"] for r in standin.server.requests() if "/Microsoft.Network/locations/" in r["path"]]
    assert statuses == [200, 200, 200]  # InProgress, InProgress, Succeeded


def test_served_api_versions_are_accepted(standin):  # noqa: F811
    name = unique_name("api")
    create_account(storage(standin.server), name)
    for version in ("2019-06-01", "2023-01-01", PINNED):
        assert storage(standin.server, api_version=version).storage_accounts.get_properties(RESOURCE_GROUP, name).name == name


def test_api_version_not_served_is_refused_with_no_registered_provider_found(standin):  # noqa: F811
    """ARM's answer when the resource provider does not serve the version (the SDK default moves ahead of clouds)."""
    name = unique_name("api")
    create_account(storage(standin.server), name)
    for version in ("2026-09-01", "2099-12-31-preview"):
        with pytest.raises(HttpResponseError) as info:
            storage(standin.server, api_version=version).storage_accounts.get_properties(RESOURCE_GROUP, name)
        assert info.value.status_code == 400
        assert info.value.error.code == "NoRegisteredProviderFound"
        assert f"API version '{version}' for type 'storageAccounts'" in info.value.error.message
        assert "2025-06-01, 2025-01-01" in info.value.error.message


def test_missing_api_version_is_refused_with_arm_code(standin):  # noqa: F811
    token = credential(standin.server).get_token(f"{standin.server.url}/.default").token
    status, body = raw(standin.server, "GET", account_path(standin.server, "anyaccount"), token=token)
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"


# ---------------------------------------------------------------- ARM error codes through the SDK


def test_name_taken_by_another_tenant_raises_resource_exists_storage_account_already_taken(standin):  # noqa: F811
    with pytest.raises(ResourceExistsError) as info:
        create_account(storage(standin.server), standin.taken_name)
    assert info.value.status_code == 409
    assert info.value.error.code == "StorageAccountAlreadyTaken"
    assert info.value.error.message == f"The storage account named {standin.taken_name} is already taken."


def test_name_used_in_another_resource_group_raises_storage_account_in_another_resource_group(standin):  # noqa: F811
    standin.server.add_resource_group("rg-other")
    client = storage(standin.server)
    name = unique_name("dup")
    create_account(client, name)
    with pytest.raises(ResourceExistsError) as info:
        create_account(client, name, rg="rg-other")
    assert info.value.error.code == "StorageAccountInAnotherResourceGroup"


def test_unknown_resource_group_raises_resource_not_found_resource_group_not_found(standin):  # noqa: F811
    with pytest.raises(ResourceNotFoundError) as info:
        storage(standin.server).storage_accounts.get_properties("rg-missing", "anyaccount")
    assert info.value.error.code == "ResourceGroupNotFound"
    assert info.value.error.message == "Resource group 'rg-missing' could not be found."


def test_unknown_account_raises_resource_not_found(standin):  # noqa: F811
    with pytest.raises(ResourceNotFoundError) as info:
        storage(standin.server).storage_accounts.get_properties(RESOURCE_GROUP, "nosuchaccount")
    assert info.value.error.code == "ResourceNotFound"


def test_unknown_subscription_raises_subscription_not_found(standin):  # noqa: F811
    client = storage(standin.server, subscription_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(ResourceNotFoundError) as info:
        client.storage_accounts.get_properties(RESOURCE_GROUP, "anyaccount")
    assert info.value.error.code == "SubscriptionNotFound"


def test_invalid_account_name_raises_account_name_invalid(standin):  # noqa: F811
    with pytest.raises(HttpResponseError) as info:
        create_account(storage(standin.server), "Not_Valid")
    assert info.value.status_code == 400
    assert info.value.error.code == "AccountNameInvalid"


def test_check_name_availability_gives_arm_reasons(standin):  # noqa: F811
    client = storage(standin.server)
    invalid = client.storage_accounts.check_name_availability({"name": "Bad!", "type": "Microsoft.Storage/storageAccounts"})
    taken = client.storage_accounts.check_name_availability(
        {"name": standin.taken_name, "type": "Microsoft.Storage/storageAccounts"})
    free = client.storage_accounts.check_name_availability({"name": "freename123", "type": "Microsoft.Storage/storageAccounts"})
    assert (invalid.name_available, invalid.reason) == (False, "AccountNameInvalid")
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    assert free.name_available is True


def test_vnet_rule_on_subnet_without_service_endpoint_raises_network_acls_validation_failure(standin):  # noqa: F811
    body = {**FILE_STORAGE, "properties": {"networkAcls": {
        "defaultAction": "Deny", "virtualNetworkRules": [{"id": standin.subnets["no-endpoint"], "action": "Allow"}]}}}
    with pytest.raises(HttpResponseError) as info:
        create_account(storage(standin.server), unique_name("acl"), body)
    assert info.value.error.code == "NetworkAclsValidationFailure"
    assert "SubnetsHaveNoServiceEndpointsConfigured" in info.value.error.message


def test_nfs_share_on_standard_account_raises_feature_not_supported_for_account(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("std")
    create_account(client, name, STANDARD)
    with pytest.raises(HttpResponseError) as info:
        client.file_shares.create(RESOURCE_GROUP, name, "nfs", {"properties": {"enabledProtocols": "NFS", "shareQuota": 100}})
    assert info.value.error.code == "FeatureNotSupportedForAccount"


def test_share_errors_surface_as_sdk_exceptions(standin):  # noqa: F811
    client = storage(standin.server)
    with pytest.raises(ResourceNotFoundError) as parent:
        client.file_shares.create(RESOURCE_GROUP, "nosuchaccount", "share", {"properties": {"shareQuota": 100}})
    assert parent.value.error.code == "ParentResourceNotFound"
    name = unique_name("shr")
    create_account(client, name)
    with pytest.raises(ResourceNotFoundError) as missing:
        client.file_shares.get(RESOURCE_GROUP, name, "nosuchshare")
    assert missing.value.error.code == "ShareNotFound"


def test_share_put_on_an_existing_share_answers_200_and_applies_it(standin):  # noqa: F811
    """file.json FileShares_Create: 201 creates, 200 "The Share is already created"."""
    client = storage(standin.server)
    name = unique_name("shr")
    create_account(client, name)
    client.file_shares.create(RESOURCE_GROUP, name, "share", {"properties": {"shareQuota": 100}})
    again = client.file_shares.create(RESOURCE_GROUP, name, "share", {"properties": {"shareQuota": 200}})
    assert again.share_quota == 200
    assert [r["status"] for r in standin.server.requests() if r["method"] == "PUT" and "/shares/" in r["path"]] == [201, 200]


# ---------------------------------------------------------------- share usage, keys, delete


def test_share_usage_is_reported_with_expand_stats_only(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("use")
    create_account(client, name)
    client.file_shares.create(RESOURCE_GROUP, name, "data", {"properties": {"shareQuota": 100, "enabledProtocols": "NFS"}})
    standin.server.set_share_usage(RESOURCE_GROUP, name, "data", 4096)
    assert client.file_shares.get(RESOURCE_GROUP, name, "data", expand="stats").share_usage_bytes == 4096
    assert client.file_shares.get(RESOURCE_GROUP, name, "data").share_usage_bytes is None


def test_list_keys_returns_the_two_keys_with_full_permission(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("key")
    create_account(client, name)
    # The result model is a MutableMapping, so its "keys" field is read by item, not attribute.
    keys = client.storage_accounts.list_keys(RESOURCE_GROUP, name, expand=None)["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert [k["permissions"] for k in keys] == ["Full", "Full"]  # KeyPermission of storage.json: Read | Full
    assert {k["value"] for k in keys} <= set(standin.server.issued_keys())


def test_list_keys_with_expand_kerb_adds_the_kerberos_keys(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("krb")
    create_account(client, name)
    keys = client.storage_accounts.list_keys(RESOURCE_GROUP, name)["keys"]  # the SDK sends $expand=kerb by default
    assert [k["keyName"] for k in keys] == ["key1", "key2", "kerb1", "kerb2"]
    assert {k["value"] for k in keys} <= set(standin.server.issued_keys())


# ---------------------------------------------------------------- networkAcls lists, V2 SKUs, data plane


SYNAPSE = "/subscriptions/a7e99807-abbf-4642-bdec-2c809a96a8bc/resourceGroups/res9407/providers/Microsoft.Synapse/workspaces/ws1"


def acls_body(**extra):
    return {"properties": {"networkAcls": {"defaultAction": "Deny", **extra}}}


def test_network_acls_keep_resource_access_and_ipv6_rules(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("acl")
    create_account(client, name)
    rules = {"resourceAccessRules": [{"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resourceId": SYNAPSE}],
             "ipv6Rules": [{"value": "2001:db8:85a3::/64", "action": "Allow"}]}
    client.storage_accounts.update(RESOURCE_GROUP, name, acls_body(**rules))
    acls = client.storage_accounts.get_properties(RESOURCE_GROUP, name).properties.network_rule_set
    assert [r.resource_id for r in acls.resource_access_rules] == [SYNAPSE]
    assert [r.ip_address_or_range for r in acls.ipv6_rules] == ["2001:db8:85a3::/64"]
    # networkAcls is replaced whole: a PATCH without the lists removes them.
    client.storage_accounts.update(RESOURCE_GROUP, name, acls_body(ipRules=[{"value": "203.0.113.10"}]))
    acls = client.storage_accounts.get_properties(RESOURCE_GROUP, name).properties.network_rule_set
    assert not acls.resource_access_rules and not acls.ipv6_rules


def test_ipv6_value_in_ip_rules_is_refused(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("ip6")
    create_account(client, name)
    with pytest.raises(HttpResponseError) as info:
        client.storage_accounts.update(RESOURCE_GROUP, name, acls_body(ipRules=[{"value": "2001:db8::/64"}]))
    assert info.value.error.code == "InvalidValuesForRequestParameters"


def test_older_api_version_neither_shows_nor_drops_lists_it_does_not_know(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("old")
    create_account(client, name)
    client.storage_accounts.update(RESOURCE_GROUP, name, acls_body(ipv6Rules=[{"value": "2001:db8::/64"}]))
    old = storage(standin.server, api_version="2019-06-01")
    old.storage_accounts.update(RESOURCE_GROUP, name, acls_body(ipRules=[{"value": "203.0.113.10"}]))
    seen_old = old.storage_accounts.get_properties(RESOURCE_GROUP, name, cls=lambda r, _d, _h: r.http_response.json())
    assert "ipv6Rules" not in seen_old["properties"]["networkAcls"]
    acls = client.storage_accounts.get_properties(RESOURCE_GROUP, name).properties.network_rule_set
    assert [r.ip_address_or_range for r in acls.ipv6_rules] == ["2001:db8::/64"]
    assert [r.ip_address_or_range for r in acls.ip_rules] == ["203.0.113.10"]


def test_v2_skus_are_file_storage_with_the_tier_of_their_name(standin):  # noqa: F811
    client = storage(standin.server)
    premium, standard = unique_name("pv2"), unique_name("sv2")
    create_account(client, premium, {**FILE_STORAGE, "sku": {"name": "PremiumV2_LRS"}})
    create_account(client, standard, {**FILE_STORAGE, "sku": {"name": "StandardV2_GRS"}})
    assert client.storage_accounts.get_properties(RESOURCE_GROUP, premium).sku.tier == "Premium"
    assert client.storage_accounts.get_properties(RESOURCE_GROUP, standard).sku.tier == "Standard"
    with pytest.raises(HttpResponseError):
        create_account(client, unique_name("bad"), {**STANDARD, "sku": {"name": "StandardV2_LRS"}})
    with pytest.raises(HttpResponseError):  # not in the schema before 2024-01-01
        create_account(storage(standin.server, api_version="2023-05-01"), unique_name("old"),
                       {**FILE_STORAGE, "sku": {"name": "PremiumV2_LRS"}})


def test_provisioned_v2_share_takes_no_access_tier_and_reports_its_provisioning(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("pv2")
    create_account(client, name, {**FILE_STORAGE, "sku": {"name": "PremiumV2_LRS"}})
    share = client.file_shares.create(RESOURCE_GROUP, name, "nfs", {"properties": {"shareQuota": 32, "enabledProtocols": "NFS"}})
    assert share.access_tier is None and share.provisioned_iops >= 3000 and share.provisioned_bandwidth_mibps >= 125
    with pytest.raises(HttpResponseError):
        client.file_shares.create(RESOURCE_GROUP, name, "tiered", {"properties": {"shareQuota": 32, "accessTier": "Premium"}})
    usage = client.file_services.get_service_usage(RESOURCE_GROUP, name)
    assert usage.properties.file_share_limits.min_provisioned_storage_gi_b == 32
    assert usage.properties.file_share_limits.max_provisioned_storage_gi_b == 262144


def share_client(server, account, share, key):
    from azure.storage.fileshare import ShareClient

    return ShareClient(f"{server.url}/file/{account}", share, credential={"account_name": account, "account_key": key},
                       connection_verify=str(server.ca_path))


def test_data_plane_lists_a_share_root_for_the_official_sdk_signing_with_the_account_key(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("dpl")
    create_account(client, name, STANDARD)
    client.file_shares.create(RESOURCE_GROUP, name, "data", {"properties": {"shareQuota": 10}})
    key = client.storage_accounts.list_keys(RESOURCE_GROUP, name, expand=None)["keys"][0]["value"]
    assert list(share_client(standin.server, name, "data", key).list_directories_and_files()) == []
    standin.server.set_share_files(RESOURCE_GROUP, name, "data", ["orders.dat"])
    assert [f["name"] for f in share_client(standin.server, name, "data", key).list_directories_and_files()] == ["orders.dat"]
    wrong = base64.b64encode(b"x" * 64).decode()
    with pytest.raises(HttpResponseError) as denied:
        list(share_client(standin.server, name, "data", wrong).list_directories_and_files())
    assert denied.value.error_code == "AuthenticationFailed"
    client.storage_accounts.update(RESOURCE_GROUP, name, acls_body())
    with pytest.raises(HttpResponseError) as firewalled:
        list(share_client(standin.server, name, "data", key).list_directories_and_files())
    assert firewalled.value.error_code == "AuthorizationFailure"


def test_delete_answers_200_then_204_and_removes_the_account(standin):  # noqa: F811
    client = storage(standin.server)
    name = unique_name("del")
    create_account(client, name)
    client.storage_accounts.delete(RESOURCE_GROUP, name)
    client.storage_accounts.delete(RESOURCE_GROUP, name)
    assert [r["status"] for r in standin.server.requests() if r["method"] == "DELETE"] == [200, 204]
    with pytest.raises(ResourceNotFoundError):
        client.storage_accounts.get_properties(RESOURCE_GROUP, name)
