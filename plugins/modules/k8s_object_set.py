#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_object_set
short_description: Apply a set of Kubernetes objects in one call, validated first and written only where they differ
version_added: 0.1.0
description:
  - Applies (O(state=present)) or deletes (O(state=absent)) a list of Kubernetes objects, such as the
    objects a role renders, in one module call and in the given order (deletion in reverse order).
  - Everything is read and checked before the first write - the namespace, every O(checks) entry and
    every object - and every needed write is first sent as a server-side dry run, so input the API server
    refuses (schema, immutable fields, admission) fails before anything is written.
  - An object is left alone, without any write request, when the live object already holds every field
    of the desired one and the field manager owns no field the desired object dropped. When that cannot be
    told from the live object (for example a quantity the API server rewrites), a server-side dry run
    decides; a write happens only when the dry run's result differs from the live object.
  - Writes are server-side apply with O(field_manager), so fields other managers own are kept.
  - O(wait=true) follows each object with a watch until it is ready - a PersistentVolumeClaim Bound, a
    StatefulSet or Deployment rolled out and ready - and reacts to each change as the API server reports it.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  state:
    description:
      - V(present) creates or updates the objects, V(absent) deletes them (only their identity is used).
    type: str
    choices: [present, absent]
    default: present
  objects:
    description:
      - The objects, each a complete Kubernetes manifest with C(apiVersion), C(kind) and C(metadata.name).
      - Namespaced objects without C(metadata.namespace) go into O(namespace).
    type: list
    elements: dict
    required: true
  namespace:
    description:
      - The namespace of the set. It must exist unless O(create_namespace=true); namespaced objects without
        C(metadata.namespace) go into it.
    type: str
  create_namespace:
    description:
      - Create O(namespace) when it does not exist (O(state=present) only).
      - In check mode objects in a namespace that does not exist yet cannot be dry-run; they are reported as
        created.
    type: bool
    default: false
  field_manager:
    description:
      - The server-side apply field manager.
    type: str
    default: nats_streaming.ft
  force_conflicts:
    description:
      - Take over fields another field manager owns instead of failing with a conflict.
    type: bool
    default: false
  take_over_from:
    description:
      - Field managers whose fields (set with create, update or patch, not apply) on these objects become
        O(field_manager)'s before it applies, so that fields they set and the desired objects no longer set are
        removed. This is how objects made by another tool are adopted - for example V(OpenAPI-Generator), the
        manager name of the kubernetes Python client that C(kubernetes.core.k8s) creates and patches with.
      - The take-over is one extra write, once per object; in check mode the object is reported as updated, but the
        diff does not show the fields the take-over will remove.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Preconditions, all evaluated before the first write; every failing check's O(checks[].msg) is
        reported together and nothing is written.
      - An object check reads one object (O(checks[].api_version), O(checks[].kind), O(checks[].name),
        O(checks[].namespace)) and tests its existence, or the value of O(checks[].fields) with
        O(checks[].equals) or O(checks[].contains) when it exists.
      - A nodes check (O(checks[].nodes)) counts the nodes a pod can be scheduled on.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the object to read.
        type: str
      kind:
        description: Kind of the object to read.
        type: str
      name:
        description: Name of the object to read.
        type: str
      namespace:
        description: Namespace of the object to read (omit for cluster-scoped kinds); the namespace of the pods of a nodes check.
        type: str
      exists:
        description: V(true) fails when the object does not exist, V(false) fails when it does.
        type: bool
      fields:
        description:
          - Paths into the object, each a list of keys (V([spec, accessModes])), where a number indexes a list
            (V([spec, volumeClaimTemplates, 0, metadata, name])); the first path with a value set is compared, else
            O(checks[].default).
        type: list
        elements: list
      default:
        description: The value compared when none of O(checks[].fields) is set.
        type: raw
      equals:
        description: The value must equal this.
        type: raw
      contains:
        description: The value must be a list containing this.
        type: raw
      nodes:
        description:
          - Fails when fewer than O(checks[].nodes.at_least) nodes can run a pod with this node selector and these
            tolerations. A node counts when it is not cordoned, carries every label of the selector and has
            no C(NoSchedule)/C(NoExecute) taint the tolerations do not match, or when it already runs a pod
            matching O(checks[].nodes.running_pods_selector).
          - When the credentials may not list nodes, the check is skipped with a warning.
        type: dict
        suboptions:
          at_least:
            description: The number of nodes needed.
            type: int
            required: true
          node_selector:
            description: The pods' node selector.
            type: dict
            default: {}
          tolerations:
            description: The pods' tolerations.
            type: list
            elements: dict
            default: []
          running_pods_selector:
            description: Labels of pods (in O(checks[].namespace) or O(namespace)) whose nodes count in any case.
            type: dict
            default: {}
      msg:
        description:
          - The failure message. C({value}) is replaced by the value found; in a nodes check C({count}),
            C({nodes}), C({excluded}) (each excluded node and why) and C({at_least}) are replaced.
        type: str
        required: true
  wait:
    description:
      - Wait until every object is ready (O(state=present)) or gone (O(state=absent)).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait in all, for all objects together.
    type: int
    default: 300
  replace_blocking_pods:
    description:
      - While waiting for a StatefulSet rollout, delete the pods that keep it from ever finishing, so that
        the StatefulSet controller recreates them from the new revision.
      - First every pod of an outdated revision that is Pending and cannot be scheduled (it runs nothing).
        Then, when a pod of the new revision cannot be scheduled because of pod anti-affinity (for example
        after changing required anti-affinity to preferred, the old pods' required rule keeps the new pod
        off every node), one outdated pod at a time, after the previous one is replaced - the highest
        ordinal first, and with O(monitor_port) the NATS Streaming standby servers before the active one.
      - Pods are deleted, not evicted, as the StatefulSet controller's own rolling update does.
    type: bool
    default: false
  monitor_port:
    description:
      - The NATS Streaming monitoring port. With O(replace_blocking_pods=true), each outdated pod's
        C(/streaming/serverz) is read through the API server's pod proxy so that standby servers are
        replaced before the active one (one failover instead of several).
    type: int
  propagation_policy:
    description:
      - Deletion propagation with O(state=absent).
    type: str
    choices: [Foreground, Background, Orphan]
