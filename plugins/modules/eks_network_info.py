#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: eks_network_info
short_description: Network facts of an Amazon EKS cluster, for placing EFS mount targets
version_added: 0.1.0
description:
  - From the name of an EKS cluster, returns its VPC (found through the cluster's subnets), the
    subnets with availability zone and public/private, the cluster security group, the node
    security groups and the region.
  - A subnet is public when its route table (explicit association, else the VPC's main table)
    routes to an internet gateway.
  - Node security groups are found by their tags - eksctl's C(ClusterSharedNodeSecurityGroup) and
    node group groups, managed node group groups (C(eks:nodegroup-name)), and groups tagged
    C(kubernetes.io/cluster/<name>=owned).
  - The cluster security group comes from C(clusterSecurityGroupId), or from the
    C(aws:eks:cluster-name) tag when the API omits it (moto does).
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
    aliases: [name]
extends_documentation_fragment:
  - nats_streaming.ft.aws
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.info_module
"""

EXAMPLES = r"""
- name: Look up the network of the cluster
  nats_streaming.ft.eks_network_info:
    cluster_name: stan
  register: eks

- name: Mount targets in the private subnets, reachable from the nodes
  nats_streaming.ft.efs_nfs_security_group:
    name: stan-efs-nfs
    vpc_id: "{{ eks.vpc_id }}"
    source_security_groups: "{{ eks.nfs_client_security_group_ids }}"
"""

RETURN = r"""
region:
  description: AWS region of the cluster.
  returned: always
  type: str
  sample: us-east-2
cluster_name:
  description: Name of the cluster.
  returned: always
  type: str
cluster_arn:
  description: ARN of the cluster.
  returned: always
  type: str
cluster_status:
  description: Status of the cluster.
  returned: always
  type: str
  sample: ACTIVE
kubernetes_version:
  description: Kubernetes version of the cluster.
  returned: always
  type: str
  sample: "1.30"
vpc_id:
  description: VPC of the cluster.
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
vpc_cidr_blocks:
  description: IPv4 CIDR blocks associated with the VPC.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.0/16"]
subnets:
  description: Subnets of the cluster, sorted by availability zone.
  returned: always
  type: list
  elements: dict
  contains:
    subnet_id:
      description: Subnet ID.
      type: str
    availability_zone:
      description: Availability zone.
      type: str
      sample: us-east-2a
    availability_zone_id:
      description: Availability zone ID.
      type: str
    cidr_block:
      description: IPv4 CIDR of the subnet.
      type: str
    vpc_id:
      description: VPC of the subnet.
      type: str
    public:
      description: Whether the subnet routes to an internet gateway.
      type: bool
    type:
      description: V(public) or V(private).
      type: str
    reason:
      description: Why the subnet was classified so.
      type: str
    route_table_id:
      description: Route table that applies to the subnet.
      type: str
subnet_ids:
  description: All subnet IDs of the cluster.
  returned: always
  type: list
  elements: str
private_subnet_ids:
  description: Private subnet IDs of the cluster (the usual home of EFS mount targets).
  returned: always
  type: list
  elements: str
public_subnet_ids:
  description: Public subnet IDs of the cluster.
  returned: always
  type: list
  elements: str
cluster_security_group_id:
  description: The security group EKS created for the cluster (null when unknown).
  returned: always
  type: str
additional_security_group_ids:
  description: Security groups given to the cluster at creation (C(resourcesVpcConfig.securityGroupIds)).
  returned: always
  type: list
  elements: str
node_security_groups:
  description: Security groups of the worker nodes, found by tags.
  returned: always
  type: list
  elements: dict
  contains:
    group_id:
      description: Security group ID.
      type: str
    group_name:
      description: Security group name.
      type: str
    kind:
      description: V(eksctl_shared), V(managed_nodegroup), V(eksctl_nodegroup) or V(kubernetes_owned).
      type: str
node_security_group_ids:
  description: IDs of RV(node_security_groups).
  returned: always
  type: list
  elements: str
nfs_client_security_group_ids:
  description: The groups to allow on NFS - the node groups, or the cluster security group when no node group is found.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_eks import run
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import with_aws_options

argument_spec = dict(
    cluster_name=dict(type="str", required=True, aliases=["name"]),
)


def main():
    module = AnsibleAWSModule(argument_spec=with_aws_options(argument_spec), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
