"""Unit tests of the efs_filesystem decisions: identity, create/update plan, diff state."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_efs
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError

NO_LIFECYCLE = {"transition_to_ia": None, "transition_to_archive": None, "transition_to_primary_storage_class": None}


def params(**overrides):
    base = dict(
        state="present",
        name="stan",
        id=None,
        encrypted=None,
        kms_key_id=None,
        performance_mode=None,
        throughput_mode=None,
        provisioned_throughput_mibps=None,
        lifecycle=None,
        policy=None,
        force=False,
        wait=True,
        wait_timeout=600,
        tags=None,
        purge_tags=True,
    )
    base.update(overrides)
    return base


def described(**overrides):
    fs = {
        "FileSystemId": "fs-1",
        "FileSystemArn": "arn:aws:elasticfilesystem:us-east-2:123456789012:file-system/fs-1",
        "CreationToken": aws_efs.creation_token("stan"),
        "LifeCycleState": "available",
        "Encrypted": True,
        "KmsKeyId": "arn:aws:kms:us-east-2:123456789012:key/1111-2222",
        "PerformanceMode": "generalPurpose",
        "ThroughputMode": "bursting",
        "SizeInBytes": {"Value": 6144},
        "NumberOfMountTargets": 0,
        "Tags": [{"Key": "Name", "Value": "stan"}, {"Key": "app", "Value": "stan"}],
    }
    fs.update(overrides)
    return fs


def state(**overrides):
    fs = described(**overrides.pop("fs", {}))
    result = aws_efs.normalize_file_system(fs, overrides.pop("lifecycle", None), overrides.pop("policy", None))
    result.update(overrides)
    return result


# ------------------------------------------------------------------ identity
def test_creation_token_is_deterministic_and_fits_aws_limit():
    token = aws_efs.creation_token("stan")
    assert token == aws_efs.creation_token("stan")
    assert token != aws_efs.creation_token("stan2")
    assert token.startswith("nsft-") and len(token) <= 64


def test_find_matches_by_token_or_name_tag_and_skips_deleted():
    token = aws_efs.creation_token("stan")
    by_token = {"FileSystemId": "fs-a", "CreationToken": token, "Tags": [], "LifeCycleState": "available"}
    by_tag = {"FileSystemId": "fs-b", "CreationToken": "console-123", "Tags": [{"Key": "Name", "Value": "stan"}], "LifeCycleState": "available"}
    deleted = {"FileSystemId": "fs-c", "CreationToken": token, "Tags": [], "LifeCycleState": "deleted"}
    other = {"FileSystemId": "fs-d", "CreationToken": "x", "Tags": [{"Key": "Name", "Value": "other"}], "LifeCycleState": "available"}
    assert [fs["FileSystemId"] for fs in aws_efs.find_matches([by_token, deleted, other], "stan")] == ["fs-a"]
    assert [fs["FileSystemId"] for fs in aws_efs.find_matches([by_token, by_tag, other], "stan")] == ["fs-a", "fs-b"]


# ------------------------------------------------------------------ normalization
def test_normalize_ignores_provisioned_throughput_unless_provisioned():
    assert state(fs={"ProvisionedThroughputInMibps": 10})["provisioned_throughput_mibps"] is None
    provisioned = state(fs={"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 10})
    assert provisioned["provisioned_throughput_mibps"] == 10.0


def test_normalize_reads_lifecycle_policy_and_tags():
    st = state(lifecycle=[{"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}], policy='{"Version": "2012-10-17"}')
    assert st["lifecycle"] == {**NO_LIFECYCLE, "transition_to_ia": "AFTER_30_DAYS", "transition_to_primary_storage_class": "AFTER_1_ACCESS"}
    assert st["policy"] == {"Version": "2012-10-17"}
    assert st["tags"] == {"Name": "stan", "app": "stan"}
    assert st["name"] == "stan"


def test_lifecycle_to_api_keeps_aws_order_and_drops_unset():
    lifecycle = {"transition_to_primary_storage_class": "AFTER_1_ACCESS", "transition_to_ia": "AFTER_7_DAYS", "transition_to_archive": None}
    assert aws_efs.lifecycle_to_api(lifecycle) == [{"TransitionToIA": "AFTER_7_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]


def test_parse_policy_accepts_text_or_dict_and_rejects_bad_json():
    assert aws_efs.parse_policy('{"a": 1}') == {"a": 1}
    assert aws_efs.parse_policy({"a": 1}) == {"a": 1}
    assert aws_efs.parse_policy("{}") == {}
    assert aws_efs.parse_policy(None) is None
    with pytest.raises(ModuleError, match="^policy is not valid JSON"):
        aws_efs.parse_policy("{oops")
    with pytest.raises(ModuleError, match="^policy must be a JSON object"):
        aws_efs.parse_policy("[1]")


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "overrides, option",
    [
        ({"kms_key_id": "k", "encrypted": False}, "kms_key_id"),
        ({"provisioned_throughput_mibps": 10.0, "throughput_mode": "elastic"}, "provisioned_throughput_mibps"),
        ({"provisioned_throughput_mibps": 0.0, "throughput_mode": "provisioned"}, "provisioned_throughput_mibps"),
        ({"wait_timeout": 0}, "wait_timeout"),
        ({"name": " "}, "name"),
    ],
)
def test_validate_params_names_the_option(overrides, option):
    with pytest.raises(ModuleError) as err:
        aws_efs.validate_params(params(**overrides))
    assert err.value.msg.startswith(option)


def test_kms_key_comparison():
    arn = "arn:aws:kms:us-east-2:123456789012:key/1111-2222"
    assert aws_efs.kms_key_matches(arn, "1111-2222") is True
    assert aws_efs.kms_key_matches(arn, arn) is True
    assert aws_efs.kms_key_matches(arn, "3333") is False
    assert aws_efs.kms_key_matches(arn, "arn:aws:kms:us-east-2:123456789012:key/3333") is False
    assert aws_efs.kms_key_matches(arn, "alias/stan") is None
    assert aws_efs.kms_key_matches(None, "1111-2222") is False
    assert aws_efs.kms_key_matches(arn, None) is True


# ------------------------------------------------------------------ create
def test_plan_create_defaults_and_name_tag():
    lifecycle = {"transition_to_ia": "AFTER_7_DAYS", "transition_to_archive": None, "transition_to_primary_storage_class": "none"}
    after = aws_efs.plan_create(params(tags={"app": "stan"}, lifecycle=lifecycle))
    assert after == {
        "name": "stan",
        "creation_token": aws_efs.creation_token("stan"),
        "encrypted": True,
        "kms_key_id": None,
        "performance_mode": "generalPurpose",
        "throughput_mode": "bursting",
        "provisioned_throughput_mibps": None,
        "lifecycle": {**NO_LIFECYCLE, "transition_to_ia": "AFTER_7_DAYS"},
        "policy": None,
        "tags": {"app": "stan", "Name": "stan"},
    }


def test_plan_create_provisioned_needs_throughput():
    with pytest.raises(ModuleError, match="provisioned_throughput_mibps"):
        aws_efs.plan_create(params(throughput_mode="provisioned"))
    after = aws_efs.plan_create(params(throughput_mode="provisioned", provisioned_throughput_mibps=64))
    assert (after["throughput_mode"], after["provisioned_throughput_mibps"]) == ("provisioned", 64.0)


def test_plan_create_throughput_without_mode_is_refused():
    with pytest.raises(ModuleError, match="^provisioned_throughput_mibps is only valid"):
        aws_efs.plan_create(params(provisioned_throughput_mibps=64))


# ------------------------------------------------------------------ update
def test_plan_update_without_options_changes_nothing():
    before = state()
    after, actions = aws_efs.plan_update(before, params(name=None, id="fs-1"))
    assert after == before and actions == {}


def test_plan_update_same_values_is_a_noop():
    before = state(lifecycle=[{"TransitionToIA": "AFTER_30_DAYS"}], policy='{"b": [1, 2], "a": {"x": 1}}')
    same = params(
        tags={"app": "stan"},
        lifecycle={"transition_to_ia": "AFTER_30_DAYS"},
        policy='{"a": {"x": 1}, "b": [1, 2]}',
        encrypted=True,
        performance_mode="generalPurpose",
        throughput_mode="bursting",
    )
    after, actions = aws_efs.plan_update(before, same)
    assert after == before and actions == {}


@pytest.mark.parametrize("option, value", [("performance_mode", "maxIO"), ("encrypted", False)])
def test_plan_update_refuses_create_only_changes(option, value):
    with pytest.raises(ModuleError) as err:
        aws_efs.plan_update(state(), params(**{option: value}), fs_id="fs-1")
    assert err.value.msg.startswith(option + " is fixed")
    assert "fs-1" in err.value.msg


def test_plan_update_refuses_another_kms_key():
    with pytest.raises(ModuleError, match="^kms_key_id is fixed"):
        aws_efs.plan_update(state(), params(kms_key_id="other"), kms_matches=False)


def test_plan_update_throughput_decisions():
    bursting = state()
    after, actions = aws_efs.plan_update(bursting, params(throughput_mode="provisioned", provisioned_throughput_mibps=64))
    assert actions == {"throughput": {"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 64.0}}
    assert (after["throughput_mode"], after["provisioned_throughput_mibps"]) == ("provisioned", 64.0)

    provisioned = state(fs={"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 64.0})
    # Only the MiB/s: stays provisioned.
    _after, actions = aws_efs.plan_update(provisioned, params(provisioned_throughput_mibps=128))
    assert actions == {"throughput": {"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 128.0}}
    # Mode alone keeps the current MiB/s: nothing to do.
    assert aws_efs.plan_update(provisioned, params(throughput_mode="provisioned"))[1] == {}
    # Leaving provisioned drops the MiB/s.
    after, actions = aws_efs.plan_update(provisioned, params(throughput_mode="elastic"))
    assert actions == {"throughput": {"ThroughputMode": "elastic"}}
    assert after["provisioned_throughput_mibps"] is None

    with pytest.raises(ModuleError, match="^throughput_mode: provisioned needs provisioned_throughput_mibps"):
        aws_efs.plan_update(bursting, params(throughput_mode="provisioned"))
    with pytest.raises(ModuleError, match="^provisioned_throughput_mibps is only valid"):
        aws_efs.plan_update(bursting, params(provisioned_throughput_mibps=10))


def test_plan_update_lifecycle_merges_and_none_removes():
    before = state(lifecycle=[{"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToArchive": "AFTER_90_DAYS"}])
    lifecycle = {"transition_to_ia": "none", "transition_to_archive": None, "transition_to_primary_storage_class": "AFTER_1_ACCESS"}
    after, actions = aws_efs.plan_update(before, params(lifecycle=lifecycle))
    assert after["lifecycle"] == {"transition_to_ia": None, "transition_to_archive": "AFTER_90_DAYS", "transition_to_primary_storage_class": "AFTER_1_ACCESS"}
    assert actions == {"lifecycle": [{"TransitionToArchive": "AFTER_90_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]}


def test_plan_update_policy_set_and_remove():
    after, actions = aws_efs.plan_update(state(), params(policy='{"Version": "2012-10-17"}'))
    assert actions == {"policy": {"Version": "2012-10-17"}} and after["policy"] == {"Version": "2012-10-17"}
    with_policy = state(policy='{"Version": "2012-10-17"}')
    after, actions = aws_efs.plan_update(with_policy, params(policy="{}"))
    assert actions == {"policy": None} and after["policy"] is None
    # Removing a policy that does not exist is no change.
    assert aws_efs.plan_update(state(), params(policy="{}"))[1] == {}


def test_plan_update_tags_purge_keeps_name_and_unset_tags_only_enforce_name():
    before = state(fs={"Tags": [{"Key": "Name", "Value": "stan"}, {"Key": "old", "Value": "1"}, {"Key": "aws:x", "Value": "y"}]})
    after, actions = aws_efs.plan_update(before, params(tags={"new": "2"}))
    assert after["tags"] == {"Name": "stan", "new": "2", "aws:x": "y"}
    assert actions == {"tags_set": {"new": "2"}, "tags_unset": ["old"]}
    # No tags option: only Name is enforced, nothing purged.
    unnamed = state(fs={"Tags": [{"Key": "old", "Value": "1"}]})
    after, actions = aws_efs.plan_update(unnamed, params())
    assert after["tags"] == {"old": "1", "Name": "stan"} and after["name"] == "stan"
    assert actions == {"tags_set": {"Name": "stan"}}
    # purge_tags false keeps unknown tags.
    after, actions = aws_efs.plan_update(before, params(tags={"new": "2"}, purge_tags=False))
    assert "old" in after["tags"] and "tags_unset" not in actions


def test_result_fields_dns_name_and_check_mode_create():
    st = state()
    result = aws_efs.result_fields(st, described(), "us-east-2")
    assert result["dns_name"] == "fs-1.efs.us-east-2.amazonaws.com"
    assert result["size"] == 6144 and result["id"] == "fs-1" and result["state"] == "available"
    predicted = aws_efs.result_fields(aws_efs.plan_create(params()), None, "us-east-2")
    assert predicted["id"] is None and predicted["dns_name"] is None and predicted["tags"] == {"Name": "stan"}
