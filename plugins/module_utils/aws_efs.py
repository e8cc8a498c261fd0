# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the efs_filesystem module: lookup, plan (pure, unit-tested) and apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import (
    ModuleError,
    aws_client,
    error_code,
    error_message,
    lifecycle_acceptors,
    paginate,
    plan_tags,
    result_with_diff,
    run_aws_module,
    tags_to_dict,
    wait_for,
)

try:
    import botocore.exceptions
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    pass

TOKEN_PREFIX = "nsft-"
# (option name, LifecyclePolicies key): the order is the order sent to AWS.
LIFECYCLE_KEYS = (
    ("transition_to_ia", "TransitionToIA"),
    ("transition_to_archive", "TransitionToArchive"),
    ("transition_to_primary_storage_class", "TransitionToPrimaryStorageClass"),
)
DAY_RULES = [
    "AFTER_1_DAY",
    "AFTER_7_DAYS",
    "AFTER_14_DAYS",
    "AFTER_30_DAYS",
    "AFTER_60_DAYS",
    "AFTER_90_DAYS",
    "AFTER_180_DAYS",
    "AFTER_270_DAYS",
    "AFTER_365_DAYS",
]
CREATE_DEFAULTS = dict(encrypted=True, performance_mode="generalPurpose", throughput_mode="bursting")
GONE_STATES = ("deleting", "deleted")


def creation_token(name):
    """The CreationToken derived from ``name``: the same name always gives the same token.

    A rerun after a play died right after CreateFileSystem finds the file system by this token
    (or AWS answers FileSystemAlreadyExists) instead of creating a second one.
    """
    return TOKEN_PREFIX + hashlib.sha256(to_bytes(name, errors="surrogate_or_strict")).hexdigest()[:40]


def dns_name(fs_id, region):
    if not fs_id or not region:
        return None
    return "{}.efs.{}.amazonaws.com".format(fs_id, region)


def lifecycle_from_api(policies):
    """LifecyclePolicies list -> {option: value or None} with every key present."""
    result = dict((opt, None) for opt, _key in LIFECYCLE_KEYS)
    for policy in policies or []:
        for opt, key in LIFECYCLE_KEYS:
            if policy.get(key):
                result[opt] = policy[key]
    return result


def lifecycle_to_api(lifecycle):
    return [{key: lifecycle[opt]} for opt, key in LIFECYCLE_KEYS if lifecycle.get(opt)]


def parse_policy(value, option="policy"):
    """The file system policy as a dict; ``{}`` (or an empty string) means 'no policy'."""
    if value is None:
        return None
    if isinstance(value, dict):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ModuleError("{} is not valid JSON ({}). Pass a JSON document or a YAML dict.".format(option, exc))
    if not isinstance(parsed, dict):
        raise ModuleError("{} must be a JSON object (an IAM policy document), got {}.".format(option, type(parsed).__name__))
    return parsed


def normalize_file_system(fs, lifecycle_policies=None, policy=None):
    """The comparable state of a DescribeFileSystems entry plus its lifecycle and policy."""
    tags = tags_to_dict(fs.get("Tags"))
    mode = fs.get("ThroughputMode") or "bursting"
    mibps = fs.get("ProvisionedThroughputInMibps") if mode == "provisioned" else None
    return dict(
        name=tags.get("Name"),
        creation_token=fs.get("CreationToken"),
        encrypted=bool(fs.get("Encrypted")),
        kms_key_id=fs.get("KmsKeyId"),
        performance_mode=fs.get("PerformanceMode") or "generalPurpose",
        throughput_mode=mode,
        provisioned_throughput_mibps=float(mibps) if mibps is not None else None,
        lifecycle=lifecycle_from_api(lifecycle_policies),
        policy=parse_policy(policy) or None,
        tags=tags,
    )


def kms_key_matches(current, requested):
    """True/False when the key ids can be compared offline, None when an alias must be resolved."""
    if not requested:
        return True
    if not current:
        return False
    if current == requested or current.endswith("/" + requested):
        return True
    if requested.startswith("alias/") or ":alias/" in requested:
        return None
    if requested.startswith("arn:") and current.startswith("arn:"):
        return False
    return current.split("/")[-1] == requested.split("/")[-1]


