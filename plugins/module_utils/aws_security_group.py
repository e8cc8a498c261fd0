# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the efs_nfs_security_group module: rule model and plan (pure, unit-tested), then apply.

The module owns only the ingress rules it created: TCP 2049 rules whose description starts with
``rule_description``. Rules somebody else added stay untouched unless ``purge_rules`` is set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_common import (
    ModuleError,
    aws_client,
    error_code,
    error_message,
    paginate,
    plan_tags,
    result_with_diff,
    run_aws_module,
    tags_to_dict,
)

try:
    import botocore.exceptions
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    pass

NFS_PORT = 2049
DEFAULT_GROUP_DESCRIPTION = "NFS TCP 2049 to EFS mount targets, managed by nats_streaming.ft"
WORLD = ("0.0.0.0/0", "::/0")
# Where each kind of source lives in an IpPermission and the key that holds its value.
SOURCE_FIELDS = (
    ("group", "UserIdGroupPairs", "GroupId"),
    ("ipv4", "IpRanges", "CidrIp"),
    ("ipv6", "Ipv6Ranges", "CidrIpv6"),
    ("prefix_list", "PrefixListIds", "PrefixListId"),
)


def rules_from_permissions(permissions):
    """Flatten IpPermissions into one comparable dict per (protocol, ports, source)."""
    rules = []
    for perm in permissions or []:
        protocol = to_text(perm.get("IpProtocol"))
        from_port = perm.get("FromPort")
        to_port = perm.get("ToPort")
        for kind, list_key, value_key in SOURCE_FIELDS:
            for entry in perm.get(list_key) or []:
                rules.append(
                    dict(
                        protocol=protocol,
                        from_port=from_port,
                        to_port=to_port,
                        source_type=kind,
                        source=entry.get(value_key),
                        description=entry.get("Description"),
                    )
                )
    return sort_rules(rules)


def sort_rules(rules):
    return sorted(rules, key=lambda r: (r["protocol"], r["from_port"] if r["from_port"] is not None else -2, r["source_type"], r["source"] or ""))


def rule_key(rule):
    return (rule["protocol"], rule["from_port"], rule["to_port"], rule["source_type"], rule["source"])


def permission_for(rule):
    """The IpPermissions entry that adds or removes exactly this rule."""
    kind = dict((k, (lk, vk)) for k, lk, vk in SOURCE_FIELDS)[rule["source_type"]]
    entry = {kind[1]: rule["source"]}
    if rule.get("description"):
        entry["Description"] = rule["description"]
    perm = dict(IpProtocol=rule["protocol"])
    if rule["from_port"] is not None:
        perm["FromPort"] = rule["from_port"]
    if rule["to_port"] is not None:
        perm["ToPort"] = rule["to_port"]
    perm[kind[0]] = [entry]
    return perm


def normalize_cidrs(cidrs, allow_world):
    """Validated, canonical CIDRs split into (ipv4, ipv6); errors name the option."""
    ipv4, ipv6 = [], []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(to_text(cidr).strip(), strict=True)
        except ValueError as exc:
            raise ModuleError("cidrs: {!r} is not a CIDR network ({}). Use the network address, e.g. 10.0.0.0/16.".format(cidr, exc))
        text = network.compressed
        if text in WORLD and not allow_world:
            raise ModuleError(
                "cidrs: {} would open NFS (TCP 2049) to the whole internet. "
                "Use the VPC or subnet CIDRs, or set allow_world: true if that is really intended.".format(text)
            )
        target = ipv4 if network.version == 4 else ipv6
        if text not in target:
            target.append(text)
    return ipv4, ipv6


def desired_rules(source_groups, ipv4, ipv6, description):
    """The managed rules: TCP 2049 from each source, described with ``description``."""
    rules = []
    for kind, sources in (("group", source_groups), ("ipv4", ipv4), ("ipv6", ipv6)):
        for source in sources or []:
            rules.append(dict(protocol="tcp", from_port=NFS_PORT, to_port=NFS_PORT, source_type=kind, source=source, description=description))
    return sort_rules(rules)


