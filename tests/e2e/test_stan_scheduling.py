"""Scheduling that cannot get stuck: the stan role against the local cluster's real scheduler
(three schedulable nodes in three zones).

- 5 replicas with required anti-affinity on 3 nodes fail before anything is written, naming
  stan_anti_affinity and stan_replicas.
- From the stuck state an older release of the role left behind (the StatefulSet with required
  anti-affinity applied directly: 3 pods running, the 4th Pending for ever), one run with
  stan_anti_affinity: preferred converges: every pod Running at the new revision.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes import client

from tests.lib.ansible_runner import run_playbook

from .conftest import LOCALENV_VARS

ROLE_FAILED_TASK = "nats_streaming.ft.stan : Apply the STAN objects"

NAMESPACE_PREFIX = "sched"  # of the conftest namespace fixture


@pytest.fixture(scope="module")
def schedulable_nodes(kube) -> list[str]:
    nodes = [n for n in client.CoreV1Api(kube).list_node().items
             if not n.spec.unschedulable and not [t for t in n.spec.taints or [] if t.effect in ("NoSchedule", "NoExecute")]]
    if len(nodes) != 3:
        pytest.fail(f"these tests expect the local environment's 3 schedulable nodes, found {[n.metadata.name for n in nodes]}")
    return [n.metadata.name for n in nodes]


def play(tmp_path, tasks: list[dict]) -> str:
    path = tmp_path / f"play-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps([{"name": "STAN scheduling", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return str(path)


def storage(namespace: str) -> dict:
    """The shared claim, as aws.yml makes it (static EFS CSI volume)."""
    return {"name": "Shared claim", "ansible.builtin.include_role": {"name": "nats_streaming.ft.efs_provisioner"},
            "vars": {"efs_provisioner_mode": "csi", "efs_provisioner_namespace": namespace,
                     "efs_provisioner_file_system_id": "fs-0123456789abcdef0"}}


def stan(namespace: str, **extra) -> dict:
    return {"name": "STAN", "ansible.builtin.include_role": {"name": "nats_streaming.ft.stan"},
            "vars": {"stan_namespace": namespace, "stan_wait_timeout": 300, **LOCALENV_VARS, **extra}}


def test_required_anti_affinity_with_more_replicas_than_nodes_fails_before_any_write(localenv, kube, tmp_path, namespace,
                                                                                     schedulable_nodes):
    result = run_playbook(play(tmp_path, [stan(namespace, stan_replicas=5, stan_claim_check=False)]), env=localenv["env"])
    assert result.rc != 0
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == [ROLE_FAILED_TASK]
    message = failed[0]["result"]["msg"]
    assert "stan_anti_affinity" in message and "stan_replicas is 5" in message, message
    assert "only 3 node(s)" in message and all(node in message for node in schedulable_nodes), message
    assert "stan_node_selector" not in message  # not set, so not named
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(kube).read_namespace(namespace)  # not even the namespace was created
    assert exc.value.status == 404


def wait_for(what: str, condition, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_required_to_preferred_converges_in_one_run_from_the_stuck_state(localenv, kube, tmp_path, namespace, schedulable_nodes):
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    # The shared claim, then the StatefulSet as an older release of the role applied it: 5 replicas,
    # required anti-affinity, no placement check, one kubernetes.core.k8s server-side apply per object
    # with the role's field manager.
    setup = play(tmp_path, [
        storage(namespace),
        {"name": "Render the old StatefulSet", "ansible.builtin.include_role": {"name": "nats_streaming.ft.stan"},
         "vars": {"stan_namespace": namespace, "stan_replicas": 5, "stan_render_only": True, **LOCALENV_VARS}},
        {"name": "Apply it as the older release did", "loop": "{{ stan_manifests }}",
         "kubernetes.core.k8s": {"state": "present", "definition": "{{ item }}",
                                 "server_side_apply": {"field_manager": "nats_streaming.ft", "force_conflicts": True}}},
    ])
    result = run_playbook(setup, env=localenv["env"])
    assert result.rc == 0, result.stdout[-3000:]

    def stuck():
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(namespace, label_selector="app=stan").items}
        running = [n for n, p in pods.items() if p.status.phase == "Running"]
        pending = [p for p in pods.values() if p.status.phase == "Pending"
                   and any(c.type == "PodScheduled" and c.reason == "Unschedulable" for c in p.status.conditions or [])]
        return len(running) == 3 and pending and pending[0].metadata.name == "stan-3"

    wait_for("3 pods Running and stan-3 unschedulable", stuck, timeout=300)

    # One run of the role with preferred anti-affinity.
    t0 = time.monotonic()
    result = run_playbook(play(tmp_path, [stan(namespace, stan_replicas=5, stan_anti_affinity="preferred")]), env=localenv["env"])
    seconds = time.monotonic() - t0
    assert result.rc == 0, [t["result"].get("msg") for t in result.tasks if t["result"].get("failed")]
    applied = result.task(ROLE_FAILED_TASK)
    print(f"\nconverged in {seconds:.1f}s; pods replaced: {applied['replaced_pods']}")
    assert applied["replaced_pods"][0]["pod"] == "stan-3"  # the outdated Pending pod first
    running_replaced = [r for r in applied["replaced_pods"] if r["reason"].startswith("stan-")]
    assert running_replaced, "no outdated running pod had to go: the stuck state was not reproduced"
    sts = apps.read_namespaced_stateful_set("stan", namespace)
    assert sts.status.ready_replicas == 5 and sts.status.current_revision == sts.status.update_revision
    pods = core.list_namespaced_pod(namespace, label_selector="app=stan").items
    assert sorted(p.metadata.name for p in pods) == [f"stan-{i}" for i in range(5)]
    assert {p.metadata.labels["controller-revision-hash"] for p in pods} == {sts.status.update_revision}
    assert all(p.status.phase == "Running" for p in pods)
    # Standby servers go first (read through the pod proxy where the pods run real servers).
    real = all(p.status.container_statuses and p.status.container_statuses[0].container_id for p in pods)
    if real:
        assert [r["ft_state"] for r in running_replaced] == ["FT_STANDBY"] * len(running_replaced), running_replaced
    assert all(p.spec.affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution is None for p in pods)

    # And a rerun changes nothing.
    again = run_playbook(play(tmp_path, [stan(namespace, stan_replicas=5, stan_anti_affinity="preferred")]), env=localenv["env"])
    assert again.rc == 0 and again.changed == 0
