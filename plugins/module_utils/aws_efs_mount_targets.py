# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the efs_mount_targets module: validate and plan (pure, unit-tested), then apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import (
    ModuleError,
    aws_client,
    error_code,
    error_message,
    lifecycle_acceptors,
    paginate,
    result_with_diff,
    run_aws_module,
    wait_for,
)

try:
    import botocore.exceptions
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    pass

MAX_SECURITY_GROUPS = 5


def normalize_targets(targets):
    """{subnet_id: {availability_zone, vpc_id, security_groups (sorted), ...}} from described targets."""
    state = {}
    for target in targets:
        state[target["SubnetId"]] = dict(
            availability_zone=target.get("AvailabilityZoneName"),
            security_groups=sorted(target.get("SecurityGroups") or []),
        )
    return state


def duplicates(values):
    seen, dupes = set(), []
    for value in values:
        if value in seen and value not in dupes:
            dupes.append(value)
        seen.add(value)
    return dupes


def validate_subnets(requested, subnet_info, existing, purge):
    """Check the requested subnets; every error names the subnets involved.

    ``subnet_info`` maps subnet id -> {availability_zone, vpc_id} for the requested subnets
    (as described by EC2), ``existing`` is the list of described mount targets.
    Returns the VPC id of the desired mount targets (None when there are none).
    """
    unknown = [s for s in requested if s not in subnet_info]
    if unknown:
        raise ModuleError("subnets: unknown subnet(s) {}. Check the IDs and the region.".format(", ".join(unknown)))
    dupes = duplicates(requested)
    if dupes:
        raise ModuleError("subnets: {} listed more than once.".format(", ".join(dupes)))

    vpcs = sorted(set(subnet_info[s]["vpc_id"] for s in requested))
    if len(vpcs) > 1:
        by_vpc = "; ".join("{}: {}".format(v, ", ".join(s for s in requested if subnet_info[s]["vpc_id"] == v)) for v in vpcs)
        raise ModuleError("subnets: all mount targets of a file system must be in one VPC, the subnets span {} ({}).".format(", ".join(vpcs), by_vpc))

    by_az = {}
    for subnet in requested:
        by_az.setdefault(subnet_info[subnet]["availability_zone"], []).append(subnet)
    clashes = dict((az, subnets) for az, subnets in by_az.items() if len(subnets) > 1)
    if clashes:
        raise ModuleError(
            "subnets: at most one mount target per availability zone; {}. Keep one subnet per zone.".format(
                "; ".join("{} are all in {}".format(", ".join(s), az) for az, s in sorted(clashes.items()))
            )
        )

    kept = [t for t in existing if t["SubnetId"] in requested or not purge]
    vpc = vpcs[0] if vpcs else None
    for target in kept:
        if vpc and target.get("VpcId") and target["VpcId"] != vpc:
            raise ModuleError(
                "subnets: subnet(s) {} are in {}, but the file system already has mount target {} in {} (subnet {}). "
                "A file system has mount targets in one VPC only; remove the others first (purge: true).".format(
                    ", ".join(requested), vpc, target["MountTargetId"], target["VpcId"], target["SubnetId"]
                )
            )
        az = target.get("AvailabilityZoneName")
        if target["SubnetId"] not in requested and az in by_az:
            raise ModuleError(
                "subnets: {0} is in {1}, where the file system already has mount target {2} in subnet {3}. "
                "List {3} instead, or set purge: true to replace that mount target.".format(by_az[az][0], az, target["MountTargetId"], target["SubnetId"])
            )
    return vpc or next((t.get("VpcId") for t in kept if t.get("VpcId")), None)


def validate_security_groups(requested, group_info, vpc_id):
    """Every requested group exists and lives in the VPC of the mount targets."""
    if requested is None:
        return
    if len(set(requested)) > MAX_SECURITY_GROUPS:
        raise ModuleError("security_groups: a mount target takes at most {} security groups, got {}.".format(MAX_SECURITY_GROUPS, len(set(requested))))
    unknown = sorted(set(g for g in requested if g not in group_info))
    if unknown:
        raise ModuleError("security_groups: unknown security group(s) {}. Check the IDs (sg-...) and the region.".format(", ".join(unknown)))
    foreign = sorted(set(g for g in requested if vpc_id and group_info[g] != vpc_id))
    if foreign:
        raise ModuleError(
            "security_groups: {} not in {}, the VPC of the mount targets.".format(
                ", ".join("{} is in {}".format(g, group_info[g]) for g in foreign), vpc_id
            )
        )


