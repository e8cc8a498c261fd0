#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: azure_file_share
short_description: Manage an Azure Files share (SMB or NFS) through Azure Resource Manager
description:
  - Create, update or delete a file share of an Azure storage account.
  - NFS shares need a Premium V(FileStorage) account; asking for NFS on any other account is an error before any
    change is made.
  - A share that holds data is not deleted unless O(force=true).
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
      - Size of the share in GiB (1 to 102400).
      - New shares get 100 GiB on a Premium account and 5120 GiB otherwise. Premium shares are at least 100 GiB.
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
        V(TransactionOptimized).
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
      - With O(state=absent), delete the share even when it holds data.
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
      description: Access tier.
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