def is_managed(rule, description):
    return (
        rule["protocol"] == "tcp"
        and rule["from_port"] == NFS_PORT
        and rule["to_port"] == NFS_PORT
        and rule["source_type"] in ("group", "ipv4", "ipv6")
        and bool(rule.get("description"))
        and rule["description"].startswith(description)
    )


def plan_rules(current, source_groups, cidrs, description, purge_rules, allow_world=False):
    """Current ingress rules -> (after, to_add, to_remove).

    ``source_groups``/``cidrs`` set to None leave that kind of managed rule alone. A managed rule
    (our description) whose source is no longer listed is removed; any other rule is only
    removed with ``purge_rules``. A listed source that already has a TCP 2049 rule (whatever its
    description) is satisfied and left as it is.
    """
    ipv4, ipv6 = normalize_cidrs(cidrs or [], allow_world)
    wanted = desired_rules(source_groups, ipv4, ipv6, description)
    wanted_keys = set(rule_key(r) for r in wanted)
    # Which source kinds the task speaks about.
    governed = set()
    if source_groups is not None:
        governed.add("group")
    if cidrs is not None:
        governed.update(("ipv4", "ipv6"))

    to_remove = []
    for rule in current:
        if rule_key(rule) in wanted_keys:
            continue
        if purge_rules or (is_managed(rule, description) and rule["source_type"] in governed):
            to_remove.append(rule)
    current_keys = set(rule_key(r) for r in current)
    to_add = [r for r in wanted if rule_key(r) not in current_keys]
    removed = set(rule_key(r) for r in to_remove)
    after = sort_rules([r for r in current if rule_key(r) not in removed] + to_add)
    return after, to_add, to_remove


def normalize_group(group):
    return dict(
        name=group["GroupName"],
        vpc_id=group.get("VpcId"),
        description=group.get("Description"),
        ingress=rules_from_permissions(group.get("IpPermissions")),
        tags=tags_to_dict(group.get("Tags")),
    )


def plan_group(before, params):
    """(after, actions) for an existing group (``before``) or a new one (``before=None``)."""
    description = params.get("description")
    if before is None:
        before_for_plan = dict(
            name=params["name"], vpc_id=params["vpc_id"], description=description or DEFAULT_GROUP_DESCRIPTION, ingress=[], tags={}
        )
    else:
        before_for_plan = before
        if description is not None and description != before["description"]:
            raise ModuleError(
                "description: a security group's description cannot be changed; {} has {!r}. Remove description from the task or use a new group name.".format(
                    before["name"], before["description"]
                )
            )
    after = dict(before_for_plan)
    after["ingress"], to_add, to_remove = plan_rules(
        before_for_plan["ingress"],
        params.get("source_security_groups"),
        params.get("cidrs"),
        params["rule_description"],
        params["purge_rules"],
        params["allow_world"],
    )
    after["tags"], tags_set, tags_unset = plan_tags(before_for_plan["tags"], params.get("tags"), params["purge_tags"])
    return after, dict(add=to_add, remove=to_remove, tags_set=tags_set, tags_unset=tags_unset)


class SecurityGroupManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.ec2 = aws_client(module, "ec2")

    def find(self):
        params = self.params
        if params.get("group_id"):
            try:
                groups = self.ec2.describe_security_groups(GroupIds=[params["group_id"]], aws_retry=True)["SecurityGroups"]
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
                    return None
                raise
        else:
            filters = [dict(Name="group-name", Values=[params["name"]]), dict(Name="vpc-id", Values=[params["vpc_id"]])]
            groups = paginate(self.ec2, "describe_security_groups", Filters=filters).get("SecurityGroups", [])
        return groups[0] if groups else None

    def check_vpc(self, vpc_id):
        found = paginate(self.ec2, "describe_vpcs", Filters=[dict(Name="vpc-id", Values=[vpc_id])]).get("Vpcs", [])
        if not found:
            raise ModuleError("vpc_id: no VPC {} in region {}.".format(vpc_id, self.module.region))

    def check_sources(self, rules):
        groups = sorted(set(r["source"] for r in rules if r["source_type"] == "group"))
        if not groups:
            return
        found = paginate(self.ec2, "describe_security_groups", Filters=[dict(Name="group-id", Values=groups)]).get("SecurityGroups", [])
        unknown = sorted(set(groups) - set(g["GroupId"] for g in found))
        if unknown:
            raise ModuleError("source_security_groups: unknown security group(s) {}. Check the IDs (sg-...) and the region.".format(", ".join(unknown)))

    def create(self, after):
        request = dict(GroupName=after["name"], Description=after["description"], VpcId=after["vpc_id"])
        if after["tags"]:
            request["TagSpecifications"] = [dict(ResourceType="security-group", Tags=[dict(Key=k, Value=v) for k, v in sorted(after["tags"].items())])]
        try:
            return self.ec2.create_security_group(aws_retry=True, **request)["GroupId"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "InvalidVpcID.NotFound":
                raise ModuleError("vpc_id: no VPC {} ({}).".format(after["vpc_id"], error_message(exc)))
            raise

    def apply(self, group_id, actions):
        for rule in actions["remove"]:
            try:
                self.ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[permission_for(rule)], aws_retry=True)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) != "InvalidPermission.NotFound":
                    raise
        if actions["add"]:
            try:
                self.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission_for(r) for r in actions["add"]], aws_retry=True)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) == "InvalidGroup.NotFound":
                    raise ModuleError("source_security_groups: {}".format(error_message(exc)))
                if error_code(exc) != "InvalidPermission.Duplicate":
                    raise
        if actions["tags_unset"]:
            self.ec2.delete_tags(Resources=[group_id], Tags=[dict(Key=k) for k in actions["tags_unset"]], aws_retry=True)
        if actions["tags_set"]:
            self.ec2.create_tags(Resources=[group_id], Tags=[dict(Key=k, Value=v) for k, v in sorted(actions["tags_set"].items())], aws_retry=True)

    def delete(self, group_id):
        try:
            self.ec2.delete_security_group(GroupId=group_id, aws_retry=True)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "DependencyViolation":
                raise ModuleError(
                    "security group {} is still in use (EFS mount targets or other network interfaces use it, or another group references it): {}. "
                    "Remove those first.".format(group_id, error_message(exc))
                )
            if error_code(exc) != "InvalidGroup.NotFound":
                raise


def group_result(group_id, state):
    state = state or {}
    return dict(
        group_id=group_id,
        group_name=state.get("name"),
        vpc_id=state.get("vpc_id"),
        description=state.get("description"),
        ingress=state.get("ingress") or [],
        tags=state.get("tags") or {},
    )


def ensure_security_group(module):
    params = module.params
    if not params.get("group_id") and not params.get("vpc_id"):
        raise ModuleError("vpc_id is required with name: security group names are unique per VPC only.")
    manager = SecurityGroupManager(module)
    group = manager.find()
    before = normalize_group(group) if group else None
    group_id = group["GroupId"] if group else None

    if params["state"] == "absent":
        result = result_with_diff(module, before, None, **group_result(group_id, before))
        if group and not module.check_mode:
            manager.delete(group_id)
        return result

    if group is None:
        if params.get("group_id"):
            raise ModuleError("group_id: no security group {} in region {}. To create one, give name and vpc_id.".format(params["group_id"], module.region))
        manager.check_vpc(params["vpc_id"])
    after, actions = plan_group(before, params)
    if actions["add"]:
        manager.check_sources(actions["add"])
    if module.check_mode or before == after:
        return result_with_diff(module, before, after, **group_result(group_id, after))
    if group is None:
        group_id = manager.create(after)
        # The new group's tags came with CreateSecurityGroup.
        actions["tags_set"], actions["tags_unset"] = {}, []
    manager.apply(group_id, actions)
    return result_with_diff(module, before, after, **group_result(group_id, after))


def run(module):
    """Entry point of nats_streaming.ft.efs_nfs_security_group."""
    run_aws_module(module, ensure_security_group)
