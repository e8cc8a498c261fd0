"""Unit tests of the efs_mount_targets validation and plan (desired set vs. current targets)."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_efs_mount_targets as mt
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError

SUBNETS = {
    "subnet-a": {"availability_zone": "us-east-2a", "vpc_id": "vpc-1"},
    "subnet-b": {"availability_zone": "us-east-2b", "vpc_id": "vpc-1"},
    "subnet-c": {"availability_zone": "us-east-2c", "vpc_id": "vpc-1"},
    "subnet-a2": {"availability_zone": "us-east-2a", "vpc_id": "vpc-1"},
    "subnet-x": {"availability_zone": "us-east-2b", "vpc_id": "vpc-2"},
}


def target(subnet, groups=("sg-1",), target_id=None):
    info = SUBNETS[subnet]
    return {
        "MountTargetId": target_id or "fsmt-" + subnet,
        "SubnetId": subnet,
        "VpcId": info["vpc_id"],
        "AvailabilityZoneName": info["availability_zone"],
        "LifeCycleState": "available",
        "IpAddress": "10.0.0.1",
        "SecurityGroups": list(groups),
    }


# ------------------------------------------------------------------ validation
def test_unknown_subnets_are_named():
    with pytest.raises(ModuleError) as err:
        mt.validate_subnets(["subnet-a", "subnet-zzz"], SUBNETS, [], False)
    assert err.value.msg.startswith("subnets: unknown subnet(s) subnet-zzz")


def test_duplicate_subnets_are_named():
    with pytest.raises(ModuleError, match="^subnets: subnet-a listed more than once"):
        mt.validate_subnets(["subnet-a", "subnet-a"], SUBNETS, [], False)


def test_subnets_of_two_vpcs_are_refused_with_both_named():
    with pytest.raises(ModuleError) as err:
        mt.validate_subnets(["subnet-a", "subnet-x"], SUBNETS, [], False)
    assert "vpc-1: subnet-a" in err.value.msg and "vpc-2: subnet-x" in err.value.msg


def test_two_subnets_in_one_zone_are_refused_with_both_named():
    with pytest.raises(ModuleError) as err:
        mt.validate_subnets(["subnet-a", "subnet-b", "subnet-a2"], SUBNETS, [], False)
    assert err.value.msg.startswith("subnets: at most one mount target per availability zone")
    assert "subnet-a, subnet-a2 are all in us-east-2a" in err.value.msg


def test_subnet_of_another_vpc_than_the_existing_targets():
    with pytest.raises(ModuleError) as err:
        mt.validate_subnets(["subnet-x"], SUBNETS, [target("subnet-a")], False)
    assert "subnet-x" in err.value.msg and "vpc-2" in err.value.msg and "fsmt-subnet-a" in err.value.msg
    # With purge the old targets go away first: allowed.
    assert mt.validate_subnets(["subnet-x"], SUBNETS, [target("subnet-a")], True) == "vpc-2"


def test_zone_taken_by_an_unlisted_target_needs_purge():
    with pytest.raises(ModuleError) as err:
        mt.validate_subnets(["subnet-a2"], SUBNETS, [target("subnet-a")], False)
    assert "subnet-a2 is in us-east-2a" in err.value.msg and "subnet-a" in err.value.msg and "purge" in err.value.msg
    assert mt.validate_subnets(["subnet-a2"], SUBNETS, [target("subnet-a")], True) == "vpc-1"


def test_vpc_comes_from_existing_targets_when_no_subnet_is_listed():
    assert mt.validate_subnets([], SUBNETS, [target("subnet-a")], False) == "vpc-1"
    assert mt.validate_subnets([], SUBNETS, [], False) is None


@pytest.mark.parametrize(
    "groups, info, message",
    [
        (["sg-%d" % i for i in range(6)], {}, "security_groups: a mount target takes at most 5"),
        (["sg-1", "sg-404"], {"sg-1": "vpc-1"}, "security_groups: unknown security group(s) sg-404"),
        (["sg-1", "sg-9"], {"sg-1": "vpc-1", "sg-9": "vpc-2"}, "security_groups: sg-9 is in vpc-2 not in vpc-1"),
    ],
)
def test_security_group_validation(groups, info, message):
    with pytest.raises(ModuleError) as err:
        mt.validate_security_groups(groups, info, "vpc-1")
    assert err.value.msg.startswith(message)


# ------------------------------------------------------------------ plan
def test_plan_creates_missing_targets_with_sorted_groups():
    before, after, actions = mt.plan_mount_targets([], SUBNETS, ["subnet-a", "subnet-b"], ["sg-2", "sg-1"], False)
    assert before == {"mount_targets": {}}
    assert after == {
        "mount_targets": {
            "subnet-a": {"availability_zone": "us-east-2a", "security_groups": ["sg-1", "sg-2"]},
            "subnet-b": {"availability_zone": "us-east-2b", "security_groups": ["sg-1", "sg-2"]},
        }
    }
    assert actions == {
        "create": [{"SubnetId": "subnet-a", "SecurityGroups": ["sg-1", "sg-2"]}, {"SubnetId": "subnet-b", "SecurityGroups": ["sg-1", "sg-2"]}],
        "modify": [],
        "delete": [],
    }


def test_plan_compares_groups_as_sets():
    existing = [target("subnet-a", ("sg-2", "sg-1"))]
    before, after, actions = mt.plan_mount_targets(existing, SUBNETS, ["subnet-a"], ["sg-1", "sg-2", "sg-1"], False)
    assert before == after
    assert actions == {"create": [], "modify": [], "delete": []}


def test_plan_modifies_groups_of_listed_targets_only():
    existing = [target("subnet-a"), target("subnet-c")]
    _before, after, actions = mt.plan_mount_targets(existing, SUBNETS, ["subnet-a"], ["sg-9"], False)
    assert actions["modify"] == [{"MountTargetId": "fsmt-subnet-a", "SecurityGroups": ["sg-9"]}]
    assert after["mount_targets"]["subnet-c"]["security_groups"] == ["sg-1"]


def test_plan_never_deletes_unlisted_targets_without_purge():
    existing = [target("subnet-a"), target("subnet-c")]
    before, after, actions = mt.plan_mount_targets(existing, SUBNETS, ["subnet-a"], None, False)
    assert actions == {"create": [], "modify": [], "delete": []}
    assert before == after


def test_plan_deletes_unlisted_targets_with_purge():
    existing = [target("subnet-a"), target("subnet-c")]
    _before, after, actions = mt.plan_mount_targets(existing, SUBNETS, ["subnet-a"], None, True)
    assert actions["delete"] == ["fsmt-subnet-c"]
    assert list(after["mount_targets"]) == ["subnet-a"]
    _before, after, actions = mt.plan_mount_targets(existing, SUBNETS, [], None, True)
    assert sorted(actions["delete"]) == ["fsmt-subnet-a", "fsmt-subnet-c"] and after == {"mount_targets": {}}


def test_plan_without_subnets_keeps_the_set_and_applies_groups_to_all():
    existing = [target("subnet-a"), target("subnet-b", ("sg-9",))]
    _before, after, actions = mt.plan_mount_targets(existing, SUBNETS, None, ["sg-9"], False)
    assert actions["modify"] == [{"MountTargetId": "fsmt-subnet-a", "SecurityGroups": ["sg-9"]}]
    assert not actions["create"] and not actions["delete"]
    assert sorted(after["mount_targets"]) == ["subnet-a", "subnet-b"]


def test_plan_new_targets_without_groups_get_the_vpc_default_group():
    _before, after, actions = mt.plan_mount_targets([target("subnet-a")], SUBNETS, ["subnet-a", "subnet-b"], None, False, ["sg-default"])
    assert actions["create"] == [{"SubnetId": "subnet-b", "SecurityGroups": ["sg-default"]}]
    assert after["mount_targets"]["subnet-b"]["security_groups"] == ["sg-default"]
    # The existing target keeps its own groups.
    assert after["mount_targets"]["subnet-a"]["security_groups"] == ["sg-1"]


def test_plan_replaces_a_target_in_the_same_zone_with_purge():
    _before, after, actions = mt.plan_mount_targets([target("subnet-a")], SUBNETS, ["subnet-a2"], ["sg-1"], True)
    assert actions["delete"] == ["fsmt-subnet-a"]
    assert actions["create"] == [{"SubnetId": "subnet-a2", "SecurityGroups": ["sg-1"]}]
    assert list(after["mount_targets"]) == ["subnet-a2"]


def test_predicted_results_keep_real_ids_and_mark_new_targets():
    existing = [target("subnet-a")]
    _before, after, _actions = mt.plan_mount_targets(existing, SUBNETS, ["subnet-a", "subnet-b"], ["sg-2"], False)
    results = mt.predicted_results(after, existing, "vpc-1")
    assert [r["subnet_id"] for r in results] == ["subnet-a", "subnet-b"]
    assert results[0]["mount_target_id"] == "fsmt-subnet-a" and results[0]["security_groups"] == ["sg-2"]
    assert results[1]["mount_target_id"] is None and results[1]["availability_zone"] == "us-east-2b" and results[1]["vpc_id"] == "vpc-1"
