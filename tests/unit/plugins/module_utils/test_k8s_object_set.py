"""Pure rules of k8s_object_set (plugins/module_utils/k8s_object_set.py): when an object needs a
write, how checks and node placement are judged, and which pods unblock a StatefulSet rollout.

The I/O side runs against the real kube-apiserver in tests/integration/test_k8s_object_set.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import k8s_object_set as kos

MANAGER = "nats_streaming.ft"


def service(**spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stan", "namespace": "mq"},
            "spec": {"clusterIP": "None", "ports": [{"name": "client", "port": 4222}], **spec}}


def live_of(desired, owned=None, **extra):
    """A live object: the desired one with server-filled fields, and managedFields for MANAGER."""
    live = json.loads(json.dumps(desired))
    live["metadata"].update(resourceVersion="7", uid="u-1", managedFields=[
        {"manager": MANAGER, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": owned or {}},
        {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {}}},
    ])
    live["spec"]["sessionAffinity"] = "None"
    for port in live["spec"].get("ports", []):
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])
    live.update(extra)
    return live


OWNED_SERVICE = {
    "f:metadata": {"f:name": {}, "f:namespace": {}},
    "f:spec": {"f:clusterIP": {}, "f:ports": {'k:{"port":4222,"protocol":"TCP"}': {".": {}, "f:name": {}, "f:port": {}}}},
}


# --------------------------------------------------------------------------- comparison
def test_an_object_the_server_only_added_defaults_to_needs_no_write():
    desired = service()
    assert kos.plan_object(live_of(desired, OWNED_SERVICE), desired, MANAGER) == "unchanged"


def test_a_missing_object_is_created():
    assert kos.plan_object(None, service(), MANAGER) == "create"


def test_a_changed_value_needs_a_dry_run():
    live = live_of(service(), OWNED_SERVICE)
    assert kos.plan_object(live, service(ports=[{"name": "client", "port": 4223}]), MANAGER) == "verify"


def test_a_field_the_manager_owns_but_no_longer_sets_needs_a_dry_run():
    desired_before = service(publishNotReadyAddresses=True)
    owned = json.loads(json.dumps(OWNED_SERVICE))
    owned["f:spec"]["f:publishNotReadyAddresses"] = {}
    live = live_of(desired_before, owned)
    # Dropping the field: "live contains desired" still holds, the ownership tells.
    assert kos.contains(live, service())
    assert kos.plan_object(live, service(), MANAGER) == "verify"


def test_fields_owned_by_another_manager_do_not_count():
    live = live_of(service(), OWNED_SERVICE)
    live["metadata"]["managedFields"].append(
        {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:externalName": {}}}})
    assert kos.plan_object(live, service(), MANAGER) == "unchanged"


def test_an_object_never_applied_by_the_manager_is_judged_by_its_content():
    live = live_of(service())
    live["metadata"]["managedFields"] = []
    assert kos.plan_object(live, service(), MANAGER) == "unchanged"
    assert kos.plan_object(live, service(clusterIP="10.0.0.1"), MANAGER) == "verify"


@pytest.mark.parametrize(
    ("live", "desired", "expected"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": [1, 2]}, {"a": [1, 2]}, True),
        ({"a": [1, 2]}, {"a": [2, 1]}, False),
        ({"a": [1, 2, 3]}, {"a": [1, 2]}, False),
        ({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]}, True),
        ({"a": None}, {"a": None}, True),
        ({"a": 1}, {"a": None}, False),
        ({}, {"storageClassName": ""}, True),  # dropped by the server
        ({"storageClassName": "gp2"}, {"storageClassName": ""}, False),
        ({"cpu": "500m"}, {"cpu": "0.5"}, False),  # normalized by the server: a dry run decides
        ({"a": {"b": 1}}, {"a": "x"}, False),
    ],
)
def test_contains(live, desired, expected):
    assert kos.contains(live, desired) is expected


def test_list_map_keys_the_server_defaults_are_matched():
    owned = {"f:spec": {"f:ports": {'k:{"containerPort":4222,"protocol":"TCP"}': {".": {}}}}}
    assert not kos.owns_dropped_field(owned, {"spec": {"ports": [{"containerPort": 4222}]}})
    assert kos.owns_dropped_field(owned, {"spec": {"ports": [{"containerPort": 4223}]}})
    udp = {"f:spec": {"f:ports": {'k:{"containerPort":4222,"protocol":"UDP"}': {".": {}}}}}
    assert kos.owns_dropped_field(udp, {"spec": {"ports": [{"containerPort": 4222}]}})


def test_set_lists_and_unknown_keys():
    owned = {"f:spec": {"f:accessModes": {}, "f:finalizers": {'v:"a"': {}}}}
    assert not kos.owns_dropped_field(owned, {"spec": {"accessModes": ["ReadWriteMany"], "finalizers": ["a", "b"]}})
    assert kos.owns_dropped_field(owned, {"spec": {"accessModes": ["ReadWriteMany"], "finalizers": ["b"]}})
    assert kos.owns_dropped_field({"f:spec": {"i:0": {}}}, {"spec": {}})


def test_comparable_drops_server_bookkeeping_and_status():
    live = live_of(service(), OWNED_SERVICE, status={"loadBalancer": {}})
    out = kos.comparable(live)
    assert "status" not in out and set(out["metadata"]) == {"name", "namespace"}
    assert "managedFields" in live["metadata"]  # the input is left alone


def test_secret_values_are_redacted_and_listed_for_masking():
    key = "not-a-real-key"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"azurestorageaccountkey": base64.b64encode(key.encode()).decode()}}
    assert kos.redacted(secret)["data"] == {"azurestorageaccountkey": kos.REDACTED}
    assert secret["data"]["azurestorageaccountkey"] != kos.REDACTED
    assert set(kos.secret_values(secret)) == {key, secret["data"]["azurestorageaccountkey"]}
    assert kos.secret_values(service()) == []


# --------------------------------------------------------------------------- input
def test_objects_are_validated_naming_the_entry():
    errors = kos.validate_objects([service(), {"kind": "ConfigMap", "metadata": {"name": "x"}}, "text", service()], "mq")
    assert errors == [
        "objects[1] (ConfigMap) has no apiVersion.",
        "objects[2] is not a mapping (a Kubernetes object).",
        "objects[3] and objects[0] are the same object (Service mq/stan).",
    ]


def test_checks_are_validated_naming_the_entry():
    errors = kos.validate_checks([
        {"kind": "CSIDriver", "name": "efs.csi.aws.com", "exists": True, "msg": "m"},
        {"api_version": "v1", "kind": "Pod", "name": "p", "equals": 1, "msg": "m"},
        {"nodes": {"at_least": 3}, "kind": "Node", "msg": "m"},
        {"api_version": "v1", "kind": "Pod", "name": "p", "msg": "m"},
    ])
    assert errors == [
        "checks[0]: an object check needs api_version (or use nodes).",
        "checks[1]: equals and contains need fields (the paths to compare).",
        "checks[1]: says nothing to check; set exists, or fields with equals or contains.",
        "checks[2]: a nodes check takes no kind, name, fields or exists.",
        "checks[3]: says nothing to check; set exists, or fields with equals or contains.",
    ]


# --------------------------------------------------------------------------- checks
CLAIM = {"metadata": {"name": "efs", "annotations": {"volume.beta.kubernetes.io/storage-class": "aws-efs"}},
         "spec": {"accessModes": ["ReadWriteOnce"]}}


def test_object_checks():
    exists = {"exists": True, "msg": "no claim"}
    assert kos.evaluate_object_check(exists, None) == "no claim"
    assert kos.evaluate_object_check(exists, CLAIM) is None
    assert kos.evaluate_object_check({"exists": False, "msg": "in the way"}, CLAIM) == "in the way"
    rwx = {"fields": [["spec", "accessModes"]], "contains": "ReadWriteMany", "msg": "modes {value}"}
    assert kos.evaluate_object_check(rwx, CLAIM) == "modes ReadWriteOnce"
    assert kos.evaluate_object_check(rwx, None) is None  # only judged when the object exists
    storage_class = {"fields": [["spec", "storageClassName"], ["metadata", "annotations", "volume.beta.kubernetes.io/storage-class"]],
                     "default": "", "equals": "", "msg": "class '{value}'"}
    assert kos.evaluate_object_check(storage_class, CLAIM) == "class 'aws-efs'"
    assert kos.evaluate_object_check(storage_class, {"spec": {"storageClassName": ""}}) is None


def test_fields_index_lists():
    sts = {"spec": {"volumeClaimTemplates": [{"metadata": {"name": "jetstream"}}]}}
    path = [["spec", "volumeClaimTemplates", "0", "metadata", "name"]]
    assert kos.field_value(sts, path, "") == "jetstream"
    assert kos.field_value({"spec": {"volumeClaimTemplates": []}}, path, "") == ""
    assert kos.field_value({"spec": {}}, [["spec", "volumeClaimTemplates", "1"]], "none") == "none"


def test_format_msg_keeps_unknown_placeholders():
    assert kos.format_msg("{count} of {at_least} {other}", count=2, at_least=3) == "2 of 3 {other}"
    assert kos.format_msg("a { b", count=1) == "a { b"


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        ({"key": "dedicated", "operator": "Equal", "value": "stan", "effect": "NoSchedule"},
         {"key": "dedicated", "value": "stan", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "value": "stan"}, {"key": "dedicated", "value": "stan", "effect": "NoExecute"}, True),
        ({"key": "dedicated", "value": "other"}, {"key": "dedicated", "value": "stan", "effect": "NoSchedule"}, False),
        ({"key": "dedicated", "operator": "Exists"}, {"key": "dedicated", "value": "x", "effect": "NoSchedule"}, True),
        ({"operator": "Exists"}, {"key": "anything", "effect": "NoSchedule"}, True),
        ({"operator": "Exists", "effect": "NoExecute"}, {"key": "anything", "effect": "NoSchedule"}, False),
    ],
)
def test_tolerations_match_like_kubernetes(toleration, taint, expected):
    assert kos.tolerates([toleration], taint) is expected


def node(name, labels=None, taints=None, cordoned=False):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or [], **({"unschedulable": True} if cordoned else {})}}


NODES = [
    node("w-1", {"zone": "a"}),
    node("w-2", {"zone": "b"}, cordoned=True),
    node("w-3", {"zone": "c"}, taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
    node("w-4", {"zone": "a"}, taints=[{"key": "spot", "effect": "PreferNoSchedule"}]),
    node("cp", {"node-role.kubernetes.io/control-plane": ""}, taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
]
PLACEMENT = {"nodes": {"at_least": 5, "node_selector": {}, "tolerations": []},
             "msg": "{at_least} replicas, {count} nodes ({nodes}); not: {excluded}"}


def test_nodes_check_counts_schedulable_nodes_and_says_why_others_are_not():
    problem, details = kos.plan_nodes_check(PLACEMENT, NODES, [])
    assert details["count"] == 2 and details["nodes"] == "w-1, w-4"
    assert problem == ("5 replicas, 2 nodes (w-1, w-4); not: cp: taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated; "
                       "w-2: cordoned; w-3: taint dedicated=db:NoSchedule not tolerated")


def test_nodes_check_respects_selector_tolerations_and_running_pods():
    check = {"nodes": {"at_least": 2, "node_selector": {"zone": "a"}, "tolerations": []}, "msg": "m"}
    assert kos.plan_nodes_check(check, NODES, [])[0] is None
    check = {"nodes": {"at_least": 3, "node_selector": {},
                       "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}, "msg": "m"}
    assert kos.plan_nodes_check(check, NODES, [])[1]["nodes"] == "w-1, w-3, w-4"
    # A cordoned node still running one of the pods counts: that replica is placed already.
    running = [{"spec": {"nodeName": "w-2"}}]
    assert kos.plan_nodes_check(check, NODES, running)[1]["nodes"] == "w-1, w-2, w-3, w-4"


# --------------------------------------------------------------------------- readiness
def sts(replicas=3, generation=2, observed=2, ready=3, updated=3, current="r1", update="r1", status_replicas=None):
    return {"kind": "StatefulSet", "metadata": {"name": "stan", "generation": generation},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "stan"}}},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": updated,
                       "replicas": replicas if status_replicas is None else status_replicas,
                       "currentRevision": current, "updateRevision": update}}


@pytest.mark.parametrize(
    ("obj", "ready"),
    [
        (sts(), True),
        (sts(observed=1), False),
        (sts(ready=2), False),
        (sts(updated=2, current="r1", update="r2"), False),
        (sts(updated=3, current="r1", update="r2"), False),  # the controller has not finished the rollout
        (sts(status_replicas=5), False),  # scaling down: two pods still to go
        ({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}, True),
        ({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}, False),
        ({"kind": "PersistentVolumeClaim"}, False),
        ({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1},
          "status": {"observedGeneration": 1, "availableReplicas": 1, "updatedReplicas": 1}}, True),
        ({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1},
          "status": {"observedGeneration": 1, "availableReplicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1}}, False),
        ({"kind": "ConfigMap"}, True),
    ],
)
def test_ready_state(obj, ready):
    assert kos.ready_state(obj)[0] is ready


# --------------------------------------------------------------------------- unblocking a rollout
def pod(name, revision, phase="Running", message=None, deleting=False):
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}] if message else []
    meta = {"name": name, "labels": {"app": "stan", kos.REVISION_LABEL: revision}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions}}


ANTI = "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."
STUCK = sts(replicas=5, ready=3, updated=0, current="old", update="new")


def test_outdated_pending_pods_are_replaced_first():
    pods = [pod("stan-0", "old"), pod("stan-1", "old"), pod("stan-2", "old"),
            pod("stan-3", "old", "Pending", "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")]
    assert kos.plan_unblock(STUCK, pods)[0] == ["stan-3"]


def test_a_new_pod_blocked_by_anti_affinity_is_first_judged_again_then_one_outdated_pod_is_replaced_standby_first():
    pods = [pod("stan-0", "old"), pod("stan-1", "old"), pod("stan-2", "old"), pod("stan-3", "new", "Pending", ANTI)]
    names, why = kos.plan_unblock(STUCK, pods)
    assert names == ["stan-3"] and why.endswith(kos.RECREATED)  # a fresh verdict before any running pod goes
    names, why = kos.plan_unblock(STUCK, pods, recreated=["stan-3"])
    assert names == ["stan-2"] and "stan-3" in why and "anti-affinity" in why  # highest ordinal without FT states
    states = {"stan-0": "FT_STANDBY", "stan-1": "FT_STANDBY", "stan-2": "FT_ACTIVE"}
    assert kos.plan_unblock(STUCK, pods, states, ["stan-3"])[0] == ["stan-1"]
    states = {"stan-0": "FT_STANDBY", "stan-1": "FT_ACTIVE", "stan-2": None}
    assert kos.plan_unblock(STUCK, pods, states, ["stan-3"])[0] == ["stan-0"]


def test_nothing_is_replaced_while_a_pod_terminates_or_for_other_reasons():
    terminating = [pod("stan-0", "old"), pod("stan-1", "old"), pod("stan-2", "old", deleting=True),
                   pod("stan-3", "new", "Pending", ANTI)]
    assert kos.plan_unblock(STUCK, terminating) == ([], None)
    resources = [pod("stan-0", "old"), pod("stan-3", "new", "Pending", "0/3 nodes are available: 3 Insufficient cpu.")]
    assert kos.plan_unblock(STUCK, resources) == ([], None)
    healthy = [pod("stan-0", "new"), pod("stan-1", "old")]
    assert kos.plan_unblock(STUCK, healthy) == ([], None)
    assert kos.plan_unblock(sts(update=None), [pod("stan-3", "x", "Pending", ANTI)]) == ([], None)


# --------------------------------------------------------------------------- taking over an older manager's fields
OLD = "OpenAPI-Generator"


def test_objects_another_manager_created_are_taken_over_once():
    live = live_of(service(), OWNED_SERVICE)
    live["metadata"]["managedFields"].append({"manager": OLD, "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                                              "fieldsV1": {"f:spec": {"f:publishNotReadyAddresses": {}}}})
    assert kos.plan_object(live, service(), MANAGER, [OLD]) == "take_over"
    assert kos.plan_object(live, service(), MANAGER, []) == "unchanged"  # not asked to: plain server-side apply rules
    merged = kos.merged_managed_fields(live, MANAGER, [OLD])
    assert [m["manager"] for m in merged] == ["kube-controller-manager", MANAGER]
    ours = merged[-1]["fieldsV1"]
    assert "f:publishNotReadyAddresses" in ours["f:spec"] and "f:clusterIP" in ours["f:spec"]
    # Once ours, a field the desired object does not set is one server-side apply would remove.
    after = json.loads(json.dumps(live))
    after["metadata"]["managedFields"] = merged
    assert kos.plan_object(after, service(), MANAGER, [OLD]) == "verify"


def test_take_over_creates_the_apply_entry_when_there_is_none():
    live = live_of(service())
    live["metadata"]["managedFields"] = [{"manager": OLD, "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                                          "fieldsV1": OWNED_SERVICE},
                                         {"manager": OLD, "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {}}}]
    merged = kos.merged_managed_fields(live, MANAGER, [OLD])
    assert merged[0]["subresource"] == "status"  # status entries are not ours to take
    assert merged[1] == {"manager": MANAGER, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": OWNED_SERVICE}


def test_when_the_new_revision_itself_cannot_be_placed_nothing_more_is_deleted():
    pods = [pod("stan-0", "new"), pod("stan-1", "new"), pod("stan-2", "new"), pod("stan-3", "new", "Pending", ANTI)]
    assert kos.plan_unblock(STUCK, pods)[0] == ["stan-3"]  # once, in case the verdict is stale
    assert kos.plan_unblock(STUCK, pods, recreated=["stan-3"]) == ([], None)
