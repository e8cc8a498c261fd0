#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_filesystem
short_description: Create, update or delete an Amazon EFS file system
version_added: 0.1.0
description:
  - Ensures that one Amazon EFS file system exists (or not) with the given settings.
  - A file system is identified by O(name) or by O(id). O(name) is turned into a deterministic
    C(CreationToken), so a play that died right after C(CreateFileSystem) and is run again finds the
    file system it created instead of creating a second one. A file system whose C(Name) tag equals
    O(name) is adopted too.
  - An option that is not set leaves the current value alone.
  - Waits use botocore waiters (no sleep loops); every AWS call is retried with jittered backoff.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  state:
    description:
      - V(present) creates or updates the file system, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the file system. It becomes the C(Name) tag, and the creation token is
        C(nsft-) followed by the first 40 hex digits of the SHA-256 of the name.
      - Two file systems that match the name (by creation token or C(Name) tag) are an error; pick one with O(id).
      - Exactly one of O(name) and O(id) is required.
    type: str
  id:
    description:
      - ID of an existing file system (C(fs-...)). Cannot create a file system.
      - Exactly one of O(name) and O(id) is required.
    type: str
    aliases: [file_system_id]
  encrypted:
    description:
      - Whether the file system is encrypted at rest. Defaults to V(true) when the file system is created.
      - Fixed at creation; asking to change it is an error.
    type: bool
  kms_key_id:
    description:
      - KMS key (ID, ARN, alias name or alias ARN) that encrypts the file system. Without it AWS uses
        the C(aws/elasticfilesystem) key.
      - Requires O(encrypted) to be V(true) or unset. Fixed at creation; asking to change it is an error.
    type: str
  performance_mode:
    description:
      - Performance mode. Defaults to V(generalPurpose) when the file system is created.
      - Fixed at creation; asking to change it is an error.
    type: str
    choices: [generalPurpose, maxIO]
  throughput_mode:
    description:
      - Throughput mode. Defaults to V(bursting) when the file system is created. Can be changed later
        (C(UpdateFileSystem); AWS limits how often).
      - V(provisioned) needs O(provisioned_throughput_mibps).
    type: str
    choices: [bursting, provisioned, elastic]
  provisioned_throughput_mibps:
    description:
      - Provisioned throughput in MiB/s. Only valid with O(throughput_mode=provisioned).
    type: float
  lifecycle:
    description:
      - Lifecycle management (transitions between storage classes).
      - Each suboption that is not set keeps its current value; V(none) removes that transition.
    type: dict
    suboptions:
      transition_to_ia:
        description: Move files to Infrequent Access after this much time without access.
        type: str
        choices: [none, AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS, AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS]
      transition_to_archive:
        description: Move files to Archive after this much time without access.
        type: str
        choices: [none, AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS, AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS]
      transition_to_primary_storage_class:
        description: Move files back to primary storage on first access.
        type: str
        choices: [none, AFTER_1_ACCESS]
  policy:
    description:
      - File system policy (an IAM policy document) as JSON text or a YAML dict.
      - V({}) removes the policy. Not set leaves the policy alone.
    type: json
  force:
    description:
      - With O(state=absent), also delete the mount targets of the file system.
      - Without it, deleting a file system that still has mount targets fails.
    type: bool
    default: false
  wait:
    description:
      - Wait until the file system is available (or deleted).
      - A new file system is always waited for when O(lifecycle) or O(policy) must be applied to it.
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait.
    type: int
    default: 600
notes:
  - Backup policies are not managed by this module.
  - Check mode predicts exactly what a real run does; the diff of a check run equals the diff of the real run.
extends_documentation_fragment:
  - nats_streaming.ft.aws
  - nats_streaming.ft.aws.tags
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
"""

EXAMPLES = r"""
- name: Ensure the shared EFS file system of the STAN cluster exists
  nats_streaming.ft.efs_filesystem:
    name: stan-ft
    throughput_mode: elastic
    lifecycle:
      transition_to_ia: AFTER_30_DAYS
      transition_to_primary_storage_class: AFTER_1_ACCESS
    tags:
      app: stan
  register: efs

