"""Unit tests of the shared AWS plumbing: tags plan, changed/diff, waiters, pagination, failures."""

from __future__ import annotations

import sys

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.nats_streaming.ft.plugins.module_utils import aws_common
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import ModuleError


class FakeModule:
    def __init__(self, diff=True, check_mode=False):
        self._diff = diff
        self.check_mode = check_mode
        self.failed = None
        self.exited = None
        self.exc_info_at_fail = None

    def fail_json(self, **kwargs):
        self.exc_info_at_fail = sys.exc_info()
        self.failed = kwargs
        raise SystemExit(1)

    def fail_json_aws(self, exc, msg=None):
        self.failed = {"msg": msg, "aws": exc}
        raise SystemExit(1)

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise SystemExit(0)


@pytest.fixture
def no_sleep(monkeypatch):
    """Waiters sleep between polls; count the sleeps instead."""
    import botocore.waiter

    sleeps = []
    monkeypatch.setattr(botocore.waiter.time, "sleep", sleeps.append)
    return sleeps


@pytest.fixture
def efs():
    return boto3.client("efs", region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="y")


# ------------------------------------------------------------------ tags
def test_plan_tags_unset_means_leave_alone():
    assert aws_common.plan_tags({"a": "1"}, None, True) == ({"a": "1"}, {}, [])


def test_plan_tags_purge_spares_aws_tags():
    after, to_set, to_unset = aws_common.plan_tags({"a": "1", "b": "2", "aws:x": "y"}, {"a": "9", "c": "3"}, True)
    assert after == {"a": "9", "c": "3", "aws:x": "y"}
    assert to_set == {"a": "9", "c": "3"} and to_unset == ["b"]


def test_plan_tags_without_purge_only_adds_and_updates():
    after, to_set, to_unset = aws_common.plan_tags({"a": "1", "b": "2"}, {"a": 1, "c": True}, False)
    # Values are compared as the strings AWS stores.
    assert to_set == {"c": "True"} and to_unset == []
    assert after == {"a": "1", "b": "2", "c": "True"}


# ------------------------------------------------------------------ changed and diff
def test_changed_and_diff_come_from_one_comparison():
    module = FakeModule(diff=True)
    result = aws_common.result_with_diff(module, {"x": 1}, {"x": 2}, id="r")
    assert result == {"id": "r", "changed": True, "diff": {"before": {"x": 1}, "after": {"x": 2}}}
    same = aws_common.result_with_diff(module, {"x": 1}, {"x": 1})
    assert same["changed"] is False and same["diff"]["before"] == same["diff"]["after"]
    created = aws_common.result_with_diff(module, None, {"x": 1})
    assert created["changed"] is True and created["diff"]["before"] == {}
    assert "diff" not in aws_common.result_with_diff(FakeModule(diff=False), None, {"x": 1})


# ------------------------------------------------------------------ failures
def test_module_error_is_reported_outside_the_exception_context():
    module = FakeModule()

    def handler(_module):
        raise ModuleError("subnets: bad", hint="x")

    with pytest.raises(SystemExit):
        aws_common.run_aws_module(module, handler)
    assert module.failed == {"msg": "subnets: bad", "hint": "x"}
    # ansible-core attaches the active exception's traceback to fail_json: there must be none.
    assert module.exc_info_at_fail == (None, None, None)


def test_unexpected_aws_errors_go_to_fail_json_aws(efs):
    module = FakeModule()
    with Stubber(efs) as stub:
        stub.add_client_error("describe_file_systems", "AccessDenied", "nope")

        def handler(_module):
            efs.describe_file_systems()

        with pytest.raises(SystemExit):
            aws_common.run_aws_module(module, handler)
    assert module.failed["msg"] == "AWS call failed" and aws_common.error_code(module.failed["aws"]) == "AccessDenied"


def test_success_exits_with_the_result():
    module = FakeModule()
    with pytest.raises(SystemExit):
        aws_common.run_aws_module(module, lambda _m: {"changed": False})
    assert module.exited == {"changed": False}


# ------------------------------------------------------------------ pagination and waiters
def test_paginate_merges_every_page(efs):
    with Stubber(efs) as stub:
        stub.add_response("describe_file_systems", {"FileSystems": [], "NextMarker": "m1"}, {})
        stub.add_response("describe_file_systems", {"FileSystems": []}, {"Marker": "m1"})
        assert aws_common.paginate(efs, "describe_file_systems") == {"FileSystems": []}
        stub.assert_no_pending_responses()


def _fs(state):
    return {
        "FileSystems": [
            {
                "OwnerId": "1",
                "CreationToken": "t",
                "FileSystemId": "fs-1",
                "CreationTime": 0,
                "LifeCycleState": state,
                "NumberOfMountTargets": 0,
                "SizeInBytes": {"Value": 0},
                "PerformanceMode": "generalPurpose",
                "Tags": [],
            }
        ]
    }


ACCEPTORS = [
    {"state": "success", "matcher": "pathAll", "argument": "FileSystems[].LifeCycleState", "expected": "available"},
    {"state": "failure", "matcher": "pathAny", "argument": "FileSystems[].LifeCycleState", "expected": "error"},
]


def test_waiter_polls_until_success_and_retries_throttling(efs, no_sleep):
    with Stubber(efs) as stub:
        stub.add_client_error("describe_file_systems", "ThrottlingException", "slow down")
        stub.add_response("describe_file_systems", _fs("creating"))
        stub.add_response("describe_file_systems", _fs("available"))
        aws_common.wait_for(efs, "Available", "DescribeFileSystems", ACCEPTORS, timeout=3, delay=1, FileSystemId="fs-1")
        stub.assert_no_pending_responses()
    assert no_sleep == [1, 1]


def test_waiter_failure_and_timeout_name_wait_timeout(efs, no_sleep):
    with Stubber(efs) as stub:
        stub.add_response("describe_file_systems", _fs("error"))
        with pytest.raises(ModuleError, match="failed.*wait_timeout"):
            aws_common.wait_for(efs, "Available", "DescribeFileSystems", ACCEPTORS, timeout=1, what="fs-1", FileSystemId="fs-1")
    with Stubber(efs) as stub:
        for _attempt in range(5):
            stub.add_response("describe_file_systems", _fs("creating"))
        with pytest.raises(ModuleError, match="^Waiting for fs-1 timed out after about 1s.*Raise wait_timeout"):
            aws_common.wait_for(efs, "Available", "DescribeFileSystems", ACCEPTORS, timeout=1, delay=1, what="fs-1", FileSystemId="fs-1")


def test_waiter_config_waits_at_least_the_timeout():
    config = aws_common.waiter_config(600, 5)
    assert config["Delay"] == 5 and (config["MaxAttempts"] - 1) * config["Delay"] >= 600
    short = aws_common.waiter_config(2, 5)
    assert short["Delay"] >= 1 and (short["MaxAttempts"] - 1) * short["Delay"] >= 2
