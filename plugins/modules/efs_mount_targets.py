#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_mount_targets
short_description: Manage the set of mount targets of an Amazon EFS file system
version_added: 0.1.0
description:
  - Ensures that an EFS file system has a mount target in each of the given subnets, with the
    given security groups.
  - Creates the missing mount targets and updates the security groups of existing ones (compared
    as sets, so order does not matter). A mount target in a subnet that is not listed is deleted
    only with O(purge=true); without it, such mount targets are never touched.
  - Validates before changing anything; errors name the subnets involved. All subnets must be in
    one VPC (the VPC of the existing mount targets) and at most one per availability zone.
  - Waits with botocore waiters until new mount targets are available (no sleep loops).
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  file_system_id:
    description: ID of the file system (C(fs-...)).
    type: str
    required: true
    aliases: [id]
  subnets:
    description:
      - Subnet IDs that must have a mount target, at most one per availability zone.
      - Not set keeps the current subnets (only O(security_groups) is then applied to them).
      - V([]) together with O(purge=true) deletes every mount target.
    type: list
    elements: str
  security_groups:
    description:
      - Security group IDs (up to 5, same VPC) for every mount target of O(subnets).
      - Not set leaves the groups of existing mount targets alone; new mount targets then get the
        VPC's default security group, as AWS does.
    type: list
    elements: str
  purge:
    description:
      - Delete mount targets in subnets that are not listed in O(subnets).
      - A mount target in the same availability zone as a listed subnet is replaced only with O(purge=true).
    type: bool
    default: false
  wait:
    description: Wait until new mount targets are available and removed ones are gone.
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait.
    type: int
    default: 600
notes:
  - Check mode predicts exactly what a real run does; the diff of a check run equals the diff of the real run.
extends_documentation_fragment:
  - nats_streaming.ft.aws
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
"""

EXAMPLES = r"""
- name: Give the file system a mount target in each private subnet of the cluster
  nats_streaming.ft.efs_mount_targets:
    file_system_id: "{{ efs.id }}"
    subnets: "{{ eks.private_subnet_ids }}"
    security_groups:
      - "{{ nfs_sg.group_id }}"

- name: Keep exactly these mount targets, delete any other
  nats_streaming.ft.efs_mount_targets:
    file_system_id: fs-0123456789abcdef0
    subnets: [subnet-0aaa, subnet-0bbb]
    purge: true

- name: Remove every mount target
  nats_streaming.ft.efs_mount_targets:
    file_system_id: fs-0123456789abcdef0
    subnets: []
    purge: true
"""

RETURN = r"""
file_system_id:
  description: ID of the file system.
  returned: always
  type: str
  sample: fs-0123456789abcdef0
vpc_id:
  description: VPC of the mount targets (null when there are none).
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
mount_targets:
  description:
    - The mount targets after the run, sorted by subnet. In check mode, predicted new mount
      targets have no ID, IP address or state.
  returned: always
  type: list
  elements: dict
  contains:
    mount_target_id:
      description: ID of the mount target.
      type: str
      sample: fsmt-0123456789abcdef0
    subnet_id:
      description: Subnet of the mount target.
      type: str
    availability_zone:
      description: Availability zone of the subnet.
      type: str
      sample: us-east-2a
    vpc_id:
      description: VPC of the subnet.
      type: str
    ip_address:
      description: IPv4 address of the mount target.
      type: str
      sample: 10.0.1.17
    network_interface_id:
      description: Network interface of the mount target.
      type: str
    state:
      description: Life cycle state.
      type: str
      sample: available
    security_groups:
      description: Security groups, sorted.
      type: list
      elements: str
diff:
  description: Mount targets (by subnet, with zone and sorted security groups) before and after (only with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_efs_mount_targets import run
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import with_aws_options

argument_spec = dict(
    file_system_id=dict(type="str", required=True, aliases=["id"]),
    subnets=dict(type="list", elements="str"),
    security_groups=dict(type="list", elements="str"),
    purge=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)


def main():
    module = AnsibleAWSModule(argument_spec=with_aws_options(argument_spec), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
