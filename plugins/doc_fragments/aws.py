# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The AWS connection options of the collection's AWS modules (AWS_ARGUMENT_SPEC in
    # plugins/module_utils/aws_options.py). Kept here, not taken from amazon.aws, so that the
    # documentation renders where amazon.aws is not installed (Galaxy, ansible-doc on a bare
    # controller) and matches the options on every supported amazon.aws release.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - The AWS access key ID.
      - Falls back to E(AWS_ACCESS_KEY_ID), then E(AWS_ACCESS_KEY).
      - When neither this nor O(profile) is set, boto3 looks for credentials itself (shared
        credentials file, container or instance role, web identity as used by EKS IRSA).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - The AWS secret access key that belongs to O(access_key).
      - Falls back to E(AWS_SECRET_ACCESS_KEY), then E(AWS_SECRET_KEY).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - The session token of temporary (STS) credentials.
      - Falls back to E(AWS_SESSION_TOKEN), then E(AWS_SECURITY_TOKEN), the name AWX's
        Amazon Web Services credential type injects.
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - A named profile of the AWS shared configuration and credentials files.
      - Falls back to E(AWS_PROFILE), then E(AWS_DEFAULT_PROFILE).
      - Cannot be combined with O(access_key), O(secret_key) or O(session_token).
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - Send the API calls to this URL instead of the service's public endpoint, for example a
        VPC endpoint or an AWS emulator.
      - Falls back to E(AWS_URL). boto3 itself also honours E(AWS_ENDPOINT_URL).
    type: str
    aliases: [aws_endpoint_url]
  validate_certs:
    description:
      - Verify the TLS certificate of the endpoint. Only turn this off against a test endpoint.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - A PEM file of CA certificates to trust for the endpoint.
      - Falls back to E(AWS_CA_BUNDLE).
    type: path
  aws_config:
    description:
      - Extra botocore client settings, passed as C(botocore.config.Config) parameters, for example
        C(retries) with C(max_attempts).
    type: dict
  debug_botocore_endpoint_logs:
    description:
      - Log every API operation botocore calls and return the list as C(resource_actions).
      - Falls back to E(ANSIBLE_DEBUG_BOTOCORE_LOGS).
    type: bool
    default: false
  region:
    description:
      - The AWS region, for example C(us-east-2).
      - Falls back to E(AWS_REGION), then E(AWS_DEFAULT_REGION).
    type: str
    aliases: [aws_region]
requirements:
  - python >= 3.8
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
notes:
  - The module uses the connection machinery of the C(amazon.aws) collection, which must be
    installed where the module runs (it is listed as a dependency of this collection).
  - Credentials set as options or environment variables take precedence over a profile and over
    the credential chain of boto3.
  - The options can be set once for every AWS module of this collection with
    C(module_defaults) for the group C(group/nats_streaming.ft.aws).
"""

    TAGS = r"""
options:
  tags:
    description:
      - Tags of the resource, as a dictionary of keys and values.
      - Leaving this unset leaves the tags alone. With O(purge_tags=true) (the default), tags not
        listed here are removed; C(aws:) tags are never removed.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove the tags that are not in O(tags). Has no effect while O(tags) is not set.
    type: bool
    default: true
"""
