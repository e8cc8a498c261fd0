# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the efs_access_point module: validate and plan (pure, unit-tested), then apply.

An access point is found by a client token derived from its file system and name (so a play
that died right after CreateAccessPoint finds the one it made), or adopted by its Name tag.
Only tags can change on an existing access point: a different POSIX user or root directory is
an error naming the option, never a silent replacement. An access point the module did not
create (another client token) is deleted only with ``force``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

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

TOKEN_PREFIX = "nsft-ap-"
MAX_ID = 4294967295
MAX_SECONDARY_GIDS = 16
MAX_PATH = 100
GONE_STATES = ("deleting", "deleted")
FS_ID = re.compile(r"^fs-[0-9a-f]{8,40}$")
PERMISSIONS = re.compile(r"^[0-7]{3,4}$")


def client_token(file_system_id, name):
    """The ClientToken of access point ``name`` on ``file_system_id``: always the same for the pair."""
    digest = hashlib.sha256(to_bytes("{}/{}".format(file_system_id, name), errors="surrogate_or_strict")).hexdigest()
    return TOKEN_PREFIX + digest[:40]


def volume_handle(file_system_id, access_point_id):
    """The EFS CSI driver's volumeHandle for a static volume mounted through an access point."""
    return "{}::{}".format(file_system_id, access_point_id)


# --- validation (pure) ---------------------------------------------------------------------
def _check_id(value, option):
    if not 0 <= value <= MAX_ID:
        raise ModuleError("{} is {}: POSIX user and group IDs are between 0 and {}.".format(option, value, MAX_ID))


def validate_params(params):
    """Every error names the option, the value and the fix."""
    if not FS_ID.match(params["file_system_id"] or ""):
        raise ModuleError(
            "file_system_id {!r} is not an EFS file system ID (fs- followed by hex digits, e.g. fs-0123456789abcdef0).".format(params["file_system_id"])
        )
    name = params["name"]
    if not name or len(name) > 256:
        raise ModuleError("name must be 1 to 256 characters (it becomes the access point's Name tag), got {!r}.".format(name))
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        raise ModuleError("wait_timeout must be at least 1 second, got {}.".format(params["wait_timeout"]))
    user = params.get("posix_user")
    if user:
        _check_id(user["uid"], "posix_user.uid")
        _check_id(user["gid"], "posix_user.gid")
        gids = user.get("secondary_gids") or []
        if len(gids) > MAX_SECONDARY_GIDS:
            raise ModuleError("posix_user.secondary_gids has {} entries; EFS takes at most {}.".format(len(gids), MAX_SECONDARY_GIDS))
        for gid in gids:
            _check_id(gid, "posix_user.secondary_gids")
    root = params.get("root_directory")
    if root:
        path = root["path"]
        parts = path.split("/")
        if not path.startswith("/") or len(path) > MAX_PATH or (path != "/" and (path.endswith("/") or "" in parts[1:] or ".." in parts or "." in parts)):
            raise ModuleError(
                "root_directory.path {!r} must be an absolute path of at most {} characters, without '.', '..', "
                "empty components or a trailing '/' (e.g. /stan).".format(path, MAX_PATH)
            )
        info = root.get("creation_info")
        if info:
            if path == "/":
                raise ModuleError(
                    "root_directory.creation_info has no effect on path '/', which always exists. Set a path such as /stan, or drop creation_info."
                )
            _check_id(info["owner_uid"], "root_directory.creation_info.owner_uid")
            _check_id(info["owner_gid"], "root_directory.creation_info.owner_gid")
            if not PERMISSIONS.match(info["permissions"]):
                raise ModuleError(
                    "root_directory.creation_info.permissions {!r} must be 3 or 4 octal digits, e.g. '0750'.".format(info["permissions"])
                )


