# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage account network rules: one canonical form, parsed from ARM JSON or from module options.

The canonical form is what ``changed``, the diff and the request body are all computed from::

    {
        "default_action": "Allow" | "Deny",
        "bypass": ["AzureServices", "Logging", "Metrics"],   # sorted, [] means "None"
        "virtual_network_subnet_ids": ["/subscriptions/.../subnets/x"],  # lower case, sorted
        "ip_rules": ["198.51.100.7", "203.0.113.0/24"],       # IPv4, normalized, sorted
        "ipv6_rules": ["2001:db8:85a3::/64"],                  # IPv6 (ARM's separate ipv6Rules list)
        "resource_access_rules": [{"resource_id": "/subscriptions/.../workspaces/ws1", "tenant_id": "..."}],
    }

Subnet IDs are compared case-insensitively (ARM is case-insensitive on resource IDs and returns
them with the casing it likes), so the canonical form holds them in lower case.  Lists are sets:
order never makes a change.

``networkAcls`` is replaced whole by a PATCH (storage.json NetworkRuleSet), so ``to_arm`` starts
from what ARM holds and only replaces what the module manages: resource access rules (the module
does not manage them) and any key a later api-version adds are carried through unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

BYPASS_VALUES = ("AzureServices", "Logging", "Metrics")
BYPASS_CHOICES = list(BYPASS_VALUES) + ["None"]
DEFAULT_ACTIONS = ("Allow", "Deny")

# What ARM stores when an account is created without networkAcls.
ARM_DEFAULT_RULES = {
    "default_action": "Allow",
    "bypass": ["AzureServices"],
    "virtual_network_subnet_ids": [],
    "ip_rules": [],
    "ipv6_rules": [],
    "resource_access_rules": [],
}
# The rule lists the module manages, their ARM keys and the purge flag of each.
MANAGED_LISTS = (
    ("virtual_network_subnet_ids", "virtualNetworkRules", "purge_virtual_network_rules"),
    ("ip_rules", "ipRules", "purge_ip_rules"),
    ("ipv6_rules", "ipv6Rules", "purge_ipv6_rules"),
)

SUBNET_ID_RE = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)$",
    re.IGNORECASE,
)


class NetworkRuleError(ValueError):
    """A network rule option is invalid; ``option`` names it for the error message."""

    def __init__(self, option, message):
        super(NetworkRuleError, self).__init__("%s: %s" % (option, message))
        self.option = option


# ---------------------------------------------------------------- single values


def normalize_bypass(value, option="network_rules.bypass"):
    """Sorted list of bypass services from a list or ARM's comma separated string; [] is "None"."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = set()
    saw_none = False
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        match = [b for b in BYPASS_CHOICES if b.lower() == text.lower()]
        if not match:
            raise NetworkRuleError(option, "unknown bypass value %r; use %s" % (text, ", ".join(BYPASS_CHOICES)))
        if match[0] == "None":
            saw_none = True
        else:
            wanted.add(match[0])
    if saw_none and wanted:
        raise NetworkRuleError(option, "'None' cannot be combined with %s" % ", ".join(sorted(wanted)))
    return sorted(wanted)


def bypass_to_arm(bypass):
    """ARM's string form of a canonical bypass list."""
    return ", ".join(bypass) if bypass else "None"


def normalize_ip_rule(value, option="network_rules.ip_rules", version=4):
    """Canonical text of one IP rule: a plain address, or a network in CIDR notation.

    ``x.x.x.x/32`` is the single address ``x.x.x.x`` (that is how ARM wants it).  A network
    with host bits set, or a /31, is refused instead of being silently rewritten.  ARM keeps
    IPv4 rules in ``ipRules`` and IPv6 rules in ``ipv6Rules``: an address of the other family
    is refused naming the option it belongs in.
    """
    text = str(value).strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise NetworkRuleError(option, "%r is not an IP address or CIDR range (%s)" % (text, exc))
        raise NetworkRuleError(option, "%r has host bits set; did you mean %s?" % (text, loose))
    if network.version != version:
        other = "network_rules.ipv6_rules" if network.version == 6 else "network_rules.ip_rules"
        raise NetworkRuleError(
            option, "%r is an IPv%d rule; ARM keeps those in a separate list, give it in %s" % (text, network.version, other)
        )
    if network.num_addresses == 1:
        return str(network.network_address)
    if network.version == 4 and network.prefixlen == 31:
        raise NetworkRuleError(option, "%r: ARM does not accept /31 ranges; list the two addresses instead" % text)
    return str(network)


