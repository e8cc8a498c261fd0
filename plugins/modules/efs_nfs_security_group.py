#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_nfs_security_group
short_description: Security group that lets NFS clients reach EFS mount targets
version_added: 0.1.0
description:
  - Ensures a security group in a VPC, for EFS mount targets, whose ingress allows NFS (TCP 2049)
    from the given source security groups and/or CIDRs.
  - The module manages only the rules it creates, recognised by their description (O(rule_description)).
    It adds missing rules and removes its own rules whose source is no longer listed. Rules that
    somebody else added are left untouched unless O(purge_rules=true).
  - A listed source that already has a TCP 2049 rule with another description counts as present and is left as it is.
  - Refuses C(0.0.0.0/0) and C(::/0) unless O(allow_world=true).
  - Egress rules are never changed.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  state:
    description: V(present) creates or updates the group, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the security group (unique within O(vpc_id)). Needs O(vpc_id).
      - Exactly one of O(name) and O(group_id) is required.
    type: str
  group_id:
    description:
      - ID of an existing security group (C(sg-...)). Cannot create a group.
      - Exactly one of O(name) and O(group_id) is required.
    type: str
  vpc_id:
    description: VPC of the group (the VPC of the mount targets). Required with O(name).
    type: str
  description:
    description:
      - Description of the group, used when the group is created.
      - A security group's description cannot be changed; a different value for an existing group is an error.
      - Defaults to C(NFS TCP 2049 to EFS mount targets, managed by nats_streaming.ft) on creation.
    type: str
  source_security_groups:
    description:
      - Security group IDs allowed to connect on TCP 2049, typically the node security groups of
        the cluster (see M(nats_streaming.ft.eks_network_info)).
      - Not set leaves the managed group-source rules alone; V([]) removes them.
    type: list
    elements: str
  cidrs:
    description:
      - IPv4 or IPv6 networks allowed to connect on TCP 2049.
      - Not set leaves the managed CIDR rules alone; V([]) removes them.
    type: list
    elements: str
  allow_world:
    description: Allow C(0.0.0.0/0) or C(::/0) in O(cidrs).
    type: bool
    default: false
  purge_rules:
    description:
      - Remove every ingress rule that this task does not ask for, including rules somebody else added.
    type: bool
    default: false
  rule_description:
    description:
      - Description of each rule the module adds, and the prefix that marks a rule as managed by this module.
      - Allowed characters are those of EC2 rule descriptions - letters, digits, spaces, parentheses and C(._-:/#,@[]+=&;{}!$*).
    type: str
    default: NFS for EFS (nats_streaming.ft)
notes:
  - Check mode predicts exactly what a real run does; the diff of a check run equals the diff of the real run.
extends_documentation_fragment:
  - nats_streaming.ft.aws
  - nats_streaming.ft.aws.tags
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
"""

EXAMPLES = r"""
- name: Let the cluster nodes reach the EFS mount targets
  nats_streaming.ft.efs_nfs_security_group:
    name: stan-efs-nfs
    vpc_id: "{{ eks.vpc_id }}"
    source_security_groups: "{{ eks.nfs_client_security_group_ids }}"
  register: nfs_sg

- name: Also allow the VPC network, keep the group rules as they are
  nats_streaming.ft.efs_nfs_security_group:
    name: stan-efs-nfs
    vpc_id: "{{ eks.vpc_id }}"
    cidrs: "{{ eks.vpc_cidr_blocks }}"

- name: Own the whole ingress of the group
  nats_streaming.ft.efs_nfs_security_group:
    group_id: sg-0123456789abcdef0
    source_security_groups: [sg-0aaaaaaaaaaaaaaaa]
    cidrs: []
    purge_rules: true
"""

RETURN = r"""
group_id:
  description: ID of the security group; null when check mode predicts a creation.
  returned: always
  type: str
  sample: sg-0123456789abcdef0
group_name:
  description: Name of the security group.
  returned: always
  type: str
  sample: stan-efs-nfs
vpc_id:
  description: VPC of the security group.
  returned: always
  type: str
description:
  description: Description of the security group.
  returned: always
  type: str
ingress:
  description: Every ingress rule of the group after the run (managed or not), one per source, sorted.
  returned: always
  type: list
  elements: dict
  contains:
    protocol:
      description: IP protocol (C(tcp), C(-1) for all, ...).
      type: str
      sample: tcp
    from_port:
      description: First port.
      type: int
      sample: 2049
    to_port:
      description: Last port.
      type: int
      sample: 2049
    source_type:
      description: V(group), V(ipv4), V(ipv6) or V(prefix_list).
      type: str
      sample: group
    source:
      description: Source security group ID, CIDR or prefix list ID.
      type: str
      sample: sg-0aaaaaaaaaaaaaaaa
    description:
      description: Rule description.
      type: str
      sample: NFS for EFS (nats_streaming.ft)
tags:
  description: Tags of the security group.
  returned: always
  type: dict
diff:
  description: Normalized group (name, VPC, description, ingress, tags) before and after (only with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import with_aws_options
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_security_group import run

argument_spec = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    name=dict(type="str"),
    group_id=dict(type="str"),
    vpc_id=dict(type="str"),
    description=dict(type="str"),
    source_security_groups=dict(type="list", elements="str"),
    cidrs=dict(type="list", elements="str"),
    allow_world=dict(type="bool", default=False),
    purge_rules=dict(type="bool", default=False),
    rule_description=dict(type="str", default="NFS for EFS (nats_streaming.ft)"),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)


def main():
    module = AnsibleAWSModule(
        argument_spec=with_aws_options(argument_spec),
        mutually_exclusive=[("name", "group_id")],
        required_one_of=[("name", "group_id")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
