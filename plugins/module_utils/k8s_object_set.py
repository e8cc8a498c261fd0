# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the k8s_object_set module.

One call reads everything first (the namespace, the preconditions, every object), decides per
object whether a write is needed, validates every needed write with a server-side dry run, and
only then writes, with server-side apply. A rerun that finds every object as wanted sends no
write request at all: an object counts as unchanged when the live object already holds every
field of the desired one and the field manager owns no field the desired object dropped;
anything less certain is settled by a server-side dry run, never by a write.

The comparison, check, placement and rollout-unblocking rules are pure functions, unit-tested
in tests/unit/plugins/module_utils/test_k8s_object_set.py; ObjectSet does the I/O with
kubernetes.core's API client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import functools
import json
import math
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_k8s import api_error_text, natural_key, selector_string
from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_monitor import SourceError

# Metadata the API server maintains: never part of a comparison or a diff.
SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
# Keys of list-map entries (fieldsV1 "k:{...}") that the API server fills in when left out.
DEFAULTED_KEYS = {"protocol": "TCP"}
REDACTED = "<redacted: Secret data is never shown>"
# A pod that cannot be placed because of pod anti-affinity (the scheduler's own wording:
# "didn't match pod anti-affinity rules", "didn't satisfy existing pods anti-affinity rules").
ANTI_AFFINITY_HINT = "anti-affinity"
REVISION_LABEL = "controller-revision-hash"
UNBLOCK_TICK = 5


class ObjectSetError(Exception):
    """A failure with a message for the user; nothing after it is written."""


# --------------------------------------------------------------------------- input
def validate_objects(objects, namespace):
    """Errors of the objects option, each naming the entry; returns [] when they are usable."""
    errors = []
    seen = {}
    for index, obj in enumerate(objects or []):
        where = "objects[{}]".format(index)
        if not isinstance(obj, dict):
            errors.append("{} is not a mapping (a Kubernetes object).".format(where))
            continue
        missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
        if not (obj.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            errors.append("{} ({}) has no {}.".format(where, obj.get("kind") or "unknown kind", ", ".join(missing)))
            continue
        key = identity(obj, namespace)
        if key in seen:
            errors.append("{} and objects[{}] are the same object ({}).".format(where, seen[key], describe(key)))
        seen[key] = index
    return errors


def validate_checks(checks):
    """Errors of the checks option, each naming the entry."""
    errors = []
    for index, check in enumerate(checks or []):
        where = "checks[{}]".format(index)
        if check.get("nodes"):
            if any(check.get(key) is not None for key in ("kind", "name", "fields", "exists")):
                errors.append("{}: a nodes check takes no kind, name, fields or exists.".format(where))
            continue
        missing = [key for key in ("api_version", "kind", "name") if not check.get(key)]
        if missing:
            errors.append("{}: an object check needs {} (or use nodes).".format(where, ", ".join(missing)))
        if (check.get("equals") is not None or check.get("contains") is not None) and not check.get("fields"):
            errors.append("{}: equals and contains need fields (the paths to compare).".format(where))
        if check.get("exists") is None and not check.get("fields"):
            errors.append("{}: says nothing to check; set exists, or fields with equals or contains.".format(where))
    return errors


def identity(obj, namespace=None):
    """(apiVersion, kind, namespace or None, name) of an object."""
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or namespace, meta["name"])


def describe(key):
    _api_version, kind, namespace, name = key
    return "{} {}/{}".format(kind, namespace, name) if namespace else "{} {}".format(kind, name)


