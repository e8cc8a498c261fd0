"""Network-rule normalization and comparison (plugins/module_utils/azure_network_rules.py)."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import azure_network_rules as rules

SUBNET_A = "/subscriptions/1111/resourceGroups/RG-Net/providers/Microsoft.Network/virtualNetworks/VNet/subnets/Nodes-A"
SUBNET_B = "/subscriptions/1111/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes-b"


def spec(**kwargs):
    return rules.normalize_spec(kwargs)


# ---------------------------------------------------------------- single values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.10", "203.0.113.10"),
        (" 203.0.113.10/32 ", "203.0.113.10"),
        ("198.51.100.0/24", "198.51.100.0/24"),
    ],
)
def test_ip_rule_is_normalized_to_arm_form(value, expected):
    assert rules.normalize_ip_rule(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2001:0db8:85a3::/64", "2001:db8:85a3::/64"), ("2001:db8::1/128", "2001:db8::1"), ("2001:DB8::/32", "2001:db8::/32")],
)
def test_ipv6_rule_is_normalized_for_ipv6_rules(value, expected):
    assert rules.normalize_ip_rule(value, option="network_rules.ipv6_rules", version=6) == expected


def test_an_address_of_the_other_family_names_the_list_it_belongs_in():
    with pytest.raises(rules.NetworkRuleError) as v6_in_v4:
        rules.normalize_ip_rule("2001:db8::/32")
    assert str(v6_in_v4.value).startswith("network_rules.ip_rules: ") and "network_rules.ipv6_rules" in str(v6_in_v4.value)
    with pytest.raises(rules.NetworkRuleError) as v4_in_v6:
        rules.normalize_ip_rule("203.0.113.10", option="network_rules.ipv6_rules", version=6)
    assert str(v4_in_v6.value).startswith("network_rules.ipv6_rules: ") and "network_rules.ip_rules" in str(v4_in_v6.value)


SYNAPSE = "/subscriptions/a7e99807-abbf-4642-bdec-2c809a96a8bc/resourceGroups/res9407/providers/Microsoft.Synapse/workspaces/ws1"
HELD = {
    "bypass": "AzureServices",
    "defaultAction": "Deny",
    "ipRules": [],
    "ipv6Rules": [{"value": "2001:0db8:85a3::/64", "action": "Allow"}],
    "resourceAccessRules": [{"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "resourceId": SYNAPSE}],
    "virtualNetworkRules": [],
    "someLaterList": [{"x": 1}],
}


def test_every_list_arm_holds_is_read_and_written_back_when_one_ip_rule_is_added():
    current = rules.from_arm(HELD)
    assert current["ipv6_rules"] == ["2001:db8:85a3::/64"]
    assert current["resource_access_rules"] == [
        {"resource_id": SYNAPSE.lower(), "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}]
    after = rules.merge(current, rules.normalize_spec({"ip_rules": ["203.0.113.10"]}))
    body = rules.to_arm(after, current=HELD)
    assert body["ipRules"] == [{"value": "203.0.113.10", "action": "Allow"}]
    # Unmanaged and unknown lists travel unchanged, and ARM's spelling of an IPv6 rule is kept.
    assert body["resourceAccessRules"] == HELD["resourceAccessRules"]
    assert body["ipv6Rules"] == HELD["ipv6Rules"]
    assert body["someLaterList"] == [{"x": 1}]
    assert rules.equal(rules.from_arm(body), after)


def test_ipv6_rules_are_merged_and_purged_like_ip_rules():
    current = rules.from_arm(HELD)
    added = rules.merge(current, rules.normalize_spec({"ipv6_rules": ["2001:db8:1::/48"]}))
    assert added["ipv6_rules"] == ["2001:db8:1::/48", "2001:db8:85a3::/64"]
    purged = rules.merge(current, rules.normalize_spec({"ipv6_rules": [], "purge_ipv6_rules": True}))
    assert purged["ipv6_rules"] == [] and rules.to_arm(purged, current=HELD)["ipv6Rules"] == []
    assert "add ipv6_rules 2001:db8:1::/48" in rules.changes(current, added)


def test_a_resource_access_rule_alone_makes_the_rule_sets_differ():
    bare = dict(HELD, resourceAccessRules=[])
    assert not rules.equal(rules.from_arm(HELD), rules.from_arm(bare))


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("198.51.100.7/24", "did you mean 198.51.100.0/24"),
        ("198.51.100.0/31", "/31"),
        ("not-an-ip", "not an IP address"),
        ("300.1.1.1", "not an IP address"),
    ],
)
def test_bad_ip_rule_is_refused_naming_the_option(value, hint):
    with pytest.raises(rules.NetworkRuleError) as info:
        rules.normalize_ip_rule(value)
    assert str(info.value).startswith("network_rules.ip_rules: ")
    assert hint in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AzureServices", ["AzureServices"]),
        ("Logging, Metrics, AzureServices", ["AzureServices", "Logging", "Metrics"]),
        (["metrics", "LOGGING"], ["Logging", "Metrics"]),
        ("None", []),
        ([], []),
        (None, []),
    ],
)
def test_bypass_is_a_sorted_set_and_none_is_empty(value, expected):
    assert rules.normalize_bypass(value) == expected


def test_bypass_none_with_a_service_is_refused():
    with pytest.raises(rules.NetworkRuleError, match="'None' cannot be combined"):
        rules.normalize_bypass(["None", "Logging"])


def test_bypass_round_trips_through_arm_string():
    assert rules.bypass_to_arm([]) == "None"
    assert rules.normalize_bypass(rules.bypass_to_arm(["Logging", "Metrics"])) == ["Logging", "Metrics"]


def test_subnet_id_is_lowercased_and_validated():
    assert rules.normalize_subnet_id(SUBNET_A + "/") == SUBNET_A.lower()
    with pytest.raises(rules.NetworkRuleError, match="is not a subnet resource ID"):
        rules.normalize_subnet_id("/subscriptions/1111/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v")


def test_parse_subnet_id_returns_its_parts():
    assert rules.parse_subnet_id(SUBNET_A) == ("1111", "RG-Net", "VNet", "Nodes-A")


# ---------------------------------------------------------------- ARM <-> canonical


def test_from_arm_without_acls_is_arms_default():
    assert rules.from_arm(None) == rules.ARM_DEFAULT_RULES


def test_from_arm_is_order_and_case_insensitive():
    one = rules.from_arm({
        "defaultAction": "deny", "bypass": "Metrics, AzureServices",
        "virtualNetworkRules": [{"id": SUBNET_A, "action": "Allow", "state": "Succeeded"}, {"id": SUBNET_B}],
        "ipRules": [{"value": "203.0.113.10", "action": "Allow"}, {"value": "198.51.100.0/24"}],
    })
    two = rules.from_arm({
        "defaultAction": "Deny", "bypass": "AzureServices,Metrics",
        "virtualNetworkRules": [{"id": SUBNET_B.upper()}, {"id": SUBNET_A.lower()}],
        "ipRules": [{"value": "198.51.100.0/24"}, {"value": "203.0.113.10/32"}],
    })
    assert one == two
    assert one["default_action"] == "Deny"
    assert one["ip_rules"] == ["198.51.100.0/24", "203.0.113.10"]


def test_to_arm_keeps_the_given_spelling_of_subnet_ids():
    canonical = rules.merge(None, spec(virtual_network_subnet_ids=[SUBNET_A]))
    casing = rules.subnet_id_casing(None, {"virtual_network_subnet_ids": [SUBNET_A]})
    body = rules.to_arm(canonical, casing)
    assert body["virtualNetworkRules"] == [{"id": SUBNET_A, "action": "Allow"}]
    assert rules.from_arm(body) == canonical


# ---------------------------------------------------------------- merge and compare


def test_unset_spec_leaves_rules_alone():
    current = rules.from_arm({"defaultAction": "Allow", "ipRules": [{"value": "203.0.113.10"}]})
    assert rules.merge(current, None) == current
    assert rules.merge(current, spec()) == current


def test_new_account_with_rules_denies_by_default():
    assert rules.merge(None, spec(ip_rules=["203.0.113.10"]))["default_action"] == "Deny"
    assert rules.merge(None, spec(default_action="Allow"))["default_action"] == "Allow"
    assert rules.merge(None, None)["default_action"] == "Allow"


def test_existing_default_action_is_left_alone_when_not_given():
    current = rules.from_arm({"defaultAction": "Allow"})
    assert rules.merge(current, spec(ip_rules=["203.0.113.10"]))["default_action"] == "Allow"


def test_lists_are_added_to_without_purge():
    current = rules.from_arm({"ipRules": [{"value": "198.51.100.0/24"}], "virtualNetworkRules": [{"id": SUBNET_A}]})
    after = rules.merge(current, spec(ip_rules=["203.0.113.10"], virtual_network_subnet_ids=[SUBNET_B]))
    assert after["ip_rules"] == ["198.51.100.0/24", "203.0.113.10"]
    assert after["virtual_network_subnet_ids"] == sorted([SUBNET_A.lower(), SUBNET_B.lower()])


def test_purge_drops_what_is_not_listed():
    current = rules.from_arm({"ipRules": [{"value": "198.51.100.0/24"}, {"value": "203.0.113.10"}],
                              "virtualNetworkRules": [{"id": SUBNET_A}]})
    after = rules.merge(current, spec(ip_rules=["203.0.113.10"], purge_ip_rules=True))
    assert after["ip_rules"] == ["203.0.113.10"]
    assert after["virtual_network_subnet_ids"] == [SUBNET_A.lower()]  # not purged: its flag is off
    emptied = rules.merge(current, spec(virtual_network_subnet_ids=[], purge_virtual_network_rules=True))
    assert emptied["virtual_network_subnet_ids"] == []


def test_purge_without_a_list_is_refused():
    with pytest.raises(rules.NetworkRuleError, match="network_rules.purge_ip_rules"):
        spec(purge_ip_rules=True)


def test_same_rules_in_another_order_and_case_are_equal_and_unchanged():
    current = rules.from_arm({
        "defaultAction": "Deny", "bypass": "AzureServices, Logging",
        "virtualNetworkRules": [{"id": SUBNET_A}, {"id": SUBNET_B}],
        "ipRules": [{"value": "203.0.113.10"}, {"value": "198.51.100.0/24"}],
    })
    after = rules.merge(current, spec(
        default_action="Deny", bypass=["Logging", "AzureServices"],
        virtual_network_subnet_ids=[SUBNET_B.upper(), SUBNET_A], ip_rules=["198.51.100.0/24", "203.0.113.10/32"],
        purge_ip_rules=True, purge_virtual_network_rules=True,
    ))
    assert after == current  # the plain != used for "changed" sees no change
    assert rules.equal(after, current)
    assert rules.changes(current, after) == []


def test_rule_list_against_an_empty_current_list_is_stable():
    """azure.azcollection reported a change on every run here; the canonical form does not."""
    first = rules.merge(rules.from_arm({"defaultAction": "Deny"}), spec(ip_rules=["203.0.113.10"]))
    stored = rules.from_arm(rules.to_arm(first))
    assert rules.merge(stored, spec(ip_rules=["203.0.113.10"])) == stored


def test_changes_lists_each_difference():
    before = rules.from_arm({"defaultAction": "Allow", "ipRules": [{"value": "198.51.100.0/24"}]})
    after = rules.merge(before, spec(default_action="Deny", ip_rules=["203.0.113.10"], purge_ip_rules=True,
                                     virtual_network_subnet_ids=[SUBNET_A], bypass=["None"]))
    assert rules.changes(before, after) == [
        "default_action Allow -> Deny",
        "bypass AzureServices -> None",
        f"add virtual_network_subnet_ids {SUBNET_A.lower()}",
        "add ip_rules 203.0.113.10",
        "remove ip_rules 198.51.100.0/24",
    ]
    assert not rules.equal(before, after)