def normalize_subnet_id(value, option="network_rules.virtual_network_subnet_ids"):
    """Lower-case subnet resource ID; refuses anything that is not a subnet ID."""
    text = str(value).strip().rstrip("/")
    if not SUBNET_ID_RE.match(text):
        raise NetworkRuleError(
            option,
            "%r is not a subnet resource ID; expected /subscriptions/<id>/resourceGroups/<rg>"
            "/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>" % text,
        )
    return text.lower()


def parse_subnet_id(subnet_id):
    """(subscription, resource_group, vnet, subnet) of a subnet ID."""
    match = SUBNET_ID_RE.match(subnet_id.strip().rstrip("/"))
    if not match:
        raise NetworkRuleError("network_rules.virtual_network_subnet_ids", "%r is not a subnet resource ID" % subnet_id)
    return match.group("subscription"), match.group("resource_group"), match.group("vnet"), match.group("subnet")


def _unique_sorted(values):
    return sorted(set(values))


# ---------------------------------------------------------------- whole rule sets


def from_arm(network_acls):
    """Canonical rules from the ``properties.networkAcls`` object ARM returns (None = ARM default)."""
    if not network_acls:
        return copy.deepcopy(ARM_DEFAULT_RULES)
    default_action = network_acls.get("defaultAction") or "Allow"
    default_action = [a for a in DEFAULT_ACTIONS if a.lower() == str(default_action).lower()] or [default_action]
    return {
        "default_action": default_action[0],
        "bypass": normalize_bypass(network_acls.get("bypass", "AzureServices")),
        "virtual_network_subnet_ids": _unique_sorted(
            str(rule.get("id", "")).strip().rstrip("/").lower() for rule in network_acls.get("virtualNetworkRules") or []
        ),
        "ip_rules": _unique_sorted(_arm_ip_value(rule.get("value", "")) for rule in network_acls.get("ipRules") or []),
        "ipv6_rules": _unique_sorted(_arm_ip_value(rule.get("value", ""), 6) for rule in network_acls.get("ipv6Rules") or []),
        "resource_access_rules": resource_access_rules(network_acls.get("resourceAccessRules")),
    }


def resource_access_rules(arm_rules):
    """Sorted canonical resource access rules (resource IDs compared without case)."""
    found = dict(
        ((str(r.get("resourceId", "")).lower(), str(r.get("tenantId", "")).lower()), None) for r in arm_rules or []
    )
    return [dict(resource_id=rid, tenant_id=tid) for rid, tid in sorted(found)]


def _arm_ip_value(value, version=4):
    try:
        return normalize_ip_rule(value, version=version)
    except NetworkRuleError:
        # Whatever ARM holds is the truth; keep it verbatim rather than failing on read.
        return str(value).strip()


def to_arm(rules, id_casing=None, current=None):
    """ARM ``networkAcls`` object for canonical rules.

    ``current`` is the ``networkAcls`` object ARM holds now: everything in it that the module does
    not manage (resource access rules, keys of later api-versions) is carried through, and rule
    values keep ARM's spelling where they mean the same thing.  ``id_casing`` maps lower-case
    subnet IDs to the spelling to send (the one ARM or the user used); IDs without an entry are
    sent in lower case, which ARM accepts.
    """
    body = copy.deepcopy(current) if current else {}
    id_casing = dict(subnet_id_casing(body), **(id_casing or {}))
    spelling = {}
    for key, version in (("ipRules", 4), ("ipv6Rules", 6)):
        for rule in body.get(key) or []:
            spelling[_arm_ip_value(rule.get("value", ""), version)] = rule.get("value")
    body.update(
        {
            "defaultAction": rules["default_action"],
            "bypass": bypass_to_arm(rules["bypass"]),
            "virtualNetworkRules": [
                {"id": id_casing.get(sid, sid), "action": "Allow"} for sid in rules["virtual_network_subnet_ids"]
            ],
            "ipRules": [{"value": spelling.get(ip, ip), "action": "Allow"} for ip in rules["ip_rules"]],
        }
    )
    if rules.get("ipv6_rules") or "ipv6Rules" in body:
        body["ipv6Rules"] = [{"value": spelling.get(ip, ip), "action": "Allow"} for ip in rules.get("ipv6_rules") or []]
    return body


def subnet_id_casing(network_acls=None, spec=None):
    """Map lower-case subnet ID -> original spelling, from ARM's rules and the user's option."""
    casing = {}
    for rule in (network_acls or {}).get("virtualNetworkRules") or []:
        text = str(rule.get("id", "")).strip().rstrip("/")
        casing[text.lower()] = text
    for value in (spec or {}).get("virtual_network_subnet_ids") or []:
        text = str(value).strip().rstrip("/")
        casing.setdefault(text.lower(), text)
    return casing


