"""Unit tests of the AWS connection options the AWS modules share on every amazon.aws release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_options import AWS_ARGUMENT_SPEC, with_aws_options

AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
           "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture
def clean_env(monkeypatch):
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def validated(params):
    result = ArgumentSpecValidator(with_aws_options(dict(name=dict(type="str")))).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_awx_aws_credential_injection_reaches_the_connection_options(clean_env):
    # The variables AWX's "Amazon Web Services" credential type injects, STS token included.
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_SECURITY_TOKEN", "sts-token")
    params = validated({"name": "x"})
    assert (params["access_key"], params["secret_key"], params["session_token"]) == ("AKIDEXAMPLE", "secret", "sts-token")


def test_aws_session_token_wins_over_the_legacy_security_token(clean_env):
    clean_env.setenv("AWS_SESSION_TOKEN", "new")
    clean_env.setenv("AWS_SECURITY_TOKEN", "old")
    assert validated({})["session_token"] == "new"


def test_an_option_set_in_the_task_wins_over_the_environment(clean_env):
    clean_env.setenv("AWS_REGION", "eu-west-1")
    assert validated({"aws_region": "us-east-2"})["region"] == "us-east-2"
    assert validated({})["region"] == "eu-west-1"


def test_secrets_are_marked_no_log_and_the_module_spec_wins():
    assert AWS_ARGUMENT_SPEC["secret_key"]["no_log"] and AWS_ARGUMENT_SPEC["session_token"]["no_log"]
    spec = with_aws_options(dict(region=dict(type="str", required=True)))
    assert spec["region"] == dict(type="str", required=True)
    assert "region" in AWS_ARGUMENT_SPEC and AWS_ARGUMENT_SPEC["region"].get("required") is None
