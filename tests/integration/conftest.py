"""Fixtures for the integration tests: an emulated EKS network in the moto server."""

from __future__ import annotations

import pytest

from tests.lib.aws_seed import seed_eks_network


@pytest.fixture
def eks_network(aws):
    """A fresh moto with an eksctl-style VPC, subnets, security groups and EKS cluster (ids as a dict)."""
    return seed_eks_network(endpoint_url=aws.url, region="us-east-2", cluster_name="stan")