# --------------------------------------------------------------------------- comparison
def contains(live, desired):
    """True when the live value holds everything the desired value sets.

    Mappings: every desired key with its value (a desired null means "absent", and a desired
    empty string matches an absent key: the API server drops empty strings of plain string
    fields, such as a PersistentVolume's storageClassName); lists: the same length and each item
    contained; scalars: equal. Fields the server adds are ignored.
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        for key, value in desired.items():
            if value is None or value == "":
                if live.get(key) not in (None, value):
                    return False
            elif key not in live or not contains(live[key], value):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(a, b) for a, b in zip(live, desired))
    return live == desired


def applied_fields(live, field_manager):
    """The fieldsV1 tree this field manager owns through apply (merged when there are several entries)."""
    owned = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            _merge(owned, entry.get("fieldsV1") or {})
    return owned


def _merge(into, tree):
    for key, value in tree.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into.setdefault(key, value)


def _list_item(desired, key_json):
    """The item of a desired list that a fieldsV1 "k:{...}" key names (None when there is none)."""
    try:
        wanted = json.loads(key_json)
    except ValueError:
        return None
    for item in desired:
        if isinstance(item, dict) and all(item.get(k, DEFAULTED_KEYS.get(k)) == v for k, v in wanted.items()):
            return item
    return None


def owns_dropped_field(owned, desired):
    """True when the manager owns a field (by fieldsV1) that the desired object no longer sets.

    Server-side apply would remove such a field; a plain "live contains desired" comparison
    cannot see that. Anything this walk cannot match counts as dropped (the caller then asks the
    server with a dry run, so a false alarm costs one request, never a wrong answer).
    """
    for key, sub in owned.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            name = key[2:]
            if not isinstance(desired, dict) or desired.get(name) is None:
                return True
            child = desired[name]
        elif key.startswith("k:"):
            child = _list_item(desired, key[2:]) if isinstance(desired, list) else None
            if child is None:
                return True
        elif key.startswith("v:"):
            try:
                value = json.loads(key[2:])
            except ValueError:
                return True
            if not isinstance(desired, list) or value not in desired:
                return True
            continue
        else:  # "i:<index>" and anything newer: not understood here
            return True
        if isinstance(sub, dict) and sub and owns_dropped_field(sub, child):
            return True
    return False


def comparable(obj):
    """The object without what the API server maintains (metadata bookkeeping and status)."""
    out = copy.deepcopy(obj) or {}
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in SERVER_METADATA:
        meta.pop(key, None)
    return out


def redacted(obj):
    """A copy that is safe to show: Secret values replaced."""
    if not obj or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = dict((name, REDACTED) for name in out[key])
    return out


def secret_values(obj):
    """The values of a Secret (and their decoded form) that must never be logged."""
    values = []
    if obj and obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            values.extend(v for v in (obj.get(key) or {}).values() if isinstance(v, str) and v)
        for value in (obj.get("data") or {}).values():
            try:
                decoded = base64.b64decode(value).decode("utf-8")
            except (TypeError, ValueError):
                continue
            if decoded:
                values.append(decoded)
    return values


def taken_over(live, managers):
    """The managedFields entries (operation Update, main resource) of the given managers."""
    return [entry for entry in (live.get("metadata") or {}).get("managedFields") or []
            if entry.get("manager") in (managers or []) and entry.get("operation") == "Update" and not entry.get("subresource")]


def merged_managed_fields(live, field_manager, managers):
    """managedFields with the fields of `managers` (Update entries) moved into field_manager's Apply entry.

    After this, server-side apply by field_manager removes what those managers had set and the
    desired objects no longer set - the way kubectl moves client-side apply ownership to
    server-side apply.
    """
    taken = taken_over(live, managers)
    kept, ours = [], None
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if any(entry is t for t in taken):
            continue
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply" and not entry.get("subresource") and ours is None:
            ours = copy.deepcopy(entry)
            continue
        kept.append(entry)
    if ours is None:
        ours = {"manager": field_manager, "operation": "Apply", "apiVersion": live.get("apiVersion"), "fieldsType": "FieldsV1",
                "fieldsV1": {}}
    for entry in taken:
        _merge(ours.setdefault("fieldsV1", {}), copy.deepcopy(entry.get("fieldsV1") or {}))
    return kept + [ours]


def plan_object(live, desired, field_manager, take_over=None):
    """What one object needs: 'create', 'unchanged', 'take_over' (fields of older managers to move to
    field_manager, then apply) or 'verify' (a dry run decides)."""
    if live is None:
        return "create"
    if taken_over(live, take_over):
        return "take_over"
    if contains(live, desired) and not owns_dropped_field(applied_fields(live, field_manager), desired):
        return "unchanged"
    return "verify"


# --------------------------------------------------------------------------- checks
def field_value(obj, paths, default=None):
    """The value at the first of `paths` (lists of keys; a number indexes a list) that is set in obj; else default."""
    for path in paths or []:
        value = obj
        for key in path:
            if isinstance(value, list) and str(key).isdigit():
                value = value[int(key)] if int(key) < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                break
        if value not in (None, "", [], {}):
            return value
    return default


def format_msg(template, **values):
    """str.format with the given placeholders; unknown or malformed placeholders stay as written."""
    class Keep(dict):
        def __missing__(self, key):
            return "{" + key + "}"

    try:
        return template.format_map(Keep(values))
    except (ValueError, IndexError, AttributeError):
        return template


def evaluate_object_check(check, live):
    """The failure message of an object check, or None when it passes."""
    if live is None:
        return format_msg(check["msg"], value="") if check.get("exists") else None
    if check.get("exists") is False:
        return format_msg(check["msg"], value="")
    if not check.get("fields"):
        return None
    value = field_value(live, check["fields"], check.get("default"))
    if check.get("equals") is not None and value != check["equals"]:
        return format_msg(check["msg"], value=_show(value))
    if check.get("contains") is not None and (not isinstance(value, list) or check["contains"] not in value):
        return format_msg(check["msg"], value=_show(value))
    return None


def _show(value):
    if isinstance(value, list):
        return ", ".join(to_native(v) for v in value) or "none"
    return "" if value is None else to_native(value)


def tolerates(tolerations, taint):
    """Whether a pod with these tolerations tolerates the node taint (Kubernetes' matching rules)."""
    for toleration in tolerations or []:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        operator = toleration.get("operator") or "Equal"
        key = toleration.get("key") or ""
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def node_problem(node, node_selector, tolerations):
    """Why a pod cannot be scheduled on this node (None when it can)."""
    spec = node.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if spec.get("unschedulable"):
        return "cordoned"
    wrong = sorted(key for key, value in (node_selector or {}).items() if labels.get(key) != value)
    if wrong:
        return "labels do not match the node selector ({})".format(", ".join(wrong))
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return "taint {}{}:{} not tolerated".format(
                taint.get("key"), "=" + taint["value"] if taint.get("value") else "", taint.get("effect"))
    return None


def plan_nodes_check(check, nodes, running_pods):
    """(failure message or None, details) of a nodes check.

    A node counts when a pod could be scheduled there now, or when it already runs one of the
    pods the check names (a cordoned node keeps its running pods).
    """
    spec = check["nodes"]
    usable, excluded = [], []
    hosting = set(p["spec"].get("nodeName") for p in running_pods if (p.get("spec") or {}).get("nodeName"))
    for node in sorted(nodes, key=lambda n: natural_key(n["metadata"]["name"])):
        name = node["metadata"]["name"]
        problem = node_problem(node, spec.get("node_selector"), spec.get("tolerations"))
        if problem is None or name in hosting:
            usable.append(name)
        else:
            excluded.append("{}: {}".format(name, problem))
    details = dict(count=len(usable), nodes=", ".join(usable) or "none",
                   excluded="; ".join(excluded) or "none", at_least=spec["at_least"])
    if len(usable) >= spec["at_least"]:
        return None, details
    return format_msg(check["msg"], **details), details


# --------------------------------------------------------------------------- readiness
def ready_state(obj):
    """(ready, what is missing) of an object after apply; kinds without a notion of ready are ready."""
    kind = obj.get("kind")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj.get("metadata") or {}
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase") or "Pending"
        return phase == "Bound", "claim is {}, not Bound".format(phase)
    if kind in ("StatefulSet", "Deployment", "DaemonSet") and (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return False, "the controller has not seen generation {} yet".format(meta.get("generation"))
    if kind == "StatefulSet":
        want = spec.get("replicas", 1)
        ready, updated = status.get("readyReplicas") or 0, status.get("updatedReplicas") or 0
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        rolled = on_delete or want == 0 or (updated >= want and status.get("currentRevision") == status.get("updateRevision"))
        if (status.get("replicas") or 0) == want and ready >= want and rolled:
            return True, ""
        return False, "{0}/{1} pods ready, {2}/{1} at the new revision".format(ready, want, updated)
    if kind == "Deployment":
        want = spec.get("replicas", 1)
        available, updated = status.get("availableReplicas") or 0, status.get("updatedReplicas") or 0
        if available >= want and updated >= want and not status.get("unavailableReplicas"):
            return True, ""
        return False, "{0}/{1} pods available, {2}/{1} updated".format(available, want, updated)
    return True, ""


def unschedulable(pod):
    """The scheduler's message when the pod is Pending and cannot be placed, else None."""
    if (pod.get("status") or {}).get("phase") != "Pending" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" and condition.get("reason") == "Unschedulable":
            return condition.get("message") or "unschedulable"
    return None


RECREATED = "recreated so the scheduler judges it again against the pods there are now"


def plan_unblock(statefulset, pods, ft_states=None, recreated=()):
    """Pods to delete so that a StatefulSet rollout can go on: ([names], why) or ([], None).

    1. Pods of an outdated revision that are Pending and unschedulable run nothing: all of them.
    2. A pod of the new revision that cannot be scheduled because of pod anti-affinity may have been
       judged against pods that are gone (the scheduler retries such a pod only after a back-off):
       recreate it, once since the last outdated pod was replaced (`recreated`: the pods recreated
       since then), so that the verdict is fresh.
    3. If it still cannot be scheduled, one outdated pod that may block it: FT_STANDBY servers
       first, the FT_ACTIVE one last (ft_states: {pod: state}, optional), then the highest ordinal
       first (the StatefulSet controller's own order).
    Nothing happens while a pod is terminating: the controller recreates it first.
    """
    update = (statefulset.get("status") or {}).get("updateRevision")
    if not update:
        return [], None
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]

    def revision(pod):
        return ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)

    stale_pending = sorted((p["metadata"]["name"] for p in live if revision(p) != update and unschedulable(p)), key=natural_key)
    if stale_pending:
        return stale_pending, "outdated pods that cannot be scheduled (they run nothing)"
    if len(live) != len(pods):
        return [], None
    blocked = [p for p in live if revision(p) == update and ANTI_AFFINITY_HINT in (unschedulable(p) or "")]
    if not blocked:
        return [], None
    fresh = [p["metadata"]["name"] for p in blocked if p["metadata"]["name"] not in recreated]
    if fresh:
        return fresh, "cannot be scheduled because of pod anti-affinity: " + RECREATED
    outdated = [p["metadata"]["name"] for p in live if revision(p) != update]
    if not outdated:
        return [], None  # the new revision itself cannot be placed: the wait reports it
    states = ft_states or {}
    rank = {"FT_STANDBY": 0, "FT_ACTIVE": 2}
    outdated.sort(key=lambda name: [-part if isinstance(part, int) else part for part in natural_key(name)])
    outdated.sort(key=lambda name: rank.get(states.get(name), 1))
    return [outdated[0]], "{} of the new revision cannot be scheduled: {}".format(
        blocked[0]["metadata"]["name"], unschedulable(blocked[0]))


