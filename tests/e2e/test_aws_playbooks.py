"""playbooks/aws.yml and aws_teardown.yml end to end against moto and the local kind cluster.

The StatefulSet the stan role renders runs in real containers on the three kind workers (only the
metrics sidecar is switched off: LOCALENV_VARS); the EFS claim mounts through the CSI node stand-in,
so every server opens the same store and the FT lock is real."""

from __future__ import annotations

import collections

import pytest
from kubernetes import client

from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import REPO

from .conftest import LOCALENV_VARS, REGION

PLAYBOOKS = REPO / "playbooks"
MANAGED = "app.kubernetes.io/managed-by=nats_streaming.ft"


def our_filesystems(aws, cluster_name: str) -> list[dict]:
    return [fs for fs in aws("efs").describe_file_systems()["FileSystems"] if fs.get("Name") == f"{cluster_name}-stan"]


def our_objects(kube, namespace: str) -> list[str]:
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    policy = client.PolicyV1Api(kube)
    found = []
    for kind, items in (
        ("Service", core.list_namespaced_service(namespace, label_selector=MANAGED).items),
        ("ConfigMap", core.list_namespaced_config_map(namespace, label_selector=MANAGED).items),
        ("StatefulSet", apps.list_namespaced_stateful_set(namespace, label_selector=MANAGED).items),
        ("PodDisruptionBudget", policy.list_namespaced_pod_disruption_budget(namespace, label_selector=MANAGED).items),
        ("PersistentVolumeClaim", core.list_namespaced_persistent_volume_claim(namespace).items),
        ("Pod", core.list_namespaced_pod(namespace).items),
    ):
        found += [f"{kind}/{o.metadata.name}" for o in items]
    found += [f"PersistentVolume/{pv.metadata.name}" for pv in core.list_persistent_volume().items
              if pv.spec.claim_ref and pv.spec.claim_ref.namespace == namespace]
    return sorted(found)


def pods_by_zone(kube, namespace: str) -> dict[str, str]:
    """{pod: zone of its node} for the STAN pods that are Running with every container ready."""
    core = client.CoreV1Api(kube)
    zones = {n.metadata.name: n.metadata.labels.get("topology.kubernetes.io/zone") for n in core.list_node().items}
    pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=stan").items
    return {p.metadata.name: zones[p.spec.node_name] for p in pods if p.status.phase == "Running"
            and all(c.ready for c in p.status.container_statuses or [])}


def test_aws_playbook_converges_on_real_pods_verifies_ft_then_reruns_with_no_change_and_no_aws_write(
        eks, localenv, kube, aws, moto_recorder):
    namespace = "e2e-aws"
    extra = {"cluster_name": eks["cluster_name"], "aws_region": REGION, "k8s_namespace": namespace,
             "verify_ft": True, **LOCALENV_VARS}

    first = run_playbook(PLAYBOOKS / "aws.yml", extra_vars=extra, env=localenv["env"])
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert first.changed > 0
    fs = our_filesystems(aws, eks["cluster_name"])
    assert len(fs) == 1 and fs[0]["Encrypted"] is True
    mts = aws("efs").describe_mount_targets(FileSystemId=fs[0]["FileSystemId"])["MountTargets"]
    assert sorted(m["AvailabilityZoneName"] for m in mts) == sorted(eks["availability_zones"])
    sts = client.AppsV1Api(kube).read_namespaced_stateful_set("stan", namespace)
    assert sts.spec.replicas == 3 and not sts.spec.volume_claim_templates
    pvc = client.CoreV1Api(kube).read_namespaced_persistent_volume_claim("efs", namespace)
    assert pvc.status.phase == "Bound" and pvc.spec.access_modes == ["ReadWriteMany"]
    summary = first.task("Summary")["msg"]
    assert any(fs[0]["FileSystemId"] in line for line in summary)
    # Three servers in real containers, one per worker, one per zone; the FT check read them all.
    assert sorted(pods_by_zone(kube, namespace).values()) == ["us-east-2a", "us-east-2b", "us-east-2c"]
    ft = first.task("Verify that exactly one server is FT active")
    assert ft["active"] in pods_by_zone(kube, namespace) and len(ft["standby"]) == 2
    assert {s["state"] for s in ft["servers"]} == {"FT_ACTIVE", "FT_STANDBY"}
    assert len({s["server_id"] for s in ft["servers"]}) == 3

    moto_recorder.start()
    second = run_playbook(PLAYBOOKS / "aws.yml", extra_vars=extra, env=localenv["env"])
    calls = moto_recorder.stop()
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed == 0, [t["name"] for t in second.tasks if t["result"].get("changed")]
    counts = collections.Counter(calls)
    print(f"\nAWS calls of the no-op rerun: {sum(counts.values())} {dict(counts)}")
    assert calls, "the recorder saw no call at all: the measurement is broken"
    writes = [c for c in calls if not c.split(":", 1)[1].startswith(("Describe", "List", "Get"))]
    assert writes == []


def test_teardown_without_delete_data_keeps_the_filesystem(eks, localenv, kube, aws):
    namespace = "e2e-aws"
    extra = {"cluster_name": eks["cluster_name"], "aws_region": REGION, "k8s_namespace": namespace}
    result = run_playbook(PLAYBOOKS / "aws_teardown.yml", extra_vars=extra, env=localenv["env"])
    assert result.rc == 0, result.stdout[-4000:]
    assert len(our_filesystems(aws, eks["cluster_name"])) == 1
    left = our_objects(kube, namespace)
    assert not [o for o in left if o.startswith(("StatefulSet/", "Service/", "ConfigMap/", "PodDisruptionBudget/"))]
    assert "PersistentVolumeClaim/efs" in left  # the data's claim is kept


def test_teardown_with_delete_data_leaves_nothing_of_ours(eks, localenv, kube, aws):
    namespace = "e2e-aws"
    extra = {"cluster_name": eks["cluster_name"], "aws_region": REGION, "k8s_namespace": namespace, "delete_data": True}
    result = run_playbook(PLAYBOOKS / "aws_teardown.yml", extra_vars=extra, env=localenv["env"])
    assert result.rc == 0, result.stdout[-4000:]
    assert our_filesystems(aws, eks["cluster_name"]) == []
    groups = aws("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{eks['cluster_name']}-efs-nfs"]}])
    assert groups["SecurityGroups"] == []
    assert our_objects(kube, namespace) == []


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"cluster_name": "no-such-cluster"}, "cluster_name"),
        ({"aws_region": "mars-1"}, "aws_region"),
        ({"stan_replicas": 1}, "stan_replicas"),
        ({"k8s_namespace": "Bad_Namespace"}, "k8s_namespace"),
    ],
)
def test_wrong_input_fails_while_validating_with_a_message_naming_the_variable(eks, localenv, override, variable):
    extra = {"cluster_name": eks["cluster_name"], "aws_region": REGION, "k8s_namespace": "e2e-bad", "verify_ft": False,
             **LOCALENV_VARS, **override}
    result = run_playbook(PLAYBOOKS / "aws.yml", extra_vars=extra, env=localenv["env"])
    assert result.rc != 0
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert failed, result.stdout[-3000:]
    assert failed[0]["name"].startswith("Validate inputs")
    message = failed[0]["result"]["msg"]
    assert variable in message
    others = {"cluster_name", "aws_region", "stan_replicas", "k8s_namespace"} - {variable}
    assert not [name for name in others if name in message], message  # names only what is wrong
    assert result.changed == 0
