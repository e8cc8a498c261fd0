# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plumbing shared by the AWS modules: clients with retries, pagination, waiters, tags, errors.

Everything that talks to AWS goes through amazon.aws's AnsibleAWSModule (auth options,
``module_defaults: group/aws``) and AWSRetry; this file only adds what the modules of this
collection share on top of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

try:
    import botocore.exceptions
    import botocore.waiter
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    pass

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict, compare_aws_tags
from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_regions import region_problem
from ansible_collections.nats_streaming.ft.plugins.module_utils.common import make_diff

# Errors worth retrying on top of AWSRetry's throttling defaults.
RETRY_ERROR_CODES = ["IncorrectFileSystemLifeCycleState"]
# Errors a waiter retries on instead of failing (throttling and transient server errors).
WAITER_RETRY_ERRORS = [
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
]


class ModuleError(Exception):
    """A failure the user can act on; the message names the option and the fix."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def retry_decorator():
    """Retry throttling and the EFS 'busy' errors with jittered backoff (no sleep loops)."""
    return AWSRetry.jittered_backoff(retries=8, delay=2, max_delay=30, catch_extra_error_codes=RETRY_ERROR_CODES)


def aws_client(module, service):
    """A client whose calls retry when made with ``aws_retry=True``; a region unknown for the service fails first."""
    problem = region_problem(module.region, [service], "region", module.params.get("endpoint_url"))
    if problem:
        raise ModuleError(problem)
    return module.client(service, retry_decorator=retry_decorator())


def raw_client(client):
    """The botocore client behind amazon.aws's retrying wrapper (paginators and waiters need it)."""
    return getattr(client, "client", client)


def error_code(exc):
    """The AWS error code of a botocore ClientError, or None."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")


def error_message(exc):
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Message") or str(exc)


def paginate(client, operation, **params):
    """All pages of a paginated Describe/List call merged into one result, retried as a whole."""
    paginator = raw_client(client).get_paginator(operation)

    @retry_decorator()
    def _full_result():
        return paginator.paginate(**params).build_full_result()

    return _full_result()


def waiter_config(timeout, delay):
    """Delay and attempts so that a waiter waits at least ``timeout`` seconds.

    Computed here rather than with amazon.aws's ``waiter.custom_waiter_config``, which only
    exists from amazon.aws 9.0.0 on (the collection supports amazon.aws 7.0.0 and later).
    """
    timeout = max(int(timeout), 1)
    # A short timeout still gets about three tries.
    delay = min(max(int(delay), 1), max(timeout // 3, 1))
    # The first attempt is immediate: (attempts - 1) pauses must cover the timeout.
    attempts = 1 + -(-timeout // delay)
    return {"Delay": delay, "MaxAttempts": attempts}


def wait_for(client, name, operation, acceptors, timeout, delay=5, what=None, option="wait_timeout", **params):
    """Wait with a botocore waiter built from a custom model (EFS has no waiters in botocore).

    ``acceptors`` are botocore acceptor dicts; throttling errors are retried. A timeout or a
    failure state becomes a ModuleError naming ``wait_timeout``.
    """
    acceptors = list(acceptors) + [dict(state="retry", matcher="error", expected=code) for code in WAITER_RETRY_ERRORS]
    config = waiter_config(timeout, delay)
    model = botocore.waiter.WaiterModel(
        dict(
            version=2,
            waiters={
                name: dict(operation=operation, delay=config["Delay"], maxAttempts=config["MaxAttempts"], acceptors=acceptors),
            },
        )
    )
    waiter = botocore.waiter.create_waiter_with_client(name, model, raw_client(client))
    try:
        waiter.wait(**params)
    except botocore.exceptions.WaiterError as exc:
        reason = "timed out" if "Max attempts exceeded" in str(exc) else "failed"
        raise ModuleError(
            "Waiting for {} {} after about {}s: {}. Raise {} or check the resource in the AWS console.".format(
                what or name, reason, timeout, exc, option
            )
        )


def lifecycle_acceptors(list_key, target, not_found_code=None):
    """Waiter acceptors for EFS objects whose ``LifeCycleState`` moves to ``target``.

    ``target`` is ``available`` (``error`` fails the wait) or ``deleted`` (``not_found_code``
    from the describe call also counts as deleted).
    """
    path = "{}[].LifeCycleState".format(list_key)
    if target == "deleted":
        return [
            dict(state="success", matcher="error", expected=not_found_code),
            dict(state="success", matcher="pathAll", argument=path, expected="deleted"),
        ]
    return [
        dict(state="success", matcher="pathAll", argument=path, expected=target),
        dict(state="failure", matcher="pathAny", argument=path, expected="error"),
    ]


def tags_to_dict(tag_list):
    """[{'Key': k, 'Value': v}] -> {k: v} (None and [] give {})."""
    return boto3_tag_list_to_ansible_dict(tag_list or [])


def plan_tags(current, desired, purge):
    """The tags after the run and the changes that get there.

    ``desired=None`` means the user did not set tags: leave them alone. ``aws:`` tags are
    never purged. Returns ``(after, to_set, to_unset)``.
    """
    current = dict(current or {})
    if desired is None:
        return current, {}, []
    desired = dict((str(k), str(v)) for k, v in desired.items())
    to_set, to_unset = compare_aws_tags(current, desired, purge_tags=purge)
    after = dict((k, v) for k, v in current.items() if k not in to_unset)
    after.update(to_set)
    return after, to_set, sorted(to_unset)


def result_with_diff(module, before, after, **result):
    """``changed`` and ``diff`` from one comparison of the normalized before/after states."""
    result["changed"] = before != after
    if module._diff:
        result["diff"] = make_diff(before, after)
    return result


def run_aws_module(module, handler):
    """Run ``handler(module)`` and turn every known failure into fail_json without a traceback."""
    failure = None
    try:
        result = handler(module)
    except ModuleError as exc:
        # Reported outside the except block: ansible-core >= 2.19 attaches the active
        # exception's traceback to fail_json, and a mapped error is not a crash.
        failure = exc
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        module.fail_json_aws(exc, msg="AWS call failed")
    if failure is not None:
        module.fail_json(msg=failure.msg, **failure.result)
    module.exit_json(**result)


def copy_state(state):
    return copy.deepcopy(state) if state is not None else None
