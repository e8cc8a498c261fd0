# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of this collection's AWS modules, the same on every amazon.aws release.

AnsibleAWSModule adds amazon.aws's own connection options and lets a module's argument spec
override them. Their aliases and environment variables changed between amazon.aws 7 and 9
(the ``ec2_*`` aliases went away, and ``session_token`` stopped reading AWS_SECURITY_TOKEN), so
the modules pass this spec, which ``plugins/doc_fragments/aws.py`` documents, and behave and
document the same way on every supported amazon.aws release.

AWS_SECURITY_TOKEN stays a fallback of ``session_token`` because AWX's "Amazon Web Services"
credential type injects temporary (STS) credentials under that name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

AWS_ARGUMENT_SPEC = dict(
    access_key=dict(
        type="str",
        aliases=["aws_access_key_id", "aws_access_key"],
        fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]),
        no_log=False,
    ),
    secret_key=dict(
        type="str",
        aliases=["aws_secret_access_key", "aws_secret_key"],
        fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]),
        no_log=True,
    ),
    session_token=dict(
        type="str",
        aliases=["aws_session_token"],
        fallback=(env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]),
        no_log=True,
    ),
    profile=dict(
        type="str",
        aliases=["aws_profile"],
        fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
    ),
    endpoint_url=dict(
        type="str",
        aliases=["aws_endpoint_url"],
        fallback=(env_fallback, ["AWS_URL"]),
    ),
    validate_certs=dict(type="bool", default=True),
    aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
    aws_config=dict(type="dict"),
    debug_botocore_endpoint_logs=dict(
        type="bool",
        default=False,
        fallback=(env_fallback, ["ANSIBLE_DEBUG_BOTOCORE_LOGS"]),
    ),
    region=dict(
        type="str",
        aliases=["aws_region"],
        fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"]),
    ),
)


def with_aws_options(argument_spec):
    """The module's own argument spec on top of the AWS connection options."""
    spec = dict(AWS_ARGUMENT_SPEC)
    spec.update(argument_spec)
    return spec