extends_documentation_fragment:
  - nats_streaming.ft.k8s_auth
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
requirements:
  - kubernetes >= 24.2.0
notes:
  - Objects holding secrets (kind Secret) are never shown - their values are redacted in the diff and
    masked in the output - but set C(no_log) on the task as well, since Ansible logs a module's arguments
    before the module runs.
  - A namespace that does not exist yet cannot hold a dry run, so objects in it are validated when they are
    created.
seealso:
  - module: kubernetes.core.k8s
  - name: Server-side apply
    description: How field managers own fields.
    link: https://kubernetes.io/docs/reference/using-api/server-side-apply/
"""

EXAMPLES = r"""
- name: Apply a role's objects, after checking that the claim they mount exists and is ReadWriteMany
  nats_streaming.ft.k8s_object_set:
    objects: "{{ stan_manifests }}"
    namespace: messaging
    create_namespace: true
    force_conflicts: true
    checks:
      - api_version: v1
        kind: PersistentVolumeClaim
        namespace: messaging
        name: efs
        exists: true
        msg: The claim efs does not exist.
      - api_version: v1
        kind: PersistentVolumeClaim
        namespace: messaging
        name: efs
        fields: [[spec, accessModes]]
        contains: ReadWriteMany
        msg: "The claim efs has access modes {value}; it must be ReadWriteMany."
      - nodes:
          at_least: 3
          node_selector:
            kubernetes.io/os: linux
        msg: "3 pods need 3 nodes, only {count} can run one ({nodes}; not: {excluded})."
    wait: true
    wait_timeout: 600
    replace_blocking_pods: true
    monitor_port: 8222

- name: Remove them again, waiting until they are gone
  nats_streaming.ft.k8s_object_set:
    state: absent
    objects: "{{ stan_manifests }}"
    propagation_policy: Foreground
    wait: true
"""

RETURN = r"""
objects:
  description: Every object handled, in order, and what happened to it.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace (null for cluster-scoped objects).
      type: str
    name:
      description: Name.
      type: str
    action:
      description: V(created), V(updated), V(unchanged), V(deleted) or V(absent); in check mode what would happen.
      type: str
  sample:
    - {api_version: v1, kind: Namespace, namespace: null, name: messaging, action: created}
    - {api_version: apps/v1, kind: StatefulSet, namespace: messaging, name: stan, action: unchanged}
replaced_pods:
  description:
    - Pods deleted by O(replace_blocking_pods) so that a rollout could finish, why, and the NATS Streaming FT state
      the pod reported then (with O(monitor_port); null when unknown or not read).
  returned: always
  type: list
  elements: dict
  sample:
    - {pod: stan-3, reason: outdated pods that cannot be scheduled (they run nothing), ft_state: null}
diff:
  description: With C(--diff), one before/after entry per created, updated or deleted object (server-maintained
    metadata and status left out, Secret values redacted).
  returned: when diff mode is on
  type: list
  elements: dict
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.k8s_object_set import run

NODES_SPEC = dict(
    at_least=dict(type="int", required=True),
    node_selector=dict(type="dict", default={}),
    tolerations=dict(type="list", elements="dict", default=[]),
    running_pods_selector=dict(type="dict", default={}),
)

CHECK_SPEC = dict(
    api_version=dict(type="str"),
    kind=dict(type="str"),
    name=dict(type="str"),
    namespace=dict(type="str"),
    exists=dict(type="bool"),
    fields=dict(type="list", elements="list"),
    default=dict(type="raw"),
    equals=dict(type="raw"),
    contains=dict(type="raw"),
    nodes=dict(type="dict", options=NODES_SPEC),
    msg=dict(type="str", required=True),
)


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        objects=dict(type="list", elements="dict", required=True),
        namespace=dict(type="str"),
        create_namespace=dict(type="bool", default=False),
        field_manager=dict(type="str", default="nats_streaming.ft"),
        force_conflicts=dict(type="bool", default=False),
        take_over_from=dict(type="list", elements="str", default=[]),
        checks=dict(type="list", elements="dict", default=[], options=CHECK_SPEC),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        replace_blocking_pods=dict(type="bool", default=False),
        monitor_port=dict(type="int"),
        propagation_policy=dict(type="str", choices=["Foreground", "Background", "Orphan"]),
    )
    return spec


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule,
        check_k8s=False,
        check_pyyaml=False,
        argument_spec=argument_spec(),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
