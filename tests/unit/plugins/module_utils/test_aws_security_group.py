"""Unit tests of the efs_nfs_security_group rule model: which rules are ours, what changes."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_security_group as sg
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError

MANAGED = "NFS for EFS (nats_streaming.ft)"


def rule(source, kind="group", description=MANAGED, port=2049, protocol="tcp"):
    return {"protocol": protocol, "from_port": port, "to_port": port, "source_type": kind, "source": source, "description": description}


def test_rules_from_permissions_flattens_every_source_kind():
    permissions = [
        {
            "IpProtocol": "tcp",
            "FromPort": 2049,
            "ToPort": 2049,
            "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "123", "Description": MANAGED}],
            "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
            "Ipv6Ranges": [{"CidrIpv6": "fd00::/8", "Description": "v6"}],
            "PrefixListIds": [{"PrefixListId": "pl-1"}],
        },
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "192.168.0.0/16"}]},
    ]
    rules = sg.rules_from_permissions(permissions)
    assert rule("sg-1") in rules
    assert rule("10.0.0.0/16", "ipv4", None) in rules
    assert rule("fd00::/8", "ipv6", "v6") in rules
    assert rule("pl-1", "prefix_list", None) in rules
    assert {"protocol": "-1", "from_port": None, "to_port": None, "source_type": "ipv4", "source": "192.168.0.0/16", "description": None} in rules
    assert len(rules) == 5


@pytest.mark.parametrize("item", [rule("sg-1"), rule("10.0.0.0/16", "ipv4"), rule("fd00::/8", "ipv6", None), rule("pl-1", "prefix_list", "x", 22)])
def test_permission_for_round_trips(item):
    assert sg.rules_from_permissions([sg.permission_for(item)]) == [item]


def test_normalize_cidrs_refuses_the_world_unless_allowed():
    for world in ("0.0.0.0/0", "::/0", "0:0::/0"):
        with pytest.raises(ModuleError) as err:
            sg.normalize_cidrs([world], False)
        assert err.value.msg.startswith("cidrs: ") and "allow_world" in err.value.msg
    assert sg.normalize_cidrs(["0.0.0.0/0", "::/0"], True) == (["0.0.0.0/0"], ["::/0"])


def test_normalize_cidrs_validates_and_canonicalizes():
    with pytest.raises(ModuleError, match=r"^cidrs: '10.0.0.1/16' is not a CIDR network"):
        sg.normalize_cidrs(["10.0.0.1/16"], False)
    with pytest.raises(ModuleError, match="^cidrs: 'nonsense'"):
        sg.normalize_cidrs(["nonsense"], False)
    assert sg.normalize_cidrs(["10.0.0.0/16", "10.0.0.0/16", "FD00:0::/8"], False) == (["10.0.0.0/16"], ["fd00::/8"])


def test_plan_adds_missing_rules_with_description():
    after, add, remove = sg.plan_rules([], ["sg-1"], ["10.0.0.0/16"], MANAGED, False)
    assert add == sg.sort_rules([rule("sg-1"), rule("10.0.0.0/16", "ipv4")])
    assert remove == [] and after == add


def test_plan_is_idempotent():
    current = [rule("sg-1"), rule("10.0.0.0/16", "ipv4")]
    after, add, remove = sg.plan_rules(current, ["sg-1"], ["10.0.0.0/16"], MANAGED, False)
    assert (add, remove) == ([], []) and after == sg.sort_rules(current)


def test_plan_removes_only_managed_rules_no_longer_listed():
    foreign_nfs = rule("sg-foreign", description="their nfs")
    ssh = rule("10.0.0.0/8", "ipv4", "ssh", port=22)
    undescribed = rule("172.16.0.0/12", "ipv4", None)
    current = [rule("sg-1"), rule("sg-2"), foreign_nfs, ssh, undescribed]
    after, add, remove = sg.plan_rules(current, ["sg-1"], None, MANAGED, False)
    assert remove == [rule("sg-2")] and add == []
    assert foreign_nfs in after and ssh in after and undescribed in after


def test_plan_leaves_managed_rules_of_an_unset_kind_alone():
    current = [rule("sg-1"), rule("10.0.0.0/16", "ipv4")]
    # cidrs not set: the managed CIDR rule stays even though it is not listed.
    _after, add, remove = sg.plan_rules(current, ["sg-1", "sg-2"], None, MANAGED, False)
    assert remove == [] and add == [rule("sg-2")]
    # cidrs: [] removes the managed CIDR rules.
    _after, add, remove = sg.plan_rules(current, None, [], MANAGED, False)
    assert remove == [rule("10.0.0.0/16", "ipv4")] and add == []


def test_plan_purge_rules_removes_everything_not_asked_for():
    foreign_nfs = rule("sg-foreign", description="their nfs")
    ssh = rule("10.0.0.0/8", "ipv4", "ssh", port=22)
    after, add, remove = sg.plan_rules([rule("sg-1"), foreign_nfs, ssh], ["sg-1"], None, MANAGED, True)
    assert sg.sort_rules(remove) == sg.sort_rules([foreign_nfs, ssh]) and add == []
    assert after == [rule("sg-1")]


def test_plan_listed_source_with_foreign_rule_is_satisfied():
    foreign = rule("192.168.0.0/16", "ipv4", "legacy")
    after, add, remove = sg.plan_rules([foreign], None, ["192.168.0.0/16"], MANAGED, False)
    assert (add, remove) == ([], []) and after == [foreign]


def test_plan_group_for_a_new_group_and_description_is_create_only():
    params = dict(
        name="nfs", vpc_id="vpc-1", description=None, source_security_groups=["sg-1"], cidrs=None,
        rule_description=MANAGED, purge_rules=False, allow_world=False, tags={"app": "stan"}, purge_tags=True,
    )
    after, actions = sg.plan_group(None, params)
    assert after == {"name": "nfs", "vpc_id": "vpc-1", "description": sg.DEFAULT_GROUP_DESCRIPTION, "ingress": [rule("sg-1")], "tags": {"app": "stan"}}
    assert actions["add"] == [rule("sg-1")] and actions["tags_set"] == {"app": "stan"}

    existing = dict(after, description="made by hand", tags={"app": "stan", "owner": "x"})
    after2, actions2 = sg.plan_group(existing, dict(params, tags=None))
    assert after2 == existing and actions2 == {"add": [], "remove": [], "tags_set": {}, "tags_unset": []}
    with pytest.raises(ModuleError, match="^description: a security group's description cannot be changed"):
        sg.plan_group(existing, dict(params, description="other"))


def test_normalize_group_reads_ingress_and_tags():
    group = {
        "GroupId": "sg-9",
        "GroupName": "nfs",
        "VpcId": "vpc-1",
        "Description": "d",
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "UserIdGroupPairs": [{"GroupId": "sg-1", "Description": MANAGED}]}],
        "Tags": [{"Key": "app", "Value": "stan"}],
    }
    assert sg.normalize_group(group) == {"name": "nfs", "vpc_id": "vpc-1", "description": "d", "ingress": [rule("sg-1")], "tags": {"app": "stan"}}
