"""Integration test of efs_access_point against a real moto_server.

The target (targets/efs_access_point/) runs create -> rerun unchanged -> check-mode diff equals
the real diff -> retag -> bad input -> someone else's access point -> delete. Here: the
emulator's state seen through boto3, the access point another tool made, and a crash right
after CreateAccessPoint.
"""

from __future__ import annotations

import pytest

from tests.integration.test_aws_modules import creation_token, efs_client, run_target

pytestmark = pytest.mark.moto


def access_points(aws, fs_id):
    return efs_client(aws).describe_access_points(FileSystemId=fs_id)["AccessPoints"]


def test_efs_access_point_create_rerun_retag_refuse_changes_and_foreign_delete(aws, eks_network):
    efs = efs_client(aws)
    # The file system the target creates by name, made here first so that another tool's
    # access point can be put on it before the target runs.
    fs_id = efs.create_file_system(CreationToken=creation_token("it-access-point"),
                                   Tags=[{"Key": "Name", "Value": "it-access-point"}])["FileSystemId"]
    foreign = efs.create_access_point(ClientToken="made-by-another-tool", FileSystemId=fs_id,
                                      Tags=[{"Key": "Name", "Value": "foreign"}])["AccessPointId"]

    result = run_target("efs_access_point", aws, eks_network, foreign={"access_point_id": foreign})

    created = result.task("Create the STAN access point")
    assert created["access_point_id"].startswith("fsap-")
    # The target deleted everything: both access points (the foreign one only with force), then the file system.
    assert efs.describe_file_systems()["FileSystems"] == []
    assert efs.describe_access_points()["AccessPoints"] == []


def test_rerun_after_crash_right_after_create_access_point_adopts_it(aws, eks_network):
    """Simulated crash: CreateAccessPoint went through with the module's token, nothing after it (no tags)."""
    from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_efs_access_point import client_token

    efs = efs_client(aws)
    fs_id = efs.create_file_system(CreationToken=creation_token("crash-safe-ap"))["FileSystemId"]
    orphan = efs.create_access_point(
        ClientToken=client_token(fs_id, "stan"), FileSystemId=fs_id,
        PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/stan", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "0750"}},
    )["AccessPointId"]

    result = run_target("efs_access_point", aws, eks_network, playbook="crash.yml", fs_id=fs_id)

    task = result.task("Ensure the access point")
    assert task["access_point_id"] == orphan and task["created_by_module"]
    assert task["changed"]  # only the tags were missing
    found = access_points(aws, fs_id)
    assert [ap["AccessPointId"] for ap in found] == [orphan]
    assert {t["Key"]: t["Value"] for t in found[0]["Tags"]} == {"Name": "stan", "app": "stan"}