# --- normalization and planning (pure) ----------------------------------------------------------
def normalize_posix_user(user):
    """API PosixUser or option posix_user -> {uid, gid, secondary_gids (sorted)} (None stays None)."""
    if not user:
        return None
    if "Uid" in user:
        return dict(uid=int(user["Uid"]), gid=int(user["Gid"]), secondary_gids=sorted(int(g) for g in user.get("SecondaryGids") or []))
    return dict(uid=user["uid"], gid=user["gid"], secondary_gids=sorted(user.get("secondary_gids") or []))


def normalize_root_directory(root):
    """API RootDirectory or option root_directory -> {path, creation_info}; permissions as 4 digits."""
    if not root:
        return dict(path="/", creation_info=None)
    if "Path" in root or "CreationInfo" in root:
        info = root.get("CreationInfo")
        info = dict(owner_uid=int(info["OwnerUid"]), owner_gid=int(info["OwnerGid"]), permissions=info["Permissions"]) if info else None
        path = root.get("Path") or "/"
    else:
        info = root.get("creation_info")
        info = dict(owner_uid=info["owner_uid"], owner_gid=info["owner_gid"], permissions=info["permissions"]) if info else None
        path = root.get("path") or "/"
    if info:
        info["permissions"] = info["permissions"].zfill(4)
    return dict(path=path, creation_info=info)


def access_point_name(ap):
    return tags_to_dict(ap.get("Tags")).get("Name") or ap.get("Name")


def normalize_access_point(ap):
    return dict(
        name=access_point_name(ap),
        posix_user=normalize_posix_user(ap.get("PosixUser")),
        root_directory=normalize_root_directory(ap.get("RootDirectory")),
        tags=tags_to_dict(ap.get("Tags")),
    )


def find_matches(access_points, file_system_id, name):
    """(by_token, by_name): the access point this module created for ``name``, and those only tagged with it."""
    token = client_token(file_system_id, name)
    live = [ap for ap in access_points if ap.get("LifeCycleState") not in GONE_STATES and ap.get("FileSystemId", file_system_id) == file_system_id]
    by_token = [ap for ap in live if ap.get("ClientToken") == token]
    by_name = [ap for ap in live if ap.get("ClientToken") != token and access_point_name(ap) == name]
    return by_token, by_name


def choose(access_points, file_system_id, name):
    """The one access point for ``name`` and whether this module created it; errors on ambiguity."""
    by_token, by_name = find_matches(access_points, file_system_id, name)
    if by_token:
        return by_token[0], True
    if len(by_name) > 1:
        raise ModuleError(
            "name: {} access points of {} are tagged Name={!r} ({}). Delete or rename all but one.".format(
                len(by_name), file_system_id, name, ", ".join(sorted(ap["AccessPointId"] for ap in by_name))
            )
        )
    return (by_name[0], False) if by_name else (None, False)


def desired_tags(params):
    """The user's tags plus Name=<name>, and whether to purge the rest (only when tags are set)."""
    tags = dict((str(k), str(v)) for k, v in (params.get("tags") or {}).items())
    tags["Name"] = params["name"]
    return tags, bool(params.get("purge_tags")) and params.get("tags") is not None


def plan_create(params):
    tags, _purge = desired_tags(params)
    return dict(
        name=params["name"],
        posix_user=normalize_posix_user(params.get("posix_user")),
        root_directory=normalize_root_directory(params.get("root_directory")),
        tags=tags,
    )


def describe_posix_user(user):
    if not user:
        return "none"
    extra = ", secondary gids {}".format(user["secondary_gids"]) if user["secondary_gids"] else ""
    return "uid {} gid {}{}".format(user["uid"], user["gid"], extra)


def describe_root_directory(root):
    info = root["creation_info"]
    made = " created as {}:{} mode {}".format(info["owner_uid"], info["owner_gid"], info["permissions"]) if info else ""
    return "{}{}".format(root["path"], made)


