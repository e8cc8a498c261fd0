#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: azure_file_share
short_description: Manage an Azure Files share (SMB or NFS) through Azure Resource Manager
version_added: 0.1.0
description:
  - Create, update or delete a file share of an Azure storage account.
  - NFS shares need a V(FileStorage) account of the Premium tier (C(Premium_*) or C(PremiumV2_*), read from Azure's
    C(sku.tier)); asking for NFS on any other account is an error before any change is made.
  - Shares of Files provisioned v2 accounts (C(StandardV2_*), C(PremiumV2_*)) have no access tier; their size limits
    are read from the account's file service usage.
  - A share is not deleted without O(force=true) unless it is provably empty, see O(force).
  - Check mode predicts exactly what a real run does; the diff shows a normalized view of the share.
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
    description: The resource group of the storage account.
    type: str
    required: true
  storage_account:
    description: Name of the storage account that holds the share. It must exist.
    type: str
    required: true
  name:
    description: Name of the share, 3 to 63 lower-case letters, digits and single hyphens.
    type: str
    required: true
  state:
    description: Whether the share should exist.
    type: str
    default: present
    choices: [present, absent]
  quota:
    description:
      - Size of the share in GiB (1 to 102400; provisioned v2 accounts up to the limit their file service reports).
      - New shares get 100 GiB on a Premium account and 5120 GiB otherwise; a new share of a provisioned v2 account
        needs it. Premium (v1) shares are at least 100 GiB.
    type: int
  protocol:
    description:
      - The protocol of a new share, V(SMB) when not set. The protocol of an existing share cannot change.
    type: str
    choices: [SMB, NFS]
  root_squash:
    description:
      - Root squashing of an NFS share. New NFS shares get V(NoRootSquash).
    type: str
    choices: [NoRootSquash, RootSquash, AllSquash]
  access_tier:
    description:
      - Access tier. Shares on Premium accounts are always V(Premium); new shares on other accounts get
        V(TransactionOptimized). Shares of provisioned v2 accounts have none.
    type: str
    choices: [TransactionOptimized, Hot, Cool, Premium]
  metadata:
    description:
      - Metadata of the share; added to the current metadata unless O(purge_metadata=true).
      - Keys are case-insensitive and shown in lower case.
    type: dict
  purge_metadata:
    description: Remove metadata keys that are not in O(metadata). Without O(metadata) nothing is removed.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete the share even when it holds data or cannot be proven empty.
      - Without it a share is deleted only when it is provably empty. Azure documents C(shareUsageBytes) as
        approximate and missing recent writes, so a usage above 0 proves data but 0 proves nothing; an SMB share is
        proven empty when the listing of its root through the file data plane (with the account key, which is never
        shown) is empty. An NFS share cannot be listed that way and always needs O(force). A listing refused by the
        account firewall or by disabled shared key access also needs O(force).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Create the NFS share for the STAN store
  nats_streaming.ft.azure_file_share:
    resource_group: stan-rg
    storage_account: stanfiles01
    name: stan-store
    protocol: NFS
    quota: 100
    root_squash: NoRootSquash
    metadata:
      app: nats_streaming

- name: Grow the share
  nats_streaming.ft.azure_file_share:
    resource_group: stan-rg
    storage_account: stanfiles01
    name: stan-store
    quota: 200

- name: Delete the share even though it holds the store
  nats_streaming.ft.azure_file_share:
    resource_group: stan-rg
    storage_account: stanfiles01
    name: stan-store
    state: absent
    force: true
"""

RETURN = r"""
share:
  description: Normalized view of the share after the run (empty when absent).
  returned: always
  type: dict
  contains:
    id:
      description: Resource ID.
      type: str
      sample: /subscriptions/0000/resourceGroups/stan-rg/providers/Microsoft.Storage/storageAccounts/stanfiles01/fileServices/default/shares/stan-store
    name:
      description: Share name.
      type: str
      sample: stan-store
    storage_account:
      description: Storage account name.
      type: str
      sample: stanfiles01
    resource_group:
      description: Resource group.
      type: str
      sample: stan-rg
    quota:
      description: Size in GiB.
      type: int
      sample: 100
    protocol:
      description: V(SMB) or V(NFS).
      type: str
      sample: NFS
    root_squash:
      description: Root squashing (NFS shares only).
      type: str
      returned: for NFS shares
      sample: NoRootSquash
    access_tier:
      description: Access tier (null for shares of provisioned v2 accounts).
      type: str
      sample: Premium
    metadata:
      description: Metadata, keys in lower case.
      type: dict
      sample: {app: nats_streaming}
    usage_bytes:
      description: Bytes stored in the share as Azure reports them (null in check mode for a new share).
      type: int
      sample: 0
"""

from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_base import AzureModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.azure_share import (
    ACCESS_TIERS,
    PROTOCOLS,
    ROOT_SQUASH,
    run,
)

argument_spec = dict(
    resource_group=dict(type="str", required=True),
    storage_account=dict(type="str", required=True),
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    quota=dict(type="int"),
    protocol=dict(type="str", choices=PROTOCOLS),
    root_squash=dict(type="str", choices=ROOT_SQUASH),
    access_tier=dict(type="str", choices=ACCESS_TIERS),
    metadata=dict(type="dict"),
    purge_metadata=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
)


def main():
    azure = AzureModule(argument_spec, supports_check_mode=True)
    run(azure)


if __name__ == "__main__":
    main()
