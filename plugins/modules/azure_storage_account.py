#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: azure_storage_account
short_description: Manage an Azure storage account for Azure Files, with its network rules
version_added: 0.1.0
description:
  - Create, update or delete an Azure storage account meant to hold Azure Files shares.
  - Secure by default; a new account is https only, with minimum TLS 1.2, no public blob access and, when
    O(network_rules) is given, a V(Deny) default action. Options that are not set leave an existing account alone.
  - Network rules are compared as sets (order does not matter, subnet IDs are compared without case).
    Rules are only removed when O(network_rules.purge_virtual_network_rules), O(network_rules.purge_ip_rules) or
    O(network_rules.purge_ipv6_rules) say so.
  - Azure replaces the whole network rule set on every update, so the module sends back every list Azure holds,
    including the resource access rules (for example of a Synapse workspace) that it does not manage; the diff
    shows them unchanged on both sides.
  - Check mode predicts exactly what a real run does; the diff shows a normalized view of the account.
  - Does not need the azure.azcollection collection.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
extends_documentation_fragment:
  - nats_streaming.ft.azure
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
options:
  resource_group:
    description: The resource group that holds the account. It must exist.
    type: str
    required: true
  name:
    description:
      - Name of the storage account, 3 to 24 lower-case letters and digits, unique across Azure.
      - Checked before any call to Azure.
    type: str
    required: true
  state:
    description: Whether the account should exist.
    type: str
    default: present
    choices: [present, absent]
  location:
    description:
      - Azure region, for example V(eastus). Required to create the account.
      - An existing account cannot move; a different value is an error.
    type: str
  kind:
    description:
      - The account kind. V(FileStorage) (premium files only) is used when an account is created without it.
      - The kind of an existing account cannot change; when not set it is left alone.
    type: str
    choices: [FileStorage, StorageV2]
  sku:
    description:
      - The SKU. New accounts get V(Premium_LRS) for V(FileStorage) and V(Standard_LRS) for V(StorageV2).
      - C(StandardV2_*) (HDD) and C(PremiumV2_*) (SSD) are the Files provisioned v2 billing model, for V(FileStorage)
        accounts only; they need O(api_version) 2024-01-01 or later.
      - NFS shares need a V(FileStorage) account of the Premium tier (C(Premium_*) or C(PremiumV2_*)); the tier is
        read from Azure's C(sku.tier), not from the name.
      - Only redundancy changes that Azure makes in place are accepted for an existing account.
    type: str
    choices: [Premium_LRS, Premium_ZRS, Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Standard_GZRS, Standard_RAGZRS,
              StandardV2_LRS, StandardV2_GRS, StandardV2_ZRS, StandardV2_GZRS, PremiumV2_LRS, PremiumV2_ZRS]
  https_only:
    description:
      - Require secure transfer (https for REST, encryption for SMB). New accounts get V(true).
      - NFS clients cannot mount shares while this is V(true).
    type: bool
  minimum_tls_version:
    description: The minimum TLS version clients may use. New accounts get V(TLS1_2).
    type: str
    choices: [TLS1_0, TLS1_1, TLS1_2]
  allow_blob_public_access:
    description: Allow anonymous public read access to blobs. New accounts get V(false).
    type: bool
  public_network_access:
    description:
      - Whether the account is reachable from public networks at all (the network rules then filter).
      - New accounts get V(Enabled) when not set; an existing account is left alone.
    type: str
    choices: [Enabled, Disabled, SecuredByPerimeter]
  network_rules:
    description:
      - The firewall of the account. When not set, the rules are left alone (a new account gets Azure's default,
        allow all).
    type: dict
    suboptions:
      default_action:
        description:
          - What happens to traffic that no rule allows.
          - A new account created with O(network_rules) gets V(Deny); an existing account is left alone when not set.
        type: str
        choices: [Allow, Deny]
      bypass:
        description:
          - Azure services allowed through whatever the rules say. V(None) alone means none.
          - When not set, the current bypass is left alone (new accounts get V(AzureServices)).
        type: list
        elements: str
        choices: [AzureServices, Logging, Metrics, None]
      virtual_network_subnet_ids:
        description:
          - Resource IDs of subnets allowed to reach the account; added to the current rules.
          - Azure refuses a subnet without the C(Microsoft.Storage) service endpoint, see O(network_rules.add_service_endpoints).
        type: list
        elements: str
      purge_virtual_network_rules:
        description: Remove subnet rules that are not in O(network_rules.virtual_network_subnet_ids).
        type: bool
        default: false
      ip_rules:
        description:
          - Public IPv4 addresses or CIDR ranges allowed to reach the account; added to the current rules.
          - V(x.x.x.x/32) is the same rule as V(x.x.x.x).
          - IPv6 addresses belong in O(network_rules.ipv6_rules); Azure keeps them in a separate list.
        type: list
        elements: str
      purge_ip_rules:
        description: Remove IPv4 rules that are not in O(network_rules.ip_rules).
        type: bool
        default: false
      ipv6_rules:
        description:
          - Public IPv6 addresses or CIDR ranges allowed to reach the account (Azure's C(ipv6Rules)); added to the
            current rules.
          - Needs O(api_version) 2025-01-01 or later.
        type: list
        elements: str
      purge_ipv6_rules:
        description: Remove IPv6 rules that are not in O(network_rules.ipv6_rules).
        type: bool
        default: false
      add_service_endpoints:
        description:
          - Add the C(Microsoft.Storage) service endpoint to every subnet of O(network_rules.virtual_network_subnet_ids)
            that lacks it, before the rules are written. Needs azure-mgmt-network and write access to the subnets.
          - The diff then shows the service endpoints of those subnets.
        type: bool
        default: false
  tags:
    description: Tags to set on the account; added to the current tags unless O(purge_tags=true).
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags). Without O(tags) nothing is removed.
    type: bool
    default: false
  return_keys:
    description:
      - Return the account's access keys in RV(account_keys).
      - The task must set C(no_log=true), so that every callback and log shows its result censored while the
        registered variable holds the keys; without it the module fails before calling Azure.
      - Without this option the keys are never read.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Create a premium FileStorage account reachable only from the AKS subnet
  nats_streaming.ft.azure_storage_account:
    resource_group: stan-rg
    name: stanfiles01
    location: eastus
    kind: FileStorage
    sku: Premium_LRS
    https_only: false  # NFS clients cannot use secure transfer
    network_rules:
      default_action: Deny
      bypass: [AzureServices]
      virtual_network_subnet_ids:
        - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/aks-rg/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes
      add_service_endpoints: true
    tags:
      app: nats-streaming