def validate_params(params):
    """Checks that need no AWS call; each error names the option and the fix."""
    if params.get("kms_key_id") and params.get("encrypted") is False:
        raise ModuleError(
            "kms_key_id is set but encrypted is false: a KMS key only applies to an encrypted file system. "
            "Set encrypted: true or remove kms_key_id."
        )
    mode = params.get("throughput_mode")
    mibps = params.get("provisioned_throughput_mibps")
    if mibps is not None and mode not in (None, "provisioned"):
        raise ModuleError(
            "provisioned_throughput_mibps is only valid with throughput_mode: provisioned (throughput_mode is {}). "
            "Remove it or set throughput_mode: provisioned.".format(
                mode
            )
        )
    if mibps is not None and mibps <= 0:
        raise ModuleError("provisioned_throughput_mibps must be greater than 0, got {}.".format(mibps))
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        raise ModuleError("wait_timeout must be at least 1 second, got {}.".format(params["wait_timeout"]))
    if params.get("name") is not None and not params["name"].strip():
        raise ModuleError("name must not be empty.")


def plan_throughput(current_mode, current_mibps, mode, mibps):
    """The (mode, mibps) after the run. Unset options keep the current values."""
    new_mode = mode or current_mode or "bursting"
    if new_mode == "provisioned":
        new_mibps = mibps if mibps is not None else (current_mibps if current_mode == "provisioned" else None)
        if new_mibps is None:
            raise ModuleError("throughput_mode: provisioned needs provisioned_throughput_mibps (the MiB/s to provision). Set provisioned_throughput_mibps.")
        return new_mode, float(new_mibps)
    if mibps is not None:
        raise ModuleError(
            "provisioned_throughput_mibps is only valid with throughput_mode: provisioned (the file system uses {}). "
            "Set throughput_mode: provisioned or remove it.".format(
                new_mode
            )
        )
    return new_mode, None


def desired_tags(params):
    """Tags to enforce: the user's tags plus Name=<name>; None means leave tags alone."""
    tags = params.get("tags")
    name = params.get("name")
    if tags is None and name is None:
        return None, False
    result = dict(tags or {})
    if name is not None:
        result["Name"] = name
    # Without explicit tags only the Name tag is enforced: never purge in that case.
    return result, bool(params.get("purge_tags")) and tags is not None


def plan_lifecycle(current, requested):
    """Merge the lifecycle suboptions into the current configuration; 'none' removes one."""
    after = dict(current or lifecycle_from_api(None))
    for opt, _key in LIFECYCLE_KEYS:
        value = (requested or {}).get(opt)
        if value is None:
            continue
        after[opt] = None if value == "none" else value
    return after


def plan_create(params):
    """The state a new file system will have (the 'after' of a create)."""
    validate_params(params)
    mode, mibps = plan_throughput(None, None, params.get("throughput_mode") or CREATE_DEFAULTS["throughput_mode"], params.get("provisioned_throughput_mibps"))
    tags, _purge = desired_tags(params)
    encrypted = params.get("encrypted")
    if encrypted is None:
        encrypted = CREATE_DEFAULTS["encrypted"]
    return dict(
        name=params["name"],
        creation_token=creation_token(params["name"]),
        encrypted=encrypted,
        kms_key_id=params.get("kms_key_id"),
        performance_mode=params.get("performance_mode") or CREATE_DEFAULTS["performance_mode"],
        throughput_mode=mode,
        provisioned_throughput_mibps=mibps,
        lifecycle=plan_lifecycle(None, params.get("lifecycle")),
        policy=parse_policy(params.get("policy")) or None,
        tags=tags or {},
    )