- name: Provisioned throughput with a customer managed key
  nats_streaming.ft.efs_filesystem:
    name: stan-ft-fast
    kms_key_id: alias/stan
    throughput_mode: provisioned
    provisioned_throughput_mibps: 64

- name: Delete the file system and its mount targets
  nats_streaming.ft.efs_filesystem:
    name: stan-ft
    state: absent
    force: true
"""

RETURN = r"""
id:
  description: ID of the file system; null when check mode predicts a creation.
  returned: always
  type: str
  sample: fs-0123456789abcdef0
arn:
  description: ARN of the file system.
  returned: always
  type: str
  sample: arn:aws:elasticfilesystem:us-east-2:123456789012:file-system/fs-0123456789abcdef0
name:
  description: Value of the C(Name) tag.
  returned: always
  type: str
  sample: stan-ft
creation_token:
  description: Creation token of the file system.
  returned: always
  type: str
  sample: nsft-6f1ed002ab5595859014ebf0951522d9a5fa3d8d
dns_name:
  description: DNS name to mount (C(<id>.efs.<region>.amazonaws.com)).
  returned: always
  type: str
  sample: fs-0123456789abcdef0.efs.us-east-2.amazonaws.com
state:
  description: Life cycle state (V(available), V(creating), ..., V(deleted) after a deletion).
  returned: always
  type: str
  sample: available
size:
  description: Metered size in bytes.
  returned: always
  type: int
  sample: 6144
number_of_mount_targets:
  description: Number of mount targets.
  returned: always
  type: int
  sample: 3
encrypted:
  description: Whether the file system is encrypted.
  returned: always
  type: bool
  sample: true
kms_key_id:
  description: KMS key of an encrypted file system.
  returned: always
  type: str
performance_mode:
  description: Performance mode.
  returned: always
  type: str
  sample: generalPurpose
throughput_mode:
  description: Throughput mode.
  returned: always
  type: str
  sample: elastic
provisioned_throughput_mibps:
  description: Provisioned throughput (null unless the mode is provisioned).
  returned: always
  type: float
lifecycle:
  description: Lifecycle transitions (null when not set).
  returned: always
  type: dict
  sample: {"transition_to_ia": "AFTER_30_DAYS", "transition_to_archive": null, "transition_to_primary_storage_class": "AFTER_1_ACCESS"}
policy:
  description: File system policy, null when there is none.
  returned: always
  type: dict
tags:
  description: Tags of the file system.
  returned: always
  type: dict
  sample: {"Name": "stan-ft", "app": "stan"}
diff:
  description: Normalized state before and after (only with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_efs import DAY_RULES, run
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import with_aws_options

argument_spec = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    name=dict(type="str"),
    id=dict(type="str", aliases=["file_system_id"]),
    encrypted=dict(type="bool"),
    kms_key_id=dict(type="str", no_log=False),
    performance_mode=dict(type="str", choices=["generalPurpose", "maxIO"]),
    throughput_mode=dict(type="str", choices=["bursting", "provisioned", "elastic"]),
    provisioned_throughput_mibps=dict(type="float"),
    lifecycle=dict(
        type="dict",
        options=dict(
            transition_to_ia=dict(type="str", choices=["none"] + DAY_RULES),
            transition_to_archive=dict(type="str", choices=["none"] + DAY_RULES),
            transition_to_primary_storage_class=dict(type="str", choices=["none", "AFTER_1_ACCESS"]),
        ),
    ),
    policy=dict(type="json"),
    force=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)


def main():
    module = AnsibleAWSModule(
        argument_spec=with_aws_options(argument_spec),
        mutually_exclusive=[("name", "id")],
        required_one_of=[("name", "id")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
