"""Unit tests of the eks_network_info classification: public/private subnets, node groups."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_eks
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError

MAIN = {"RouteTableId": "rtb-main", "Associations": [{"Main": True}], "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}]}
PUBLIC = {
    "RouteTableId": "rtb-pub",
    "Associations": [{"SubnetId": "subnet-pub", "Main": False}],
    "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}],
}
NAT = {
    "RouteTableId": "rtb-nat",
    "Associations": [{"SubnetId": "subnet-nat", "Main": False}],
    "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}],
}


def subnet(subnet_id, az="us-east-2a", tags=None, map_public=False):
    return {"SubnetId": subnet_id, "AvailabilityZone": az, "VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "Tags": tags or [], "MapPublicIpOnLaunch": map_public}


def sg(group_id, **tags):
    return {"GroupId": group_id, "GroupName": group_id, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def test_route_table_is_the_explicit_association_else_main():
    tables = [MAIN, PUBLIC, NAT]
    assert aws_eks.route_table_for("subnet-pub", tables) is PUBLIC
    assert aws_eks.route_table_for("subnet-other", tables) is MAIN
    assert aws_eks.route_table_for("subnet-other", []) is None


def test_public_means_a_route_to_an_internet_gateway():
    tables = [MAIN, PUBLIC, NAT]
    assert aws_eks.is_public(subnet("subnet-pub"), tables)[0] is True
    assert aws_eks.is_public(subnet("subnet-nat"), tables)[0] is False
    # The route table wins over tags and public IP mapping.
    assert aws_eks.is_public(subnet("subnet-other", map_public=True, tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}]), tables)[0] is False
    blackhole = dict(PUBLIC, Routes=[{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "blackhole"}])
    assert aws_eks.is_public(subnet("subnet-pub"), [blackhole])[0] is False


def test_without_route_tables_tags_then_public_ip_mapping_decide():
    assert aws_eks.is_public(subnet("s", tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}]), []) == (True, "tag kubernetes.io/role/elb")
    assert aws_eks.is_public(subnet("s", tags=[{"Key": "kubernetes.io/role/internal-elb", "Value": "1"}], map_public=True), [])[0] is False
    assert aws_eks.is_public(subnet("s", map_public=True), [])[0] is True
    assert aws_eks.is_public(subnet("s"), [])[0] is False


def test_classify_subnets_sorted_by_zone_with_type():
    result = aws_eks.classify_subnets([subnet("subnet-pub", "us-east-2b"), subnet("subnet-nat", "us-east-2a")], [MAIN, PUBLIC, NAT])
    assert [(s["subnet_id"], s["type"], s["route_table_id"]) for s in result] == [("subnet-nat", "private", "rtb-nat"), ("subnet-pub", "public", "rtb-pub")]


@pytest.mark.parametrize(
    "tags, kind",
    [
        ({"alpha.eksctl.io/cluster-name": "stan", "aws:cloudformation:logical-id": "ClusterSharedNodeSecurityGroup"}, "eksctl_shared"),
        ({"eksctl.cluster.k8s.io/v1alpha1/cluster-name": "stan", "aws:cloudformation:logical-id": "ClusterSharedNodeSecurityGroup"}, "eksctl_shared"),
        ({"alpha.eksctl.io/cluster-name": "other", "aws:cloudformation:logical-id": "ClusterSharedNodeSecurityGroup"}, None),
        ({"alpha.eksctl.io/cluster-name": "stan", "alpha.eksctl.io/nodegroup-name": "ng-1", "aws:cloudformation:logical-id": "SG"}, "eksctl_nodegroup"),
        ({"alpha.eksctl.io/cluster-name": "stan", "aws:cloudformation:logical-id": "ControlPlaneSecurityGroup"}, None),
        ({"eks:cluster-name": "stan", "eks:nodegroup-name": "ng-1"}, "managed_nodegroup"),
        ({"eks:cluster-name": "other", "eks:nodegroup-name": "ng-1"}, None),
        ({"kubernetes.io/cluster/stan": "owned"}, "kubernetes_owned"),
        ({"kubernetes.io/cluster/stan": "shared"}, None),
        ({"Name": "bastion"}, None),
    ],
)
def test_node_group_kind_from_tags(tags, kind):
    assert aws_eks.node_group_kind(tags, "stan") == kind


def test_cluster_security_group_from_api_or_tag_and_never_a_node_group():
    groups = [
        sg("sg-cluster", **{"aws:eks:cluster-name": "stan", "kubernetes.io/cluster/stan": "owned"}),
        sg("sg-shared", **{"alpha.eksctl.io/cluster-name": "stan", "aws:cloudformation:logical-id": "ClusterSharedNodeSecurityGroup"}),
        sg("sg-managed", **{"eks:cluster-name": "stan", "eks:nodegroup-name": "ng"}),
        sg("sg-bastion", Name="bastion"),
    ]
    cluster_sg, nodes = aws_eks.classify_security_groups(groups, "stan")
    assert cluster_sg == "sg-cluster"
    assert [(n["group_id"], n["kind"]) for n in nodes] == [("sg-shared", "eksctl_shared"), ("sg-managed", "managed_nodegroup")]
    # The API's clusterSecurityGroupId wins over the tag.
    cluster_sg, _nodes = aws_eks.classify_security_groups(groups, "stan", "sg-from-api")
    assert cluster_sg == "sg-from-api"
    assert aws_eks.classify_security_groups(groups[3:], "stan") == (None, [])


def test_single_vpc_required():
    assert aws_eks.single_vpc("stan", [{"VpcId": "vpc-1"}, {"VpcId": "vpc-1"}]) == "vpc-1"
    with pytest.raises(ModuleError, match="^cluster_name: the subnets of cluster stan are in 2 VPCs"):
        aws_eks.single_vpc("stan", [{"VpcId": "vpc-1"}, {"VpcId": "vpc-2"}])
    with pytest.raises(ModuleError, match="0 VPCs"):
        aws_eks.single_vpc("stan", [])
