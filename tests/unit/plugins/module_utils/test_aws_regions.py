"""Region check of plugins/module_utils/aws_regions.py against botocore's real endpoint data."""

from __future__ import annotations

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_regions


def test_known_regions_of_every_partition_are_accepted():
    for region in ("us-east-2", "eu-west-1", "us-gov-west-1", "cn-north-1"):
        assert aws_regions.region_problem(region, ["eks", "efs", "ec2"], environ={}) is None


def test_unknown_region_names_the_option_the_services_and_close_matches():
    problem = aws_regions.region_problem("eu-wset-1", ["efs"], option="aws_region", environ={})
    assert problem.startswith("aws_region: 'eu-wset-1' is not a region that botocore ")
    assert "knows for efs" in problem and "did you mean eu-west-1" in problem


def test_unknown_region_without_close_match_lists_regions_of_its_prefix():
    problem = aws_regions.region_problem("us-nowhere-9", ["eks"], environ={})
    assert problem.startswith("region: 'us-nowhere-9'") and "us-east-1" in problem and "eu-west-1" not in problem


def test_an_explicit_endpoint_skips_the_check():
    assert aws_regions.region_problem("us-nowhere-9", ["eks"], endpoint_url="http://127.0.0.1:5000", environ={}) is None
    for name in ("AWS_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EKS"):
        assert aws_regions.region_problem("us-nowhere-9", ["eks"], environ={name: "http://127.0.0.1:5000"}) is None
    assert aws_regions.region_problem("us-nowhere-9", ["eks"], environ={"AWS_ENDPOINT_URL_EFS": "x"}) is not None


def test_no_region_is_left_to_amazon_aws():
    assert aws_regions.region_problem(None, ["eks"], environ={}) is None
