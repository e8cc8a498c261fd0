# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the eks_network_info module: classification (pure, unit-tested) and lookups."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError, aws_client, error_code, paginate, run_aws_module, tags_to_dict

try:
    import botocore.exceptions
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    pass

ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"
# eksctl tags its CloudFormation resources with the cluster name under one of these keys.
EKSCTL_CLUSTER_TAGS = ("alpha.eksctl.io/cluster-name", "eksctl.cluster.k8s.io/v1alpha1/cluster-name")
CFN_LOGICAL_ID = "aws:cloudformation:logical-id"


def route_table_for(subnet_id, route_tables):
    """The route table that applies to a subnet: its explicit association, else the VPC's main table."""
    main = None
    for table in route_tables:
        for assoc in table.get("Associations") or []:
            if assoc.get("SubnetId") == subnet_id:
                return table
            if assoc.get("Main"):
                main = table
    return main


def is_public(subnet, route_tables):
    """(public, reason). A subnet is public when its route table sends traffic to an internet gateway.

    Without route tables, the Kubernetes ELB role tags decide, then MapPublicIpOnLaunch.
    """
    table = route_table_for(subnet["SubnetId"], route_tables)
    if table is not None:
        for route in table.get("Routes") or []:
            if (route.get("GatewayId") or "").startswith("igw-") and route.get("State", "active") == "active":
                return True, "route to {} in {}".format(route["GatewayId"], table["RouteTableId"])
        return False, "no internet gateway route in {}".format(table["RouteTableId"])
    tags = tags_to_dict(subnet.get("Tags"))
    if ELB_ROLE_TAG in tags:
        return True, "tag {}".format(ELB_ROLE_TAG)
    if INTERNAL_ELB_ROLE_TAG in tags:
        return False, "tag {}".format(INTERNAL_ELB_ROLE_TAG)
    if subnet.get("MapPublicIpOnLaunch"):
        return True, "MapPublicIpOnLaunch"
    return False, "no route table, tag or public IP mapping"


def classify_subnets(subnets, route_tables):
    result = []
    for subnet in sorted(subnets, key=lambda s: (s.get("AvailabilityZone") or "", s["SubnetId"])):
        public, reason = is_public(subnet, route_tables)
        table = route_table_for(subnet["SubnetId"], route_tables)
        result.append(
            dict(
                subnet_id=subnet["SubnetId"],
                availability_zone=subnet.get("AvailabilityZone"),
                availability_zone_id=subnet.get("AvailabilityZoneId"),
                cidr_block=subnet.get("CidrBlock"),
                vpc_id=subnet.get("VpcId"),
                public=public,
                type="public" if public else "private",
                reason=reason,
                route_table_id=table.get("RouteTableId") if table else None,
            )
        )
    return result


def node_group_kind(tags, cluster_name):
    """What an EC2 security group is to the cluster's nodes, from its tags (None: not a node group)."""
    eksctl_cluster = any(tags.get(key) == cluster_name for key in EKSCTL_CLUSTER_TAGS)
    if eksctl_cluster and tags.get(CFN_LOGICAL_ID) == "ClusterSharedNodeSecurityGroup":
        return "eksctl_shared"
    if eksctl_cluster and tags.get("alpha.eksctl.io/nodegroup-name"):
        return "eksctl_nodegroup"
    if tags.get("eks:nodegroup-name") and tags.get("eks:cluster-name") == cluster_name:
        return "managed_nodegroup"
    if tags.get("kubernetes.io/cluster/{}".format(cluster_name)) == "owned" and not tags.get("aws:eks:cluster-name"):
        return "kubernetes_owned"
    return None