def plan_mount_targets(existing, subnet_info, subnets, security_groups, purge, default_groups=None):
    """Desired set -> (before, after, actions).

    ``existing``: described mount targets (with ``SecurityGroups``). ``subnets=None`` keeps the
    current set of subnets. ``security_groups=None`` leaves the groups of existing targets alone;
    new targets then get ``default_groups`` (the VPC's default group, as AWS does).
    Unlisted targets are deleted only with ``purge``.
    """
    before = normalize_targets(existing)
    by_subnet = dict((t["SubnetId"], t) for t in existing)
    wanted = list(subnets) if subnets is not None else [t["SubnetId"] for t in existing]
    groups = sorted(set(security_groups)) if security_groups is not None else None
    after = {}
    actions = dict(create=[], modify=[], delete=[])

    for subnet_id, target in sorted(by_subnet.items()):
        if subnet_id in wanted:
            continue
        if purge:
            actions["delete"].append(target["MountTargetId"])
        else:
            after[subnet_id] = dict(before[subnet_id])

    for subnet_id in wanted:
        if subnet_id in by_subnet:
            target = by_subnet[subnet_id]
            state = dict(before[subnet_id])
            if groups is not None and groups != state["security_groups"]:
                state["security_groups"] = groups
                actions["modify"].append(dict(MountTargetId=target["MountTargetId"], SecurityGroups=groups))
            after[subnet_id] = state
        else:
            new_groups = groups if groups is not None else sorted(default_groups or [])
            after[subnet_id] = dict(availability_zone=subnet_info[subnet_id]["availability_zone"], security_groups=new_groups)
            request = dict(SubnetId=subnet_id)
            if new_groups:
                request["SecurityGroups"] = new_groups
            actions["create"].append(request)
    return dict(mount_targets=before), dict(mount_targets=after), actions


def target_result(target):
    return dict(
        mount_target_id=target.get("MountTargetId"),
        subnet_id=target.get("SubnetId"),
        availability_zone=target.get("AvailabilityZoneName"),
        vpc_id=target.get("VpcId"),
        ip_address=target.get("IpAddress"),
        network_interface_id=target.get("NetworkInterfaceId"),
        state=target.get("LifeCycleState"),
        security_groups=sorted(target.get("SecurityGroups") or []),
    )


def predicted_results(after, existing, vpc_id):
    """Return values of a check run: the described targets that stay, plus the predicted new ones."""
    by_subnet = dict((t["SubnetId"], t) for t in existing)
    results = []
    for subnet_id, state in sorted(after["mount_targets"].items()):
        target = dict(by_subnet.get(subnet_id) or dict(SubnetId=subnet_id, VpcId=vpc_id, AvailabilityZoneName=state["availability_zone"]))
        target["SecurityGroups"] = state["security_groups"]
        results.append(target_result(target))
    return results


class MountTargetManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.fs_id = module.params["file_system_id"]
        self.efs = aws_client(module, "efs")
        self.ec2 = aws_client(module, "ec2")

    def describe_targets(self, with_groups=True):
        try:
            targets = paginate(self.efs, "describe_mount_targets", FileSystemId=self.fs_id).get("MountTargets", [])
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                raise ModuleError("file_system_id: no EFS file system {} in region {}.".format(self.fs_id, self.module.region))
            raise
        targets = [t for t in targets if t.get("LifeCycleState") not in ("deleting", "deleted")]
        if with_groups:
            for target in targets:
                response = self.efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"], aws_retry=True)
                target["SecurityGroups"] = response.get("SecurityGroups") or []
        return targets

    def describe_subnets(self, subnet_ids):
        if not subnet_ids:
            return {}
        found = paginate(self.ec2, "describe_subnets", Filters=[dict(Name="subnet-id", Values=sorted(set(subnet_ids)))]).get("Subnets", [])
        return dict((s["SubnetId"], dict(availability_zone=s["AvailabilityZone"], vpc_id=s["VpcId"])) for s in found)

    def describe_groups(self, group_ids):
        if not group_ids:
            return {}
        found = paginate(self.ec2, "describe_security_groups", Filters=[dict(Name="group-id", Values=sorted(set(group_ids)))]).get("SecurityGroups", [])
        return dict((g["GroupId"], g["VpcId"]) for g in found)

    def default_group(self, vpc_id):
        found = paginate(
            self.ec2, "describe_security_groups", Filters=[dict(Name="vpc-id", Values=[vpc_id]), dict(Name="group-name", Values=["default"])]
        ).get("SecurityGroups", [])
        return [found[0]["GroupId"]] if found else []

    def wait_available(self, target_id):
        wait_for(
            self.efs,
            "MountTargetAvailable",
            "DescribeMountTargets",
            lifecycle_acceptors("MountTargets", "available"),
            timeout=self.params["wait_timeout"],
            what="mount target {} to become available".format(target_id),
            MountTargetId=target_id,
        )

    def wait_deleted(self, target_id):
        wait_for(
            self.efs,
            "MountTargetDeleted",
            "DescribeMountTargets",
            lifecycle_acceptors("MountTargets", "deleted", "MountTargetNotFound"),
            timeout=self.params["wait_timeout"],
            what="mount target {} to be deleted".format(target_id),
            MountTargetId=target_id,
        )

    def apply(self, actions):
        for target_id in actions["delete"]:
            try:
                self.efs.delete_mount_target(MountTargetId=target_id, aws_retry=True)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) != "MountTargetNotFound":
                    raise
        # A new target may reuse the zone of a deleted one: the deletion must be over first.
        if actions["delete"] and (self.params["wait"] or actions["create"]):
            for target_id in actions["delete"]:
                self.wait_deleted(target_id)
        for request in actions["modify"]:
            self.efs.modify_mount_target_security_groups(aws_retry=True, **request)
        created = []
        for request in actions["create"]:
            try:
                created.append(self.efs.create_mount_target(FileSystemId=self.fs_id, aws_retry=True, **request)["MountTargetId"])
            except botocore.exceptions.ClientError as exc:
                code = error_code(exc)
                if code in ("MountTargetConflict", "SubnetNotFound", "NoFreeAddressesInSubnet", "AvailabilityZonesMismatch"):
                    raise ModuleError("subnets: cannot create a mount target in {}: {} ({}).".format(request["SubnetId"], error_message(exc), code))
                if code in ("SecurityGroupNotFound", "SecurityGroupLimitExceeded"):
                    raise ModuleError("security_groups: {} ({}).".format(error_message(exc), code))
                if code == "IncorrectFileSystemLifeCycleState":
                    raise ModuleError(
                        "file_system_id: {} is not available yet ({}); wait for it (efs_filesystem wait: true).".format(self.fs_id, error_message(exc))
                    )
                raise
        if self.params["wait"]:
            for target_id in created:
                self.wait_available(target_id)


def ensure_mount_targets(module):
    params = module.params
    if params["wait_timeout"] < 1:
        raise ModuleError("wait_timeout must be at least 1 second, got {}.".format(params["wait_timeout"]))
    if params["purge"] and params["subnets"] is None:
        raise ModuleError("purge: true needs subnets (the complete list of subnets to keep; [] removes every mount target).")
    manager = MountTargetManager(module)
    existing = manager.describe_targets()
    subnets = params["subnets"]
    requested = list(subnets) if subnets is not None else [t["SubnetId"] for t in existing]

    # Subnets that already carry a mount target are known: describe only the new ones.
    known = dict((t["SubnetId"], dict(availability_zone=t.get("AvailabilityZoneName"), vpc_id=t.get("VpcId"))) for t in existing)
    subnet_info = dict((s, known[s]) for s in requested if s in known)
    subnet_info.update(manager.describe_subnets([s for s in requested if s not in known]))
    vpc_id = validate_subnets(requested, subnet_info, existing, params["purge"])

    groups = params["security_groups"]
    new_subnets = [s for s in requested if s not in known]
    default_groups = manager.default_group(vpc_id) if new_subnets and groups is None else None
    before, after, actions = plan_mount_targets(existing, subnet_info, subnets, groups, params["purge"], default_groups)
    if groups is not None and (actions["create"] or actions["modify"]):
        validate_security_groups(groups, manager.describe_groups(groups), vpc_id)

    result = dict(file_system_id=manager.fs_id, vpc_id=vpc_id)
    if module.check_mode or before == after:
        result["mount_targets"] = predicted_results(after, existing, vpc_id)
        return result_with_diff(module, before, after, **result)
    manager.apply(actions)
    result["mount_targets"] = [target_result(t) for t in sorted(manager.describe_targets(), key=lambda t: t["SubnetId"])]
    return result_with_diff(module, before, after, **result)


def run(module):
    """Entry point of nats_streaming.ft.efs_mount_targets."""
    run_aws_module(module, ensure_mount_targets)
