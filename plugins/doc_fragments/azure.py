# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Authentication and cloud options shared by the Azure modules (AZURE_AUTH_ARGSPEC in
    # plugins/module_utils/azure_base.py).
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - How to authenticate to Azure.
      - V(env) uses a service principal with a client secret (O(client_id), O(secret), O(tenant)).
      - V(cli) uses the login of the Azure CLI (C(az login)).
      - V(msi) uses a managed identity; O(client_id) selects a user-assigned identity.
      - V(auto) uses the service principal when O(secret) (or O(client_id) and O(tenant)) is set,
        otherwise the Azure CLI login, then a managed identity.
      - Falls back to the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
    type: str
    default: auto
    choices: [auto, env, cli, msi]
  subscription_id:
    description:
      - The subscription that holds the resources.
      - Falls back to E(AZURE_SUBSCRIPTION_ID). With O(auth_source=cli) it defaults to the CLI's current subscription.
    type: str
  client_id:
    description:
      - The application (client) ID of the service principal, or of a user-assigned managed identity.
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - The client secret of the service principal.
      - Falls back to E(AZURE_SECRET).
    type: str
  tenant:
    description:
      - The Entra ID (Azure AD) tenant ID of the service principal.
      - Falls back to E(AZURE_TENANT).
    type: str
  cloud_environment:
    description:
      - The cloud to talk to. V(AzureCloud), V(AzureUSGovernment) and V(AzureChinaCloud) are known.
      - Any other value must be the C(https://) URL of a Resource Manager endpoint (Azure Stack Hub or
        another private cloud). Its login endpoint and token audience are read from
        C(<url>/metadata/endpoints), and Entra ID instance discovery is skipped for a login host that
        is not a public one.
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
    default: AzureCloud
  authority_url:
    description:
      - Override the token authority of the cloud, for example C(https://login.microsoftonline.com).
      - Falls back to E(AZURE_AUTHORITY_HOST), the variable azure-identity itself reads.
    type: str
  ca_bundle:
    description:
      - A PEM file of CA certificates to trust for Resource Manager, its metadata and the token authority,
        for clouds behind a private CA.
      - Falls back to E(AZURE_CA_BUNDLE), then E(REQUESTS_CA_BUNDLE).
    type: path
  api_version:
    description:
      - The Microsoft.Storage api-version of every storage request. It is pinned, so that upgrading azure-mgmt-storage
        (whose default moves to the newest version) never sends a version the cloud does not serve.
      - Set it for a cloud that serves only older versions, for example V(2019-06-01) for Azure Stack Hub (API profile
        2020-09-01-hybrid). Options whose Azure properties that version lacks then fail naming the version they need
        (IPv6 rules need 2025-01-01, the V2 SKUs 2024-01-01).
      - Falls back to E(AZURE_STORAGE_API_VERSION); also settable for a whole play with C(module_defaults) of
        C(group/nats_streaming.ft.azure).
      - Subnet requests (Microsoft.Network, only with service endpoints) use the azure-mgmt-network default.
    type: str
    default: "2025-06-01"
requirements:
  - python >= 3.8
  - azure-identity >= 1.15.0
  - azure-mgmt-storage >= 21.0.0
notes:
  - The modules do not need the azure.azcollection collection.
  - Every request goes to the Resource Manager endpoint of O(cloud_environment) and the token authority
    it names; nothing else is contacted.
"""
