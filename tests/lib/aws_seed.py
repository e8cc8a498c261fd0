"""Seed an AWS emulator (moto) with what an eksctl-made EKS cluster leaves behind.

A VPC with three private subnets (one per availability zone, routed through the main route
table that has no internet gateway) and three public ones (their own route table with an
internet gateway route), the security groups EKS and eksctl create (cluster security group,
eksctl's ClusterSharedNodeSecurityGroup, a managed node group's group) with the tags they carry
in real accounts, and the EKS cluster itself.

Used by the module integration tests, the end-to-end playbook tests and the demo:

    from tests.lib.aws_seed import seed_eks_network
    net = seed_eks_network(endpoint_url="http://127.0.0.1:5000", region="us-east-2")
    net["vpc_id"], net["private_subnet_ids"], net["node_security_group_id"], ...
"""

from __future__ import annotations

import os

import boto3

DEFAULT_REGION = "us-east-2"


def _client(service: str, endpoint_url: str | None, region: str):
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_URL")
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def _tags(resource_type: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def seed_eks_network(
    endpoint_url: str | None = None,
    region: str = DEFAULT_REGION,
    cluster_name: str = "stan",
    vpc_cidr: str = "10.42.0.0/16",
    public_subnets: bool = True,
) -> dict:
    """Create the network of an eksctl-style EKS cluster in the emulator; return its ids.

    Keys: region, cluster_name, vpc_id, vpc_cidr, private_subnet_ids, public_subnet_ids,
    subnet_ids, availability_zones, cluster_security_group_id, node_security_group_id,
    managed_nodegroup_security_group_id, control_plane_security_group_id,
    unrelated_security_group_id, other_vpc_id, other_vpc_subnet_id, other_vpc_security_group_id.
    """
    ec2 = _client("ec2", endpoint_url, region)
    eks = _client("eks", endpoint_url, region)
    prefix = f"eksctl-{cluster_name}-cluster"
    eksctl_tags = {"alpha.eksctl.io/cluster-name": cluster_name, "eksctl.cluster.k8s.io/v1alpha1/cluster-name": cluster_name}

    vpc_id = ec2.create_vpc(CidrBlock=vpc_cidr, TagSpecifications=_tags("vpc", {"Name": f"{prefix}/VPC", **eksctl_tags}))["Vpc"]["VpcId"]
    zones = [f"{region}{suffix}" for suffix in "abc"]
    base = vpc_cidr.split(".")[:2]

    private, public = [], []
    for index, zone in enumerate(zones):
        subnet = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"{base[0]}.{base[1]}.{64 + index * 32}.0/19",
            AvailabilityZone=zone,
            TagSpecifications=_tags(
                "subnet",
                {"Name": f"{prefix}/SubnetPrivate{zone[-1].upper()}", "kubernetes.io/role/internal-elb": "1", **eksctl_tags},
            ),
        )
        private.append(subnet["Subnet"]["SubnetId"])
    if public_subnets:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        for index, zone in enumerate(zones):
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"{base[0]}.{base[1]}.{index * 16}.0/20",
                AvailabilityZone=zone,
                TagSpecifications=_tags(
                    "subnet", {"Name": f"{prefix}/SubnetPublic{zone[-1].upper()}", "kubernetes.io/role/elb": "1", **eksctl_tags}
                ),
            )
            subnet_id = subnet["Subnet"]["SubnetId"]
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet_id)
            public.append(subnet_id)

    def group(name: str, description: str, tags: dict[str, str]) -> str:
        return ec2.create_security_group(
            GroupName=name, Description=description, VpcId=vpc_id, TagSpecifications=_tags("security-group", tags)
        )["GroupId"]

    # What EKS creates (EKS itself may use the aws: prefix; the emulator lets us imitate it).
    cluster_sg = group(
        f"eks-cluster-sg-{cluster_name}-1234567890",
        "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
        {"aws:eks:cluster-name": cluster_name, f"kubernetes.io/cluster/{cluster_name}": "owned", "Name": f"eks-cluster-sg-{cluster_name}"},
    )
    control_plane_sg = group(
        f"{prefix}-ControlPlaneSecurityGroup",
        "Communication between the control plane and worker nodegroups",
        {"aws:cloudformation:logical-id": "ControlPlaneSecurityGroup", "Name": f"{prefix}/ControlPlaneSecurityGroup", **eksctl_tags},
    )
    node_sg = group(
        f"{prefix}-ClusterSharedNodeSecurityGroup",
        "Communication between all nodes in the cluster",
        {
            "aws:cloudformation:logical-id": "ClusterSharedNodeSecurityGroup",
            "aws:cloudformation:stack-name": prefix,
            "Name": f"{prefix}/ClusterSharedNodeSecurityGroup",
            **eksctl_tags,
        },
    )
    managed_sg = group(
        f"eks-remoteAccess-{cluster_name}-ng-1",
        "Security group for all nodes in the nodeGroup to allow SSH access",
        {"eks:cluster-name": cluster_name, "eks:nodegroup-name": "ng-1"},
    )
    # A group of somebody else in the same VPC: must not be reported as a node group.
    unrelated_sg = group("bastion", "Bastion host", {"Name": "bastion"})

    eks.create_cluster(
        name=cluster_name,
        roleArn="arn:aws:iam::123456789012:role/eksctl-cluster-ServiceRole",
        resourcesVpcConfig={"subnetIds": private + public, "securityGroupIds": [control_plane_sg]},
        tags=eksctl_tags,
    )

    # A second VPC, to provoke "subnet of another VPC" errors.
    other_vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    other_subnet = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.99.1.0/24", AvailabilityZone=zones[0])["Subnet"]["SubnetId"]
    other_sg = ec2.create_security_group(GroupName="other-vpc", Description="A group in the other VPC", VpcId=other_vpc)["GroupId"]

    return {
        "region": region,
        "cluster_name": cluster_name,
        "vpc_id": vpc_id,
        "vpc_cidr": vpc_cidr,
        "availability_zones": zones,
        "private_subnet_ids": private,
        "public_subnet_ids": public,
        "subnet_ids": private + public,
        "cluster_security_group_id": cluster_sg,
        "control_plane_security_group_id": control_plane_sg,
        "node_security_group_id": node_sg,
        "managed_nodegroup_security_group_id": managed_sg,
        "unrelated_security_group_id": unrelated_sg,
        "other_vpc_id": other_vpc,
        "other_vpc_subnet_id": other_subnet,
        "other_vpc_security_group_id": other_sg,
    }