def plan_update(before, params, kms_matches=True, fs_id="the file system"):
    """The state after applying ``params`` to an existing file system, plus the calls to make.

    Returns ``(after, actions)``; ``actions`` holds only the parts that change:
    ``throughput`` (UpdateFileSystem), ``lifecycle`` (PutLifecycleConfiguration),
    ``policy`` (Put/DeleteFileSystemPolicy), ``tags_set``/``tags_unset``.
    ``kms_matches`` is the result of comparing kms_key_id (resolved by the caller).
    """
    validate_params(params)
    for option in ("performance_mode", "encrypted"):
        wanted = params.get(option)
        if wanted is not None and wanted != before[option]:
            raise ModuleError(
                "{0} is fixed when a file system is created and cannot be changed: {1} has {0}={2}, the task asks for {3}. "
                "Remove {0} from the task, or create a new file system under another name.".format(option, fs_id, before[option], wanted)
            )
    if params.get("kms_key_id") and not kms_matches:
        raise ModuleError(
            "kms_key_id is fixed when a file system is created and cannot be changed: {} uses {}, the task asks for {}. "
            "Remove kms_key_id from the task, or create a new file system under another name.".format(
                fs_id, before["kms_key_id"] or "no key", params["kms_key_id"]
            )
        )

    after = dict(before)
    actions = {}
    mode, mibps = plan_throughput(
        before["throughput_mode"], before["provisioned_throughput_mibps"], params.get("throughput_mode"), params.get("provisioned_throughput_mibps")
    )
    after["throughput_mode"], after["provisioned_throughput_mibps"] = mode, mibps
    if (mode, mibps) != (before["throughput_mode"], before["provisioned_throughput_mibps"]):
        actions["throughput"] = throughput_request(mode, mibps)

    after["lifecycle"] = plan_lifecycle(before["lifecycle"], params.get("lifecycle"))
    if after["lifecycle"] != before["lifecycle"]:
        actions["lifecycle"] = lifecycle_to_api(after["lifecycle"])

    requested_policy = parse_policy(params.get("policy"))
    if requested_policy is not None:
        after["policy"] = requested_policy or None
        if after["policy"] != before["policy"]:
            actions["policy"] = after["policy"]

    tags, purge = desired_tags(params)
    after["tags"], to_set, to_unset = plan_tags(before["tags"], tags, purge)
    after["name"] = after["tags"].get("Name")
    if to_set:
        actions["tags_set"] = to_set
    if to_unset:
        actions["tags_unset"] = to_unset
    return after, actions


def throughput_request(mode, mibps):
    request = dict(ThroughputMode=mode)
    if mode == "provisioned":
        request["ProvisionedThroughputInMibps"] = mibps
    return request


def result_fields(state, fs=None, region=None):
    """The documented return values from a normalized state and (when it exists) the API entry."""
    fs = fs or {}
    fs_id = fs.get("FileSystemId")
    return dict(
        id=fs_id,
        arn=fs.get("FileSystemArn"),
        name=(state or {}).get("name"),
        creation_token=(state or {}).get("creation_token"),
        dns_name=dns_name(fs_id, region),
        state=fs.get("LifeCycleState"),
        size=(fs.get("SizeInBytes") or {}).get("Value"),
        number_of_mount_targets=fs.get("NumberOfMountTargets"),
        encrypted=(state or {}).get("encrypted"),
        kms_key_id=(state or {}).get("kms_key_id"),
        performance_mode=(state or {}).get("performance_mode"),
        throughput_mode=(state or {}).get("throughput_mode"),
        provisioned_throughput_mibps=(state or {}).get("provisioned_throughput_mibps"),
        lifecycle=(state or {}).get("lifecycle"),
        policy=(state or {}).get("policy"),
        tags=(state or {}).get("tags") or {},
    )


def find_matches(file_systems, name):
    """File systems that belong to ``name``: by its CreationToken or by a Name tag."""
    token = creation_token(name)
    matches = []
    for fs in file_systems:
        if fs.get("LifeCycleState") == "deleted":
            continue
        if fs.get("CreationToken") == token or tags_to_dict(fs.get("Tags")).get("Name") == name:
            matches.append(fs)
    return matches