- name: Allow one office address and forget every other IP rule
  nats_streaming.ft.azure_storage_account:
    resource_group: stan-rg
    name: stanfiles01
    network_rules:
      ip_rules: [203.0.113.10]
      purge_ip_rules: true

- name: Read the account keys for an SMB secret (the task output is censored)
  nats_streaming.ft.azure_storage_account:
    resource_group: stan-rg
    name: stanfiles01
    return_keys: true
  register: stan_account
  no_log: true

- name: Delete the account
  nats_streaming.ft.azure_storage_account:
    resource_group: stan-rg
    name: stanfiles01
    state: absent
"""

RETURN = r"""
storage_account:
  description: Normalized view of the account after the run (empty when absent).
  returned: always
  type: dict
  contains:
    id:
      description: Resource ID.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/stan-rg/providers/Microsoft.Storage/storageAccounts/stanfiles01
    name:
      description: Account name.
      type: str
      sample: stanfiles01
    resource_group:
      description: Resource group.
      type: str
      sample: stan-rg
    location:
      description: Region, normalized.
      type: str
      sample: eastus
    kind:
      description: Account kind.
      type: str
      sample: FileStorage
    sku:
      description: SKU name.
      type: str
      sample: Premium_LRS
    https_only:
      description: Whether secure transfer is required.
      type: bool
      sample: true
    minimum_tls_version:
      description: Minimum TLS version.
      type: str
      sample: TLS1_2
    allow_blob_public_access:
      description: Whether anonymous blob access is allowed.
      type: bool
      sample: false
    public_network_access:
      description: Public network access.
      type: str
      sample: Enabled
    network_rules:
      description:
        - Network rules; lists sorted, subnet and resource IDs in lower case, bypass V([]) meaning none.
        - C(resource_access_rules) are shown but not managed by the module.
      type: dict
      sample:
        default_action: Deny
        bypass: [AzureServices]
        virtual_network_subnet_ids: [/subscriptions/0000/resourcegroups/aks-rg/providers/microsoft.network/virtualnetworks/aks-vnet/subnets/nodes]
        ip_rules: [203.0.113.10]
        ipv6_rules: ["2001:db8:85a3::/64"]
        resource_access_rules: [{resource_id: /subscriptions/0000/resourcegroups/rg/providers/microsoft.synapse/workspaces/ws1, tenant_id: "0000"}]
    tags:
      description: Tags.
      type: dict
      sample: {app: nats-streaming}
    subnet_service_endpoints:
      description: Service endpoints of the listed subnets, when O(network_rules.add_service_endpoints=true).
      type: dict
      returned: when O(network_rules.add_service_endpoints=true)
      sample: {"/subscriptions/0000/resourcegroups/aks-rg/providers/microsoft.network/virtualnetworks/aks-vnet/subnets/nodes": [Microsoft.Storage]}
    primary_endpoints:
      description: Service endpoints of the account as Azure returns them.
      type: dict
      sample: {file: "https://stanfiles01.file.core.windows.net/"}
    provisioning_state:
      description: Azure's provisioning state (not known in check mode for a new account).
      type: str
      sample: Succeeded