def plan_update(before, params, ap_id):
    """(after, tags_set, tags_unset) for an existing access point.

    POSIX user and root directory cannot change on an access point: a request for other values
    fails, naming the option; an unset option leaves them alone.
    """
    wanted_user = normalize_posix_user(params.get("posix_user"))
    if params.get("posix_user") is not None and wanted_user != before["posix_user"]:
        raise ModuleError(
            "posix_user: access point {} ({}) has POSIX user {}, not {}. An access point's POSIX user cannot be changed: "
            "delete it (state: absent) and create it again, or use another name.".format(
                ap_id, params["name"], describe_posix_user(before["posix_user"]), describe_posix_user(wanted_user)
            )
        )
    wanted_root = normalize_root_directory(params.get("root_directory"))
    if params.get("root_directory") is not None and wanted_root != before["root_directory"]:
        raise ModuleError(
            "root_directory: access point {} ({}) has root directory {}, not {}. An access point's root directory cannot be "
            "changed: delete it (state: absent) and create it again, or use another name.".format(
                ap_id, params["name"], describe_root_directory(before["root_directory"]), describe_root_directory(wanted_root)
            )
        )
    tags, purge = desired_tags(params)
    after_tags, tags_set, tags_unset = plan_tags(before["tags"], tags, purge)
    after = dict(before, tags=after_tags, name=params["name"])
    return after, tags_set, tags_unset


def posix_user_to_api(user):
    request = dict(Uid=user["uid"], Gid=user["gid"])
    if user["secondary_gids"]:
        request["SecondaryGids"] = user["secondary_gids"]
    return request


def root_directory_to_api(root):
    request = dict(Path=root["path"])
    if root["creation_info"]:
        info = root["creation_info"]
        request["CreationInfo"] = dict(OwnerUid=info["owner_uid"], OwnerGid=info["owner_gid"], Permissions=info["permissions"])
    return request


def create_request(file_system_id, after):
    request = dict(
        ClientToken=client_token(file_system_id, after["name"]),
        FileSystemId=file_system_id,
        RootDirectory=root_directory_to_api(after["root_directory"]),
        Tags=[dict(Key=k, Value=v) for k, v in sorted(after["tags"].items())],
    )
    if after["posix_user"]:
        request["PosixUser"] = posix_user_to_api(after["posix_user"])
    return request


def result_fields(file_system_id, state, ap=None, owned=False):
    """Return values; ``ap`` is the described access point (None in a check run that would create it)."""
    ap = ap or {}
    ap_id = ap.get("AccessPointId")
    return dict(
        access_point_id=ap_id,
        access_point_arn=ap.get("AccessPointArn"),
        file_system_id=file_system_id,
        volume_handle=volume_handle(file_system_id, ap_id) if ap_id else None,
        name=(state or {}).get("name"),
        posix_user=(state or {}).get("posix_user"),
        root_directory=(state or {}).get("root_directory"),
        tags=(state or {}).get("tags") or {},
        state=ap.get("LifeCycleState"),
        created_by_module=owned,
    )