def classify_security_groups(groups, cluster_name, cluster_sg_id=None):
    """(cluster security group id, node security groups) from the VPC's groups and their tags.

    EKS creates the cluster security group and tags it ``aws:eks:cluster-name``; the API returns
    its id as ``clusterSecurityGroupId`` (moto does not), so the tag is the fallback.
    """
    if not cluster_sg_id:
        tagged = sorted(g["GroupId"] for g in groups if tags_to_dict(g.get("Tags")).get("aws:eks:cluster-name") == cluster_name)
        cluster_sg_id = tagged[0] if tagged else None
    nodes = []
    for group in groups:
        if group["GroupId"] == cluster_sg_id:
            continue
        kind = node_group_kind(tags_to_dict(group.get("Tags")), cluster_name)
        if kind:
            nodes.append(dict(group_id=group["GroupId"], group_name=group.get("GroupName"), kind=kind))
    order = dict(eksctl_shared=0, managed_nodegroup=1, eksctl_nodegroup=2, kubernetes_owned=3)
    return cluster_sg_id, sorted(nodes, key=lambda n: (order[n["kind"]], n["group_id"]))


def single_vpc(cluster_name, subnets):
    vpcs = sorted(set(s["VpcId"] for s in subnets))
    if len(vpcs) != 1:
        raise ModuleError(
            "cluster_name: the subnets of cluster {} are in {} VPCs ({}); expected exactly one.".format(cluster_name, len(vpcs), ", ".join(vpcs) or "none")
        )
    return vpcs[0]


def describe_network(module):
    name = module.params["cluster_name"]
    eks = aws_client(module, "eks")
    ec2 = aws_client(module, "ec2")
    try:
        cluster = eks.describe_cluster(name=name, aws_retry=True)["cluster"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise ModuleError("cluster_name: no EKS cluster named {!r} in region {}. Check the name and the region.".format(name, module.region))
        raise
    vpc_config = cluster.get("resourcesVpcConfig") or {}
    subnet_ids = vpc_config.get("subnetIds") or []
    subnets = paginate(ec2, "describe_subnets", Filters=[dict(Name="subnet-id", Values=subnet_ids)]).get("Subnets", []) if subnet_ids else []
    missing = sorted(set(subnet_ids) - set(s["SubnetId"] for s in subnets))
    if missing:
        raise ModuleError("cluster_name: cluster {} refers to subnet(s) {} that EC2 does not know.".format(name, ", ".join(missing)))
    # moto omits resourcesVpcConfig.vpcId: the subnets tell the VPC.
    vpc_id = vpc_config.get("vpcId") or single_vpc(name, subnets)
    vpc_filter = [dict(Name="vpc-id", Values=[vpc_id])]
    vpcs = paginate(ec2, "describe_vpcs", Filters=vpc_filter).get("Vpcs", [])
    route_tables = paginate(ec2, "describe_route_tables", Filters=vpc_filter).get("RouteTables", [])
    groups = paginate(ec2, "describe_security_groups", Filters=vpc_filter).get("SecurityGroups", [])

    classified = classify_subnets(subnets, route_tables)
    cluster_sg, nodes = classify_security_groups(groups, name, vpc_config.get("clusterSecurityGroupId"))
    cidrs = []
    for vpc in vpcs:
        for assoc in vpc.get("CidrBlockAssociationSet") or [dict(CidrBlock=vpc.get("CidrBlock"))]:
            if assoc.get("CidrBlock") and assoc["CidrBlock"] not in cidrs and (assoc.get("CidrBlockState") or {}).get("State", "associated") == "associated":
                cidrs.append(assoc["CidrBlock"])
    node_ids = [n["group_id"] for n in nodes]
    return dict(
        changed=False,
        region=module.region,
        cluster_name=cluster.get("name"),
        cluster_arn=cluster.get("arn"),
        cluster_status=cluster.get("status"),
        kubernetes_version=cluster.get("version"),
        vpc_id=vpc_id,
        vpc_cidr_blocks=cidrs,
        subnets=classified,
        subnet_ids=[s["subnet_id"] for s in classified],
        private_subnet_ids=[s["subnet_id"] for s in classified if not s["public"]],
        public_subnet_ids=[s["subnet_id"] for s in classified if s["public"]],
        cluster_security_group_id=cluster_sg,
        additional_security_group_ids=sorted(vpc_config.get("securityGroupIds") or []),
        node_security_groups=nodes,
        node_security_group_ids=node_ids,
        nfs_client_security_group_ids=node_ids or ([cluster_sg] if cluster_sg else []),
    )


def run(module):
    """Entry point of nats_streaming.ft.eks_network_info."""
    run_aws_module(module, describe_network)