account_keys:
  description:
    - The two access keys (C(key1), C(key2)), for the registered variable of a C(no_log) task.
    - Kerberos keys are never returned.
  returned: when O(return_keys=true)
  type: list
  elements: dict
  contains:
    key_name:
      description: Name of the key.
      type: str
      sample: key1
    value:
      description: The key.
      type: str
    permissions:
      description: Permissions of the key.
      type: str
      sample: Full
"""

from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import AzureModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_storage import (
    KINDS,
    PUBLIC_NETWORK_ACCESS,
    SKUS,
    TLS_VERSIONS,
    run,
)

argument_spec = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    location=dict(type="str"),
    kind=dict(type="str", choices=KINDS),
    sku=dict(type="str", choices=SKUS),
    https_only=dict(type="bool"),
    minimum_tls_version=dict(type="str", choices=TLS_VERSIONS),
    allow_blob_public_access=dict(type="bool"),
    public_network_access=dict(type="str", choices=PUBLIC_NETWORK_ACCESS),
    network_rules=dict(
        type="dict",
        options=dict(
            default_action=dict(type="str", choices=["Allow", "Deny"]),
            bypass=dict(type="list", elements="str", choices=["AzureServices", "Logging", "Metrics", "None"]),
            virtual_network_subnet_ids=dict(type="list", elements="str"),
            purge_virtual_network_rules=dict(type="bool", default=False),
            ip_rules=dict(type="list", elements="str"),
            purge_ip_rules=dict(type="bool", default=False),
            ipv6_rules=dict(type="list", elements="str"),
            purge_ipv6_rules=dict(type="bool", default=False),
            add_service_endpoints=dict(type="bool", default=False),
        ),
    ),
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=False),
    return_keys=dict(type="bool", default=False, no_log=False),
)


def main():
    azure = AzureModule(argument_spec, supports_check_mode=True)
    run(azure)


if __name__ == "__main__":
    main()