# --- I/O -------------------------------------------------------------------------------------
class AccessPointManager:
    """Reads and writes the access points of one EFS file system through a retrying client."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.fs_id = module.params["file_system_id"]
        self.client = aws_client(module, "efs")

    def check_file_system(self):
        try:
            found = self.client.describe_file_systems(FileSystemId=self.fs_id, aws_retry=True)["FileSystems"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                found = []
            else:
                raise
        if not found:
            raise ModuleError("file_system_id: no EFS file system {} in region {}. Check the ID and the region.".format(self.fs_id, self.module.region))
        return found[0]

    def list(self):
        return paginate(self.client, "describe_access_points", FileSystemId=self.fs_id).get("AccessPoints", [])

    def describe(self, ap_id):
        return self.client.describe_access_points(AccessPointId=ap_id, aws_retry=True)["AccessPoints"][0]

    def wait_available(self, ap_id):
        wait_for(
            self.client,
            "AccessPointAvailable",
            "DescribeAccessPoints",
            lifecycle_acceptors("AccessPoints", "available"),
            timeout=self.params["wait_timeout"],
            what="access point {} to become available".format(ap_id),
            AccessPointId=ap_id,
        )

    def wait_deleted(self, ap_id):
        wait_for(
            self.client,
            "AccessPointDeleted",
            "DescribeAccessPoints",
            lifecycle_acceptors("AccessPoints", "deleted", "AccessPointNotFound"),
            timeout=self.params["wait_timeout"],
            what="access point {} to be deleted".format(ap_id),
            AccessPointId=ap_id,
        )

    def create(self, after):
        """The new access point's ID, or None when AWS says this client token already made one."""
        try:
            response = self.client.create_access_point(aws_retry=True, **create_request(self.fs_id, after))
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code == "AccessPointAlreadyExists":
                return None
            if code == "AccessPointLimitExceeded":
                raise ModuleError("file_system_id: {} has reached its limit of access points ({}).".format(self.fs_id, error_message(exc)))
            if code == "IncorrectFileSystemLifeCycleState":
                raise ModuleError(
                    "file_system_id: {} is not available yet ({}); wait for it (efs_filesystem wait: true).".format(self.fs_id, error_message(exc))
                )
            raise
        ap_id = response["AccessPointId"]
        if self.params["wait"]:
            self.wait_available(ap_id)
        return ap_id

    def retag(self, ap_id, tags_set, tags_unset):
        if tags_unset:
            self.client.untag_resource(ResourceId=ap_id, TagKeys=tags_unset, aws_retry=True)
        if tags_set:
            self.client.tag_resource(ResourceId=ap_id, Tags=[dict(Key=k, Value=v) for k, v in sorted(tags_set.items())], aws_retry=True)

    def delete(self, ap_id):
        try:
            self.client.delete_access_point(AccessPointId=ap_id, aws_retry=True)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "AccessPointNotFound":
                return
            raise
        if self.params["wait"]:
            self.wait_deleted(ap_id)


def ensure_absent(manager, ap, owned):
    module = manager.module
    if ap is None:
        return result_with_diff(module, None, None, **result_fields(manager.fs_id, None))
    if not owned and not manager.params["force"]:
        raise ModuleError(
            "access point {} of {} is tagged Name={!r} but was not created by this module (its client token differs), "
            "so it is not deleted. Set force: true to delete it anyway.".format(ap["AccessPointId"], manager.fs_id, manager.params["name"])
        )
    before = normalize_access_point(ap)
    result = result_with_diff(module, before, None, **result_fields(manager.fs_id, before, ap, owned))
    if not module.check_mode:
        manager.delete(ap["AccessPointId"])
        result["state"] = "deleted"
    return result


def ensure_present(manager, ap, owned):
    module = manager.module
    params = manager.params
    if ap is None:
        after = plan_create(params)
        if module.check_mode:
            return result_with_diff(module, None, after, **result_fields(manager.fs_id, after))
        ap_id = manager.create(after)
        if ap_id is None:
            # AccessPointAlreadyExists: an earlier run made it with this token; adopt and converge.
            ap, owned = choose(manager.list(), manager.fs_id, params["name"])
            if ap is None:
                raise ModuleError("name: CreateAccessPoint reported that the access point for {!r} exists, but it cannot be found.".format(params["name"]))
        else:
            return result_with_diff(module, None, after, **result_fields(manager.fs_id, after, manager.describe(ap_id), True))
    before = normalize_access_point(ap)
    after, tags_set, tags_unset = plan_update(before, params, ap["AccessPointId"])
    if not module.check_mode and (tags_set or tags_unset):
        manager.retag(ap["AccessPointId"], tags_set, tags_unset)
        ap = manager.describe(ap["AccessPointId"])
    return result_with_diff(module, before, after, **result_fields(manager.fs_id, after, ap, owned))


def ensure_access_point(module):
    validate_params(module.params)
    manager = AccessPointManager(module)
    manager.check_file_system()
    ap, owned = choose(manager.list(), manager.fs_id, module.params["name"])
    if module.params["state"] == "absent":
        return ensure_absent(manager, ap, owned)
    return ensure_present(manager, ap, owned)


def run(module):
    """Entry point of nats_streaming.ft.efs_access_point."""
    run_aws_module(module, ensure_access_point)