class FileSystemManager:
    """Reads and writes one EFS file system through a retrying client."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = aws_client(module, "efs")
        self.region = module.region

    # --- reads -------------------------------------------------------------------------
    def find(self):
        if self.params.get("id"):
            try:
                found = self.client.describe_file_systems(FileSystemId=self.params["id"], aws_retry=True)["FileSystems"]
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) == "FileSystemNotFound":
                    return None
                raise
            return found[0] if found else None
        matches = find_matches(paginate(self.client, "describe_file_systems").get("FileSystems", []), self.params["name"])
        if len(matches) > 1:
            raise ModuleError(
                "name: {} file systems match name {!r} ({}) by Name tag or creation token. "
                "Pick one with id, or rename or delete the others.".format(
                    len(matches), self.params["name"], ", ".join(sorted(fs["FileSystemId"] for fs in matches))
                )
            )
        return matches[0] if matches else None

    def describe(self, fs_id):
        return self.client.describe_file_systems(FileSystemId=fs_id, aws_retry=True)["FileSystems"][0]

    def read_state(self, fs):
        fs_id = fs["FileSystemId"]
        lifecycle = self.client.describe_lifecycle_configuration(FileSystemId=fs_id, aws_retry=True).get("LifecyclePolicies")
        try:
            policy = self.client.describe_file_system_policy(FileSystemId=fs_id, aws_retry=True).get("Policy")
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "PolicyNotFound":
                raise
            policy = None
        return normalize_file_system(fs, lifecycle, policy)

    def kms_matches(self, current):
        requested = self.params.get("kms_key_id")
        matches = kms_key_matches(current, requested)
        if matches is not None:
            return matches
        kms = aws_client(self.module, "kms")
        try:
            arn = kms.describe_key(KeyId=requested, aws_retry=True)["KeyMetadata"]["Arn"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "NotFoundException":
                raise ModuleError("kms_key_id: KMS key {!r} not found in region {}.".format(requested, self.region))
            raise
        return kms_key_matches(current, arn)

    # --- waits -------------------------------------------------------------------------
    def wait_available(self, fs_id):
        wait_for(
            self.client,
            "FileSystemAvailable",
            "DescribeFileSystems",
            lifecycle_acceptors("FileSystems", "available"),
            timeout=self.params["wait_timeout"],
            what="file system {} to become available".format(fs_id),
            FileSystemId=fs_id,
        )

    def wait_deleted(self, fs_id):
        wait_for(
            self.client,
            "FileSystemDeleted",
            "DescribeFileSystems",
            lifecycle_acceptors("FileSystems", "deleted", "FileSystemNotFound"),
            timeout=self.params["wait_timeout"],
            what="file system {} to be deleted".format(fs_id),
            FileSystemId=fs_id,
        )

    def wait_no_mount_targets(self, fs_id):
        wait_for(
            self.client,
            "MountTargetsDeleted",
            "DescribeMountTargets",
            [dict(state="success", matcher="path", argument="length(MountTargets) == `0`", expected=True)],
            timeout=self.params["wait_timeout"],
            what="the mount targets of {} to be deleted".format(fs_id),
            FileSystemId=fs_id,
        )

    # --- writes ------------------------------------------------------------------------
    def create(self, after):
        request = dict(
            CreationToken=after["creation_token"],
            PerformanceMode=after["performance_mode"],
            Encrypted=after["encrypted"],
            ThroughputMode=after["throughput_mode"],
            Tags=[dict(Key=k, Value=v) for k, v in sorted(after["tags"].items())],
        )
        if after["kms_key_id"]:
            request["KmsKeyId"] = after["kms_key_id"]
        if after["throughput_mode"] == "provisioned":
            request["ProvisionedThroughputInMibps"] = after["provisioned_throughput_mibps"]
        try:
            return self.client.create_file_system(aws_retry=True, **request)
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code == "FileSystemAlreadyExists":
                return None
            if code in ("BadRequest", "ValidationException", "InvalidParameterValue"):
                raise ModuleError(
                    "CreateFileSystem rejected the options: {}. Check encrypted, kms_key_id, performance_mode and throughput_mode.".format(
                        error_message(exc)
                    )
                )
            if code in ("NotFoundException", "KMSKeyNotFoundException") or "kms" in error_message(exc).lower():
                raise ModuleError("kms_key_id: {}".format(error_message(exc)))
            raise

    def apply(self, fs_id, actions, created=False):
        needs_available = created and (self.params["wait"] or "lifecycle" in actions or "policy" in actions)
        if needs_available:
            self.wait_available(fs_id)
        if "throughput" in actions:
            try:
                self.client.update_file_system(FileSystemId=fs_id, aws_retry=True, **actions["throughput"])
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in ("TooManyRequests", "ThroughputLimitExceeded", "InsufficientThroughputCapacity", "BadRequest"):
                    raise ModuleError("throughput_mode/provisioned_throughput_mibps: UpdateFileSystem refused the change: {}".format(error_message(exc)))
                raise
            self.wait_available(fs_id)
        if "lifecycle" in actions:
            self.client.put_lifecycle_configuration(FileSystemId=fs_id, LifecyclePolicies=actions["lifecycle"], aws_retry=True)
        if "policy" in actions:
            if actions["policy"]:
                try:
                    self.client.put_file_system_policy(FileSystemId=fs_id, Policy=json.dumps(actions["policy"], sort_keys=True), aws_retry=True)
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) in ("InvalidPolicyException", "BadRequest"):
                        raise ModuleError("policy: AWS rejected the file system policy: {}".format(error_message(exc)))
                    raise
            else:
                self.client.delete_file_system_policy(FileSystemId=fs_id, aws_retry=True)
        if actions.get("tags_unset"):
            self.client.untag_resource(ResourceId=fs_id, TagKeys=actions["tags_unset"], aws_retry=True)
        if actions.get("tags_set"):
            self.client.tag_resource(ResourceId=fs_id, Tags=[dict(Key=k, Value=v) for k, v in sorted(actions["tags_set"].items())], aws_retry=True)

    def delete(self, fs):
        fs_id = fs["FileSystemId"]
        if fs.get("NumberOfMountTargets"):
            targets = paginate(self.client, "describe_mount_targets", FileSystemId=fs_id).get("MountTargets", [])
            for target in targets:
                try:
                    self.client.delete_mount_target(MountTargetId=target["MountTargetId"], aws_retry=True)
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) != "MountTargetNotFound":
                        raise
            self.wait_no_mount_targets(fs_id)
        try:
            self.client.delete_file_system(FileSystemId=fs_id, aws_retry=True)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemInUse":
                raise ModuleError("file system {} still has mount targets (another process added one?). Remove them or rerun with force: true.".format(fs_id))
            if error_code(exc) == "FileSystemNotFound":
                return
            raise
        if self.params["wait"]:
            self.wait_deleted(fs_id)


def ensure_absent(manager, fs):
    module = manager.module
    if fs is None:
        return result_with_diff(module, None, None, **result_fields(None))
    if fs.get("LifeCycleState") in GONE_STATES:
        # Already on its way out: nothing to change, at most wait for the end.
        if manager.params["wait"] and not module.check_mode:
            manager.wait_deleted(fs["FileSystemId"])
        return result_with_diff(module, None, None, **result_fields(None, fs, manager.region))
    before = manager.read_state(fs)
    count = fs.get("NumberOfMountTargets") or 0
    if count and not manager.params["force"]:
        raise ModuleError(
            "file system {} still has {} mount target(s). Remove them first (nats_streaming.ft.efs_mount_targets with subnets: [] and purge: true) "
            "or set force: true to delete them with the file system.".format(fs["FileSystemId"], count)
        )
    result = result_with_diff(module, before, None, **result_fields(before, fs, manager.region))
    if not module.check_mode:
        manager.delete(fs)
        result["state"] = "deleted"
    return result


def ensure_present(manager, fs):
    module = manager.module
    params = manager.params
    if fs is None:
        if not params.get("name"):
            raise ModuleError("id: no EFS file system {} in region {}. To create one, give name instead of id.".format(params["id"], manager.region))
        before = None
        after = plan_create(params)
        actions = {}
        if after["lifecycle"] != plan_lifecycle(None, None):
            actions["lifecycle"] = lifecycle_to_api(after["lifecycle"])
        if after["policy"]:
            actions["policy"] = after["policy"]
        if module.check_mode:
            return result_with_diff(module, before, after, **result_fields(after, None, manager.region))
        response = manager.create(after)
        if response is None:
            # FileSystemAlreadyExists: an earlier run created it; adopt it and converge.
            fs = manager.find()
            if fs is None:
                raise ModuleError(
                    "name: CreateFileSystem reported that a file system with token {} exists, but it cannot be found.".format(after["creation_token"])
                )
        else:
            fs_id = response["FileSystemId"]
            manager.apply(fs_id, actions, created=True)
            return result_with_diff(module, before, after, **result_fields(after, manager.describe(fs_id), manager.region))

    if fs.get("LifeCycleState") in GONE_STATES:
        raise ModuleError(
            "file system {} is being deleted (state {}); rerun once it is gone to create a new one.".format(fs["FileSystemId"], fs["LifeCycleState"])
        )
    before = manager.read_state(fs)
    kms_matches = manager.kms_matches(before["kms_key_id"]) if params.get("kms_key_id") else True
    fs_id = fs["FileSystemId"]
    after, actions = plan_update(before, params, kms_matches=kms_matches, fs_id=fs_id)
    if module.check_mode or not actions:
        return result_with_diff(module, before, after, **result_fields(after, fs, manager.region))
    manager.apply(fs_id, actions)
    return result_with_diff(module, before, after, **result_fields(after, manager.describe(fs_id), manager.region))


def ensure_file_system(module):
    validate_params(module.params)
    manager = FileSystemManager(module)
    fs = manager.find()
    if module.params["state"] == "absent":
        return ensure_absent(manager, fs)
    return ensure_present(manager, fs)


def run(module):
    """Entry point of nats_streaming.ft.efs_filesystem."""
    run_aws_module(module, ensure_file_system)