def normalize_spec(spec):
    """Validate and normalize the ``network_rules`` module option (None stays None).

    Raises NetworkRuleError naming the offending sub-option.  List entries that are ``None``
    in the spec mean "not given" and are kept as None.
    """
    if spec is None:
        return None
    out = {
        "default_action": spec.get("default_action"),
        "bypass": None,
        "virtual_network_subnet_ids": None,
        "ip_rules": None,
        "ipv6_rules": None,
        "purge_virtual_network_rules": bool(spec.get("purge_virtual_network_rules")),
        "purge_ip_rules": bool(spec.get("purge_ip_rules")),
        "purge_ipv6_rules": bool(spec.get("purge_ipv6_rules")),
    }
    if out["default_action"] is not None and out["default_action"] not in DEFAULT_ACTIONS:
        raise NetworkRuleError("network_rules.default_action", "must be one of %s" % ", ".join(DEFAULT_ACTIONS))
    if spec.get("bypass") is not None:
        out["bypass"] = normalize_bypass(spec["bypass"])
    if spec.get("virtual_network_subnet_ids") is not None:
        out["virtual_network_subnet_ids"] = _unique_sorted(
            normalize_subnet_id(v) for v in spec["virtual_network_subnet_ids"]
        )
    if spec.get("ip_rules") is not None:
        out["ip_rules"] = _unique_sorted(normalize_ip_rule(v) for v in spec["ip_rules"])
    if spec.get("ipv6_rules") is not None:
        out["ipv6_rules"] = _unique_sorted(
            normalize_ip_rule(v, option="network_rules.ipv6_rules", version=6) for v in spec["ipv6_rules"]
        )
    for key, _arm, purge in MANAGED_LISTS:
        if out[purge] and out[key] is None:
            raise NetworkRuleError(
                "network_rules.%s" % purge,
                "purging needs network_rules.%s (give [] to remove every rule)" % key,
            )
    return out


def merge(current, spec):
    """Rules after applying a normalized spec to the current canonical rules.

    ``current`` is None when the account does not exist yet: ARM's defaults apply, except that
    the default action is Deny when rules are given.  A sub-option that is not given leaves the
    current value alone; list entries are added, and only removed when the matching ``purge_*``
    flag is set.
    """
    result = copy.deepcopy(current) if current is not None else copy.deepcopy(ARM_DEFAULT_RULES)
    if spec is None:
        return result
    if spec.get("default_action") is not None:
        result["default_action"] = spec["default_action"]
    elif current is None:
        # Secure by default: a new account that is given rules denies everything else.
        result["default_action"] = "Deny"
    if spec.get("bypass") is not None:
        result["bypass"] = list(spec["bypass"])
    for key, _arm, purge in MANAGED_LISTS:
        wanted = spec.get(key)
        if wanted is None:
            continue
        if spec.get(purge):
            result[key] = _unique_sorted(wanted)
        else:
            result[key] = _unique_sorted(list(result.get(key) or []) + list(wanted))
    return result


def equal(left, right):
    """True when two canonical rule sets mean the same thing (order and case of IDs ignored)."""
    if left is None or right is None:
        return left is right

    def key(rules):
        return (
            str(rules["default_action"]).lower(),
            tuple(sorted(rules["bypass"])),
            tuple(sorted(s.lower() for s in rules["virtual_network_subnet_ids"])),
            tuple(sorted(rules["ip_rules"])),
            tuple(sorted(rules.get("ipv6_rules") or [])),
            tuple(sorted((r["resource_id"], r["tenant_id"]) for r in rules.get("resource_access_rules") or [])),
        )

    return key(left) == key(right)


def changes(before, after):
    """Human readable list of what differs between two canonical rule sets."""
    out = []
    if before["default_action"] != after["default_action"]:
        out.append("default_action %s -> %s" % (before["default_action"], after["default_action"]))
    if sorted(before["bypass"]) != sorted(after["bypass"]):
        out.append("bypass %s -> %s" % (bypass_to_arm(before["bypass"]), bypass_to_arm(after["bypass"])))
    for key in ("virtual_network_subnet_ids", "ip_rules", "ipv6_rules"):
        old, new = set(before.get(key) or []), set(after.get(key) or [])
        out.extend("add %s %s" % (key, v) for v in sorted(new - old))
        out.extend("remove %s %s" % (key, v) for v in sorted(old - new))
    return out