# --------------------------------------------------------------------------- I/O
class ObjectSet:
    """Reads, checks, writes and waits for one set of objects with kubernetes.core's client."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.namespace = self.params.get("namespace")
        self.field_manager = self.params["field_manager"]
        self.results = []
        self.diffs = []
        self.replaced = []
        self.resources = {}

    # ---- API helpers
    def resource(self, api_version, kind):
        key = (api_version, kind)
        if key not in self.resources:
            from kubernetes.dynamic.exceptions import ResourceNotFoundError

            try:
                self.resources[key] = self.client.resource(kind, api_version)
            except ResourceNotFoundError:
                raise ObjectSetError(
                    "objects: the cluster does not serve kind {} in {} (a missing CustomResourceDefinition or a "
                    "wrong apiVersion).".format(kind, api_version))
        return self.resources[key]

    def path(self, key):
        api_version, kind, namespace, name = key
        resource = self.resource(api_version, kind)
        return resource, resource.path(name=name, namespace=namespace if resource.namespaced else None)

    def read(self, key):
        """The object as a dict, or None when it does not exist."""
        from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

        _resource, path = self.path(key)
        try:
            return self.client.client.request("get", path).to_dict()
        except NotFoundError:
            return None
        except DynamicApiError as e:
            raise ObjectSetError("reading {} failed: {}".format(describe(key), api_error_text(e)))

    def listing(self, kind, namespace=None, label_selector=None):
        """Items of a core/v1 kind; the API's errors are left to the caller."""
        resource = self.resource("v1", kind)
        path = resource.path(namespace=namespace if resource.namespaced else None)
        return self.client.client.request("get", path, label_selector=label_selector).to_dict().get("items") or []

    def apply(self, key, body, dry_run):
        from kubernetes.dynamic.exceptions import DynamicApiError

        _resource, path = self.path(key)
        try:
            return self.client.client.request(
                "patch", path, body=body, content_type="application/apply-patch+yaml",
                field_manager=self.field_manager, force_conflicts=self.params["force_conflicts"],
                dry_run="All" if dry_run else None,
            ).to_dict()
        except DynamicApiError as e:
            raise ObjectSetError("{}: the API server refused {}: {}".format(
                describe(key), "the change in a dry run (nothing was written)" if dry_run else "the change", api_error_text(e)))

    def delete(self, key, propagation=None):
        from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

        _resource, path = self.path(key)
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            self.client.client.request("delete", path, body=body)
        except NotFoundError:
            return False
        except DynamicApiError as e:
            raise ObjectSetError("deleting {} failed: {}".format(describe(key), api_error_text(e)))
        return True

    def watch_until(self, key, done, deadline, on_tick=None):
        """Follow one object with a watch until done(obj) holds (obj None: it does not exist).

        Reacts to each change as the API server reports it, nothing polls on a timer. With
        on_tick, the watch is reopened every UNBLOCK_TICK seconds without a change, after
        calling on_tick(obj). Returns the last object seen.
        """
        resource, _path = self.path(key)
        namespace = key[2] if resource.namespaced else None
        obj = self.read(key)
        while not done(obj):
            remaining = deadline - time.time()
            if remaining <= 0:
                return obj
            if obj is not None:
                version = obj["metadata"].get("resourceVersion")
            else:
                version = self.client.client.request("get", resource.path(namespace=namespace), field_selector="metadata.name=" + key[3],
                                                     limit=1).to_dict()["metadata"].get("resourceVersion")
            seconds = max(1, int(math.ceil(min(remaining, UNBLOCK_TICK) if on_tick else remaining)))
            events = 0
            for event in self.client.client.watch(resource, namespace=namespace, name=key[3], resource_version=version, timeout=seconds):
                if event["type"] == "ERROR":
                    break  # e.g. 410 Gone: read again and watch from there
                events += 1
                obj = None if event["type"] == "DELETED" else event["raw_object"]
                if done(obj):
                    return obj
            if not events and on_tick:
                on_tick(obj)
            obj = self.read(key)
        return obj

    # ---- checks
    def run_checks(self):
        failures = []
        for check in self.params["checks"] or []:
            if check.get("nodes"):
                failures.extend(self.run_nodes_check(check))
                continue
            key = (check["api_version"], check["kind"], check.get("namespace") or None, check["name"])
            problem = evaluate_object_check(check, self.read(key))
            if problem:
                failures.append(problem)
        if failures:
            raise ObjectSetError(" ".join(failures))

    def run_nodes_check(self, check):
        from kubernetes.dynamic.exceptions import DynamicApiError

        spec = check["nodes"]
        try:
            nodes = self.listing("Node")
            pods = []
            namespace = check.get("namespace") or self.namespace
            if spec.get("running_pods_selector") and namespace:
                selector = selector_string({"matchLabels": spec["running_pods_selector"]})
                pods = [p for p in self.listing("Pod", namespace, selector)
                        if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        except DynamicApiError as e:
            if getattr(e, "status", None) == 403:
                self.module.warn("Not allowed to list nodes or pods ({}), so this check was skipped: {}".format(
                    api_error_text(e), format_msg(check["msg"], count="?", nodes="?", excluded="?", at_least=spec["at_least"])))
                return []
            raise ObjectSetError("listing the nodes failed: {}".format(api_error_text(e)))
        problem, _details = plan_nodes_check(check, nodes, pods)
        return [problem] if problem else []

    # ---- state present
    def present(self):
        check_mode = self.module.check_mode
        namespace_key = ("v1", "Namespace", None, self.namespace)
        self.run_checks()
        namespace_missing = bool(self.namespace) and self.read(namespace_key) is None
        if namespace_missing and not self.params["create_namespace"]:
            raise ObjectSetError("namespace: {} does not exist; create it first or set create_namespace: true.".format(self.namespace))

        # 1. read every object and decide; 2. dry-run every write; 3. write (unless check mode).
        plans = []
        for obj in self.params["objects"]:
            key = self.key_of(obj)
            body = copy.deepcopy(obj)
            if key[2]:
                body["metadata"]["namespace"] = key[2]
            unreadable = namespace_missing and key[2] == self.namespace  # nothing exists in it yet
            live = None if unreadable else self.read(key)
            plans.append(dict(key=key, body=body, live=live, action=plan_object(live, body, self.field_manager, self.params["take_over_from"]),
                              after=body, dry_run=not unreadable))
        for plan in plans:
            if plan["action"] != "unchanged" and plan["dry_run"]:
                plan["after"] = self.apply(plan["key"], plan["body"], dry_run=True)
                if plan["action"] == "verify":
                    plan["action"] = "unchanged" if comparable(plan["after"]) == comparable(plan["live"]) else "update"

        if namespace_missing:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            if not check_mode:
                self.apply(namespace_key, body, dry_run=False)
            self.record(namespace_key, "created", None, body)
        settled = []
        for plan in plans:
            key, action = plan["key"], plan["action"]
            if action == "unchanged":
                self.record(key, "unchanged", plan["live"], plan["live"])
                settled.append((key, plan["live"]))
                continue
            if action == "take_over" and not check_mode:
                self.take_over(key, plan["live"])
            after = plan["after"] if check_mode else self.apply(key, plan["body"], dry_run=False)
            self.record(key, "created" if action == "create" else "updated", plan["live"], after)
            settled.append((key, after))
        if self.params["wait"] and not check_mode:
            self.wait_ready(settled)

    def take_over(self, key, live):
        """Move the fields of the take_over_from managers to our apply entry (guarded by resourceVersion)."""
        from kubernetes.dynamic.exceptions import DynamicApiError

        _resource, path = self.path(key)
        body = {"metadata": {"resourceVersion": live["metadata"]["resourceVersion"],
                             "managedFields": merged_managed_fields(live, self.field_manager, self.params["take_over_from"])}}
        try:
            self.client.client.request("patch", path, body=body, content_type="application/merge-patch+json",
                                       field_manager=self.field_manager)
        except DynamicApiError as e:
            raise ObjectSetError("{}: taking over the fields of {} failed: {}".format(
                describe(key), ", ".join(self.params["take_over_from"]), api_error_text(e)))

    def key_of(self, obj):
        key = identity(obj, self.namespace)
        resource = self.resource(key[0], key[1])
        if not resource.namespaced:
            return (key[0], key[1], None, key[3])
        if not key[2]:
            raise ObjectSetError("{}: a namespaced object needs metadata.namespace or the namespace option.".format(describe(key)))
        return key

    def wait_ready(self, settled):
        deadline = time.time() + self.params["wait_timeout"]
        for key, obj in settled:
            if obj is not None and ready_state(obj)[0]:
                continue  # read or written just now: ready without another request
            on_tick = None
            if key[1] == "StatefulSet" and self.params["replace_blocking_pods"]:
                on_tick = functools.partial(self.unblock, key)
            last = self.watch_until(key, lambda o: o is not None and ready_state(o)[0], deadline, on_tick)
            if last is None or not ready_state(last)[0]:
                missing = ready_state(last)[1] if last is not None else "it does not exist"
                raise ObjectSetError("{} is not ready after {} s: {}.{}".format(
                    describe(key), self.params["wait_timeout"], missing, self.stuck_pods(key, last)))

    def pods_of(self, key, statefulset):
        selector = selector_string((statefulset.get("spec") or {}).get("selector"))
        return self.listing("Pod", key[2], selector) if selector else []

    def stuck_pods(self, key, obj):
        if key[1] != "StatefulSet" or obj is None:
            return ""
        stuck = ["{}: {}".format(p["metadata"]["name"], unschedulable(p)) for p in self.pods_of(key, obj) if unschedulable(p)]
        return " Pods that cannot be scheduled: " + "; ".join(stuck) if stuck else ""

    def unblock(self, key, statefulset):
        if statefulset is None:
            return
        pods = self.pods_of(key, statefulset)
        states = self.ft_states(key, pods) if self.params.get("monitor_port") else {}
        recreated = []
        for entry in self.replaced:  # the blocked pods recreated since the last outdated pod was replaced
            recreated = recreated + [entry["pod"]] if entry["reason"].endswith(RECREATED) else []
        names, why = plan_unblock(statefulset, pods, states, recreated)
        for name in names:
            if self.delete(("v1", "Pod", key[2], name)):
                self.replaced.append(dict(pod=name, reason=why, ft_state=states.get(name)))

    def ft_states(self, key, pods):
        """{pod: FT state} read through the pod proxy; a pod that does not answer has none."""
        from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_k8s import K8sSource

        source = K8sSource(self.client, key[2], port=self.params["monitor_port"], timeout=3)
        return dict((pod["metadata"]["name"], source.fetch(pod).get("state")) for pod in pods)

    # ---- state absent
    def absent(self):
        check_mode = self.module.check_mode
        going = []
        for obj in reversed(self.params["objects"]):
            key = self.key_of(obj)
            live = self.read(key)
            if live is None:
                self.record(key, "absent", None, None)
                continue
            going.append(key)
            if live["metadata"].get("deletionTimestamp"):
                self.record(key, "absent", None, None)  # already being deleted: nothing to do but wait
                continue
            if not check_mode:
                self.delete(key, self.params["propagation_policy"])
            self.record(key, "deleted", live, None)
        if self.params["wait"] and not check_mode:
            deadline = time.time() + self.params["wait_timeout"]
            for key in going:
                last = self.watch_until(key, lambda o: o is None, deadline)
                if last is not None:
                    raise ObjectSetError("{} still exists after {} s (finalizers: {}).".format(
                        describe(key), self.params["wait_timeout"], ", ".join(last["metadata"].get("finalizers") or []) or "none"))

    def record(self, key, action, before, after):
        api_version, kind, namespace, name = key
        self.results.append(dict(api_version=api_version, kind=kind, namespace=namespace, name=name, action=action))
        if action in ("created", "updated", "deleted"):
            self.diffs.append(dict(
                before_header=describe(key), after_header=describe(key),
                before=redacted(comparable(before)) if before else {},
                after=redacted(comparable(after)) if after else {},
            ))


def run(module):
    """Entry point of nats_streaming.ft.k8s_object_set."""
    params = module.params
    for obj in params["objects"] or []:
        for value in secret_values(obj):
            getattr(module, "_module", module).no_log_values.add(value)
    errors = validate_objects(params["objects"], params.get("namespace")) + validate_checks(params["checks"])
    if errors:
        module.fail_json(msg=" ".join(errors))
    from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_k8s import k8s_client

    try:
        objects = ObjectSet(module, k8s_client(module))
        if params["state"] == "present":
            objects.present()
        else:
            objects.absent()
    except (ObjectSetError, SourceError) as e:
        module.fail_json(msg=to_native(e))
    changed = bool(objects.replaced) or any(r["action"] in ("created", "updated", "deleted") for r in objects.results)
    result = dict(changed=changed, objects=objects.results, replaced_pods=objects.replaced)
    if module._diff:
        result["diff"] = objects.diffs
    module.exit_json(**result)
